import torch
from lightly.loss import BarlowTwinsLoss

from workbench.tasks.barlow_twins import barlow_twins_loss, cross_correlation, standardize

# Four centred, pairwise orthogonal ±1 columns (a Hadamard matrix without its constant column): every column has
# mean 0 and biased variance 1, and no two columns correlate.
INDEPENDENT = torch.tensor([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=torch.float64)


def test_matches_lightly_in_float64():
    # lightly standardises with batch-norm in training mode: biased variance and eps 1e-5, as here. The terms
    # and λ have the same meaning, so the two agree to rounding.
    gen = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(16, 8, generator=gen, dtype=torch.float64), torch.randn(16, 8, generator=gen,
                                                                                 dtype=torch.float64)
    z2 = z2 + 2 * z1  # correlated views, as after training
    for weight in (5e-3, 0.1, 0.0):
        ours = barlow_twins_loss(z1, z2, weight)["loss"]
        theirs = BarlowTwinsLoss(lambda_param=weight)(z1, z2)
        assert torch.allclose(ours, theirs, rtol=1e-12, atol=1e-12), (weight, ours, theirs)


def test_standardised_dimensions_have_mean_0_and_biased_variance_1():
    z = torch.randn(32, 5, dtype=torch.float64) * torch.arange(1, 6) + 7
    s = standardize(z, eps=0.0)
    assert torch.allclose(s.mean(0), torch.zeros(5, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(s.var(0, unbiased=False), torch.ones(5, dtype=torch.float64))


def test_cross_correlation_is_pearson_correlation_between_the_views_dimensions():
    gen = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(64, 4, generator=gen, dtype=torch.float64), torch.randn(64, 4, generator=gen,
                                                                                 dtype=torch.float64)
    pearson = torch.corrcoef(torch.cat([z1, z2], 1).T)[:4, 4:]  # (D, D) between dimension i of z1 and j of z2
    assert torch.allclose(cross_correlation(z1, z2), pearson, atol=1e-4)  # up to batch-norm's eps


def test_identical_views_with_independent_dimensions_score_zero():
    terms = barlow_twins_loss(INDEPENDENT, INDEPENDENT.clone(), 5e-3)
    assert terms["invariance"] < 1e-9   # C_ii = 1 / (1 + eps)
    assert terms["redundancy"] < 1e-20  # the columns are orthogonal: C_ij = 0 exactly
    # scaling or shifting a dimension changes nothing: the loss sees standardised embeddings
    assert barlow_twins_loss(INDEPENDENT * 3 + 1, INDEPENDENT, 5e-3)["loss"] < 1e-9


def test_a_collapsed_embedding_scores_d_and_anti_correlated_views_score_4d():
    constant = torch.ones(8, 6, dtype=torch.float64)
    assert barlow_twins_loss(constant, constant, 5e-3)["loss"].item() == 6  # C = 0: every (1 − 0)² counts
    terms = barlow_twins_loss(INDEPENDENT, -INDEPENDENT, 5e-3)
    assert abs(terms["invariance"].item() - 4 * 3) < 1e-3  # C_ii = −1 / (1 + eps): (1 − (−1))² = 4 per dimension


