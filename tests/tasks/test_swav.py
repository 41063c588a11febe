import math

import torch
import torch.nn.functional as F
from lightly.loss import SwaVLoss
from lightly.loss.swav_loss import sinkhorn as lightly_sinkhorn

from workbench.tasks import Progress, build_task
from workbench.tasks.swav import sinkhorn, swapped_prediction


def build(**params):
    return build_task("swav", "small_cnn", 0, **params)


def test_sinkhorn_codes_have_the_papers_marginals():
    torch.manual_seed(0)
    scores = F.normalize(torch.randn(64, 8, dtype=torch.float64), dim=1) @ F.normalize(
        torch.randn(16, 8, dtype=torch.float64), dim=1).T    # cosines (B=64, K=16)
    b, k = scores.shape

    def prototype_error(q):  # largest relative miss of Q 1_B = 1_K / K
        return ((q.sum(1) * k) - 1).abs().max().item()

    errors = []
    for iterations in (3, 10, 200):
        q = sinkhorn(scores, 0.05, iterations).T / b            # the paper's Q (K, B)
        assert (q >= 0).all()
        # Qᵀ 1_K = 1_B / B holds exactly after every iteration: each code is a distribution over prototypes.
        assert torch.allclose(q.sum(0), torch.full((b,), 1 / b, dtype=torch.float64))
        errors.append(prototype_error(q))
    assert errors[-1] < 1e-9                                    # converged: every prototype holds 1/K
    plain = F.softmax(scores / 0.05, dim=1).T / b               # no transport constraint at all
    # "3 iterations are enough" to go a good way there: the error falls with every batch of iterations.
    assert prototype_error(plain) > 1.5 * errors[0] > errors[0] > 5 * errors[1]


def test_sinkhorn_matches_lightly():
    torch.manual_seed(1)
    scores = torch.rand(32, 24, dtype=torch.float64) * 2 - 1
    # lightly skips the 1/K in the row step; the column step that follows rescales it away.
    assert torch.allclose(sinkhorn(scores, 0.05, 3), lightly_sinkhorn(scores, iterations=3, epsilon=0.05))


def test_swapped_prediction_matches_lightly_with_multi_crop_and_a_queue(shapes):
    task = build(local_crops=2, queue_length=16).double()
    task.queue.copy_(F.normalize(torch.randn_like(task.queue), dim=2))
    task.queue_filled.fill_(16)
    crops = [c.double() for c in task.make_inputs(shapes(8), torch.Generator().manual_seed(0))]
    with torch.no_grad():
        scores = [task.prototypes(z) for z in task.embed(crops)]
        queue_scores = [task.prototypes(q) for q in task.queue]
    t = task.params.temperature
    expected = SwaVLoss(temperature=t, sinkhorn_iterations=3, sinkhorn_epsilon=0.05)(
        scores[:2], scores[2:], queue_scores)
    assert math.isclose(task.loss(crops, Progress()).loss.item(), expected.item(), rel_tol=1e-9)
    # Without a queue the codes come from the batch alone: the plain functions against lightly.
    codes = [sinkhorn(s, 0.05, 3) for s in scores[:2]]
    expected = SwaVLoss(temperature=t)(scores[:2], scores[2:])
    assert math.isclose(swapped_prediction(scores, codes, t).item(), expected.item(), rel_tol=1e-9)


def test_perfect_agreement_scores_the_entropy_of_the_codes():
    q = torch.eye(4, dtype=torch.float64)
    scores = [q * 100, q * 100, q * 100]  # every view is certain of the code's prototype
    assert swapped_prediction(scores, [q, q], 0.1).item() < 1e-12
    flat = torch.full((4, 4), 0.25, dtype=torch.float64)
    uniform = swapped_prediction([torch.zeros(4, 4, dtype=torch.float64)] * 3, [flat, flat], 0.1)
    assert math.isclose(uniform.item(), math.log(4), rel_tol=1e-12)  # nothing predicted: ln K


def test_prototypes_stay_frozen_in_the_first_epoch_and_on_the_sphere(shapes):
    task = build(freeze_prototypes_epochs=1)
    optimizer = torch.optim.AdamW(task.param_groups(0.1), lr=0.01)
    x = shapes(8)
    for epoch, should_move in [(1, False), (2, True)]:
        before = task.prototypes.weight.detach().clone()
        progress = Progress(0, 10, epoch, 2)
        task.training_step(x, torch.Generator().manual_seed(epoch), progress).loss.backward()
        task.before_optimizer_step(progress)
        optimizer.step()
        task.after_optimizer_step(progress)
        optimizer.zero_grad()
        moved = (task.prototypes.weight - before).abs().max().item()
        assert moved > 1e-3 if should_move else moved < 1e-6
        assert torch.allclose(task.prototypes.weight.norm(dim=1), torch.ones(len(before)))


def test_queue_keeps_the_newest_projections_and_survives_a_state_dict(shapes):
    task = build(queue_length=20)
    x = shapes(8)
    for step in range(3):
        crops = task.make_inputs(x, torch.Generator().manual_seed(step))
        task.loss(crops, Progress())
    assert task.queue_filled.item() == 20
    with torch.no_grad():
        newest = task.embed(crops)[:2]
    assert torch.allclose(task.queue[:, :8], torch.stack(newest), atol=1e-6)
    copy = build(queue_length=20)
    copy.load_state_dict(task.state_dict())
    assert torch.equal(copy.queue, task.queue) and copy.queue_filled.item() == 20


