import math

import torch
import torch.nn.functional as F
from lightly.loss import NegativeCosineSimilarity

from workbench.tasks import Progress, build_task
from workbench.tasks.byol import regression_loss


def byol(seed=0, **params):
    return build_task("byol", "small_cnn", seed, **params)


def online(task):
    return list(task.encoder.parameters()) + list(task.projector.parameters())


def target(task):
    return list(task.target_encoder.parameters()) + list(task.target_projector.parameters())


def test_regression_loss_is_lightlys_negative_cosine_rescaled():
    """BYOL writes 2 − 2·cos (the squared distance of unit vectors); lightly's NegativeCosineSimilarity is
    −cos. So ours = 2 + 2·lightly, in float64."""
    torch.manual_seed(0)
    p, z = torch.randn(10, 7, dtype=torch.float64), torch.randn(10, 7, dtype=torch.float64)
    expected = 2 + 2 * NegativeCosineSimilarity()(p, z)
    assert math.isclose(regression_loss(p, z).item(), expected.item(), rel_tol=1e-12)
    assert math.isclose(regression_loss(p, 3 * p).item(), 0.0, abs_tol=1e-12)   # same direction: 0
    assert math.isclose(regression_loss(p, -p).item(), 4.0, rel_tol=1e-12)     # opposite: 4
    assert torch.allclose(regression_loss(p, z), (F.normalize(p, dim=1) - F.normalize(z, dim=1)).pow(2).sum(1).mean())


def test_task_loss_sums_both_directions_against_the_target_network(shapes):
    """The paper's L + L̃, each a batch mean: lightly's symmetric use averages instead (a factor 2, lightly
    PR #1286), so ours = (2 + 2·D(p₁, z′₂)) + (2 + 2·D(p₂, z′₁)) with D lightly's −cos."""
    task = byol().double()
    with torch.no_grad():  # the target must differ from the online network for the test to mean something
        for parameter in target(task):
            parameter.add_(0.1 * torch.randn_like(parameter))
    view1, view2 = (v.double() for v in task.make_inputs(shapes(16), torch.Generator().manual_seed(0)))
    out = task.loss((view1, view2), Progress())
    both = torch.cat([view1, view2])  # BN in train mode: the task runs both views as one batch, so do we
    with torch.no_grad():
        p = task.predictor(task.projector(task.encoder(both)))
        z = task.target_projector(task.target_encoder(both))
    b = len(view1)
    d = NegativeCosineSimilarity()
    expected = (2 + 2 * d(p[:b], z[b:])) + (2 + 2 * d(p[b:], z[:b]))
    assert math.isclose(out.loss.item(), expected.item(), rel_tol=1e-10)


def test_target_moves_as_an_exponential_moving_average_with_the_scheduled_tau():
    task = byol(momentum_base=0.9)
    with torch.no_grad():
        for parameter in online(task):
            parameter.add_(torch.randn_like(parameter))
    theta_o = [p.clone() for p in online(task)]
    theta_t = [p.clone() for p in target(task)]
    task.after_optimizer_step(Progress(0, 10))  # k = 0: τ = τ_base
    for t, t0, o in zip(target(task), theta_t, theta_o):
        assert torch.allclose(t, 0.9 * t0 + 0.1 * o, atol=1e-6)
    theta_t = [p.clone() for p in target(task)]
    task.after_optimizer_step(Progress(10, 10))  # k = K: τ = 1, the target stands still
    assert all(torch.equal(t, t0) for t, t0 in zip(target(task), theta_t))


def test_momentum_schedule_climbs_from_tau_base_to_one_along_a_cosine():
    task = byol(momentum_base=0.99)
    taus = [task.momentum_at(Progress(k, 100)) for k in range(101)]
    assert math.isclose(taus[0], 0.99) and math.isclose(taus[100], 1.0)
    assert math.isclose(taus[50], 1 - 0.01 * (math.cos(math.pi / 2) + 1) / 2)
    assert all(a <= b for a, b in zip(taus, taus[1:]))
    assert byol(momentum_target=False).momentum_at(Progress(0, 100)) == 0.0


def test_without_a_momentum_target_the_target_is_the_online_network_under_stop_gradient(shapes):
    task = byol(momentum_target=False)
    frozen = [p.clone() for p in target(task)]
    inputs = task.make_inputs(shapes(16), torch.Generator().manual_seed(0))
    out = task.loss(inputs, Progress())
    both = torch.cat(inputs)
    b = len(inputs[0])
    z = task.projector(task.encoder(both))
    expected = 2 * regression_loss(task.predictor(z), z.detach().roll(b, dims=0))
    assert torch.allclose(out.loss, expected, atol=1e-6)
    task.after_optimizer_step(Progress())
    assert all(torch.equal(t, t0) for t, t0 in zip(target(task), frozen))  # unused, never moved


