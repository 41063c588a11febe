"""VICReg: two views' embeddings should agree, every dimension should vary, and no two should covary.

What is predicted: nothing is classified. Two augmented views of each image are embedded (Z, Z' of shape
(B, D)); three terms act on the embeddings, each a small function below:

    invariance   s(Z, Z') = 1/(B·D) Σ_b Σ_d (z_bd − z'_bd)²                  (mean squared error)
    variance     v(Z)     = 1/D Σ_d max(0, γ − sqrt(Var(z_·d) + ε))          (hinge on each dimension's std)
    covariance   c(Z)     = 1/D Σ_{i≠j} Cov(Z)_ij²                          (off-diagonal covariances)

    L = λ s(Z, Z') + μ [v(Z) + v(Z')] / 2 + ν [c(Z) + c(Z')],   γ = 1, ε = 1e-4, λ = μ = 25, ν = 1.

Paper: Bardes, Ponce, LeCun. "VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised
Learning", ICLR 2022. https://arxiv.org/abs/2105.04906

What to look for: the three terms in the metrics. The invariance term alone would be solved by a constant; the
variance term keeps every dimension's standard deviation up at γ, the covariance term spreads the information
over the dimensions. Switch the variance term off (its weight to 0) and watch the collapse monitor fall.

Letters: B images, V = 2 views, D projection dimension.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import Preset, TaskInfo, param, register_task
from .parts.heads import mlp
from .parts.two_views import TwoViewTask, with_terms
from .parts.views import ViewParams


def invariance_term(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """s(Z, Z'): mean squared distance between the two views' (B, D) embeddings."""
    return F.mse_loss(z1, z2)


def variance_term(z: torch.Tensor, gamma: float = 1.0, eps: float = 1e-4) -> torch.Tensor:
    """v(Z): how far each dimension's standard deviation over the batch falls short of γ, averaged over D.
    The variance is the unbiased one, as in the paper's pseudo-code (torch's `var`); ε keeps the gradient of the
    square root finite when a dimension has collapsed."""
    std = (z.var(dim=0) + eps).sqrt()         # (D,)
    return F.relu(gamma - std).mean()


def covariance_term(z: torch.Tensor) -> torch.Tensor:
    """c(Z): the squared off-diagonal entries of the (D, D) covariance matrix, summed and divided by D."""
    b, d = z.shape
    centred = z - z.mean(dim=0)
    cov = centred.T @ centred / (b - 1)       # (D, D)
    return (cov.pow(2).sum() - torch.diagonal(cov).pow(2).sum()) / d


def vicreg_loss(z1: torch.Tensor, z2: torch.Tensor, invariance_weight: float, variance_weight: float,
                covariance_weight: float) -> dict[str, torch.Tensor]:
    """The weighted sum of the three terms, and the terms, as {"loss", "invariance", "variance", "covariance"}.
    The variance term is averaged over the two branches, as the authors' code does (the paper's Eq. 6 writes the
    sum; λ = μ = 25 were tuned with the average)."""
    invariance = invariance_term(z1, z2)
    variance = (variance_term(z1) + variance_term(z2)) / 2
    covariance = covariance_term(z1) + covariance_term(z2)
    loss = invariance_weight * invariance + variance_weight * variance + covariance_weight * covariance
    return {"loss": loss, "invariance": invariance, "variance": variance, "covariance": covariance}


@register_task
class VICReg(TwoViewTask):
    view_captions = ("view 1", "view 2 (maybe solarised)")
    info = TaskInfo(
        name="vicreg",
        family="redundancy reduction",
        title="VICReg — invariance, variance and covariance, three terms in plain sight",
        summary="Embed two views of each image so that they agree, while every dimension keeps its spread "
                "over the batch and no two dimensions carry the same information.",
        paper="Bardes et al., VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised "
              "Learning, ICLR 2022",
        paper_url="https://arxiv.org/abs/2105.04906",
        look_for="The invariance term falls while the variance term is held near 0; set the variance weight to 0 "
                 "and the collapse monitor drops as every image gets the same embedding.",
    )
    preset = Preset(epochs=24, batch_size=64, learning_rate=2e-3)
    # The paper's CIFAR-sized setting as solo-learn runs it (LARS lr 0.3 at batch 256); AdamW at 1e-3 is the
    # usual single-GPU stand-in.
    gpu_preset = Preset(epochs=400, batch_size=256, learning_rate=1e-3, weight_decay=1e-4)

    @dataclass
    class Params(ViewParams):
        invariance_weight: float = param(25.0, "λ, weight of the invariance (mean squared error) term. The "
                                         "paper: 25.", 0.0, 100.0, 1.0)
        variance_weight: float = param(25.0, "μ, weight of the variance term that keeps each dimension's "
                                       "standard deviation at γ = 1. The paper: 25 (= λ). It is the term that "
                                       "prevents collapse: try 0 and watch the collapse monitor.", 0.0, 100.0,
                                       1.0, lab="At 0 only invariance and covariance remain, and a constant "
                                       "embedding satisfies both: every image collapses to one point.")
        covariance_weight: float = param(1.0, "ν, weight of the covariance term that decorrelates the "
                                         "dimensions. The paper: 1. At 0 the dimensions may all copy one "
                                         "another (a dimensional collapse).", 0.0, 100.0, 0.5)
        projection_dim: int = param(512, "Width of the three expander layers, the D of the loss. The paper: "
                                    "8192; 512 suits a 192-d encoder on a CPU.", 32, 8192, 32)
        solarize_probability: float = param(0.2, "Chance that the second view is solarised (BYOL's asymmetric "
                                            "views, which the paper uses: 0 and 0.2).", 0.0, 1.0, 0.05)

    def make_projector(self, feature_dim):
        # "The expander h_φ is composed of two fully-connected layers with batch normalization and ReLU, and a
        # third linear layer." (Sec. 4.2)
        p = self.params.projection_dim
        return mlp(feature_dim, p, p, p)

    def criterion(self, z1, z2):
        p = self.params
        return with_terms(vicreg_loss(z1, z2, p.invariance_weight, p.variance_weight, p.covariance_weight))
