import math

import pytest
import torch
import torch.nn.functional as F
from lightly.loss import NTXentLoss

from workbench.tasks import Progress, build_task
from workbench.tasks.moco import enqueue, info_nce


def moco(seed=0, **params):
    return build_task("moco", "small_cnn", seed, **params)


def test_info_nce_matches_lightly_with_a_memory_bank_and_both_enqueue_alike():
    """lightly's NTXentLoss with a memory bank is MoCo's loss: out0 = queries, out1 = keys, bank = queue. A
    fresh lightly instance per comparison, because the bank is state; float64 throughout."""
    torch.manual_seed(0)
    b, k, d = 8, 32, 16
    q, keys = torch.randn(b, d, dtype=torch.float64), torch.randn(b, d, dtype=torch.float64)
    queue = F.normalize(torch.randn(k, d, dtype=torch.float64), dim=1)
    pointer = torch.zeros((), dtype=torch.long)
    reference = NTXentLoss(temperature=0.2, memory_bank_size=(k, d))
    reference.memory_bank.bank = queue.clone()
    expected = reference(q.requires_grad_(), keys)  # requires_grad: lightly enqueues the keys after the loss
    ours = info_nce(F.normalize(q, dim=1), F.normalize(keys, dim=1), queue, 0.2)
    assert math.isclose(ours.item(), expected.item(), rel_tol=1e-12)
    enqueue(queue, pointer, F.normalize(keys, dim=1))
    assert torch.allclose(queue, reference.memory_bank.bank, atol=1e-15) and pointer.item() == b


def test_info_nce_by_hand():
    q = torch.tensor([[1.0, 0.0]])
    # every key equal to the query: the own key is one of K + 1 equally likely candidates
    assert math.isclose(info_nce(q, q, q.repeat(5, 1), 0.5).item(), math.log(6), rel_tol=1e-6)
    # queued keys point away: −log(e^{1/τ} / (e^{1/τ} + K·e^{−1/τ})) = log(1 + K·e^{−2/τ})
    assert math.isclose(info_nce(q, q, -q.repeat(5, 1), 0.5).item(), math.log(1 + 5 * math.exp(-4)),
                        rel_tol=1e-5)


def test_queue_fills_then_wraps_over_the_oldest_keys():
    queue, pointer = torch.zeros(6, 1), torch.zeros((), dtype=torch.long)
    enqueue(queue, pointer, torch.tensor([[1.0], [2.0], [3.0], [4.0]]))
    assert queue.flatten().tolist() == [1, 2, 3, 4, 0, 0] and pointer.item() == 4
    enqueue(queue, pointer, torch.tensor([[5.0], [6.0], [7.0]]))  # 5, 6 fill the end; 7 replaces 1, the oldest
    assert queue.flatten().tolist() == [7, 2, 3, 4, 5, 6] and pointer.item() == 1
    enqueue(queue, pointer, torch.arange(10.0, 18.0)[:, None])  # more keys than slots: the newest six stay
    assert queue.flatten().tolist() == [17, 12, 13, 14, 15, 16] and pointer.item() == 1  # oldest at the pointer


@pytest.mark.parametrize("symmetric", [True, False])
def test_a_step_enqueues_its_keys_and_the_queue_survives_a_state_dict_round_trip(symmetric, shapes):
    task = moco(queue_size=256, symmetric=symmetric).train()
    view1, view2 = task.make_inputs(shapes(16), torch.Generator().manual_seed(0))
    with torch.no_grad():  # the keys, recomputed: train-mode BN depends only on the batch, so they repeat
        keys_of = torch.cat([view2, view1]) if symmetric else view2
        keys = F.normalize(task.key_projector(task.key_encoder(keys_of)), dim=1)
    task.loss((view1, view2), Progress())
    n = len(keys)
    assert torch.allclose(task.queue[:n], keys, atol=1e-6) and task.queue_pointer.item() == n
    copy = moco(seed=1, queue_size=256, symmetric=symmetric)
    copy.load_state_dict(task.state_dict())
    assert torch.equal(copy.queue, task.queue) and torch.equal(copy.queue_pointer, task.queue_pointer)
    copy.loss((view1, view2), Progress())  # the copy goes on where the original stopped
    assert copy.queue_pointer.item() == 2 * n and torch.equal(copy.queue[:n], task.queue[:n])


def test_key_network_moves_as_an_exponential_moving_average():
    task = moco(momentum=0.9, momentum_schedule="constant")
    with torch.no_grad():
        for parameter in list(task.encoder.parameters()) + list(task.projector.parameters()):
            parameter.add_(torch.randn_like(parameter))  # the query network has moved away from the keys'
    online = [p.clone() for p in list(task.encoder.parameters()) + list(task.projector.parameters())]
    before = [p.clone() for p in list(task.key_encoder.parameters()) + list(task.key_projector.parameters())]
    task.after_optimizer_step(Progress(3, 10))
    after = list(task.key_encoder.parameters()) + list(task.key_projector.parameters())
    for t, t0, o in zip(after, before, online):
        assert torch.allclose(t, 0.9 * t0 + 0.1 * o, atol=1e-6)


def test_cosine_momentum_runs_from_its_start_to_one():
    task = moco(momentum=0.99)
    assert math.isclose(task.momentum_at(Progress(0, 100)), 0.99)
    assert math.isclose(task.momentum_at(Progress(50, 100)), 0.995)
    assert math.isclose(task.momentum_at(Progress(100, 100)), 1.0)
    assert moco(momentum=0.99, momentum_schedule="constant").momentum_at(Progress(100, 100)) == 0.99


