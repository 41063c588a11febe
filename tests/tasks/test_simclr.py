import math

import torch
import torch.nn.functional as F

from workbench.tasks.simclr import nt_xent


def slow_nt_xent(z1, z2, temperature):
    """The loss as the paper writes it, one anchor at a time."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = len(z1)
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        sims = [(z[i] @ z[k]).item() / temperature for k in range(2 * n) if k != i]
        total += -((z[i] @ z[j]).item() / temperature - math.log(sum(math.exp(s) for s in sims)))
    return total / (2 * n)


def test_matches_the_paper_written_out():
    torch.manual_seed(0)
    z1, z2 = torch.randn(6, 5), torch.randn(6, 5)
    assert math.isclose(nt_xent(z1, z2, 0.5).item(), slow_nt_xent(z1, z2, 0.5), rel_tol=1e-5)


def test_collapsed_embeddings_score_log_of_the_candidates():
    z = torch.ones(8, 4)  # every view identical: each of the 2N-1 candidates equally likely
    assert math.isclose(nt_xent(z, z, 0.5).item(), math.log(2 * 8 - 1), rel_tol=1e-6)


def test_perfect_pairs_at_low_temperature_score_near_zero():
    z = torch.eye(6)  # each pair identical, all pairs orthogonal
    assert nt_xent(z, z, 0.05).item() < 1e-6
