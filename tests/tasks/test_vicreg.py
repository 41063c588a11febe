import math

import torch
from lightly.loss import VICRegLoss

from workbench.tasks import build_task
from workbench.tasks.vicreg import covariance_term, invariance_term, variance_term, vicreg_loss


def random_pair(seed, b=16, d=8):
    gen = torch.Generator().manual_seed(seed)
    z1 = torch.randn(b, d, generator=gen, dtype=torch.float64)
    return z1, 0.5 * torch.randn(b, d, generator=gen, dtype=torch.float64) + z1


def test_matches_lightly_in_float64():
    # lightly follows the authors' code, as we do: unbiased variance and covariance (÷ B − 1), the variance term
    # averaged over the two branches and the covariance term summed. (The paper's Eq. 6 sums both.)
    z1, z2 = random_pair(0)
    for weights in ((25.0, 25.0, 1.0), (1.0, 0.0, 3.0), (0.5, 10.0, 0.0)):
        ours = vicreg_loss(z1, z2, *weights)["loss"]
        theirs = VICRegLoss(*weights)(z1, z2)
        assert torch.allclose(ours, theirs, rtol=1e-12, atol=1e-12), (weights, ours, theirs)


def test_a_collapsed_batch_pays_gamma_minus_root_eps_per_dimension_and_no_covariance():
    z = torch.full((10, 6), 3.0, dtype=torch.float64)  # every image embedded to the same point
    # Var = 0 in every dimension, so each pays max(0, γ − sqrt(0 + ε)) = 1 − 0.01 = 0.99, and the mean over D too.
    assert math.isclose(variance_term(z, gamma=1.0, eps=1e-4).item(), 0.99, rel_tol=1e-12)
    assert math.isclose(variance_term(z, gamma=2.0, eps=1e-2).item(), 1.9, rel_tol=1e-12)
    assert covariance_term(z).item() == 0
    terms = vicreg_loss(z, z.clone(), 25.0, 25.0, 1.0)
    assert terms["invariance"].item() == 0
    assert math.isclose(terms["loss"].item(), 25 * 0.99, rel_tol=1e-12)


def test_the_terms_by_hand():
    # invariance: mean over all B·D entries of the squared difference
    assert invariance_term(torch.zeros(2, 2), torch.tensor([[2.0, 0.0], [0.0, 0.0]])).item() == 1.0
    # variance: one dimension with values 0, 1 has unbiased Var = 0.5; one with 0, 4 has std > γ and pays 0
    z = torch.tensor([[0.0, 0.0], [1.0, 4.0]], dtype=torch.float64)
    assert math.isclose(variance_term(z).item(), (1 - math.sqrt(0.5 + 1e-4)) / 2, rel_tol=1e-12)
    # covariance: two identical dimensions ±1 over B = 2 have Cov = [[2, 2], [2, 2]]; off-diagonal 2² + 2² over D = 2
    assert covariance_term(torch.tensor([[1.0, 1.0], [-1.0, -1.0]])).item() == 4.0
    # independent (orthogonal, centred) dimensions do not covary
    assert covariance_term(torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])).item() == 0.0


def spread(task, inputs):
    """The embeddings' std over the batch, averaged over dimensions."""
    with torch.no_grad():
        return task.projector(task.encoder(inputs[0])).std(0).mean().item()


def test_overfitting_one_batch_keeps_the_spread(one_batch):
    run = one_batch("vicreg")  # the registry suite's run, whose loss must halve
    assert spread(run.task, run.inputs) > 0.5  # the variance hinge holds the std near γ = 1


def test_collapse_lab_without_the_variance_term_the_embeddings_shrink_to_a_point(one_batch):
    run = one_batch("vicreg", variance_weight=0.0)
    untrained = build_task("vicreg", "small_cnn", 0, **run.case.params)
    assert spread(run.task, run.inputs) < 0.2 * spread(untrained, run.inputs)
