"""Barlow Twins: the cross-correlation of two views' embeddings should be the identity matrix.

What is predicted: nothing is classified. Two augmented views of each image are embedded; every embedding
dimension is standardised over the batch, and the cross-correlation matrix C of the two views (D × D) is pushed
towards the identity: each dimension must agree across the views (C_ii = 1) and say something the other
dimensions do not (C_ij = 0). Loss, with z^A, z^B standardised per dimension over the batch:

    C_ij = 1/B Σ_b z^A_bi z^B_bj,       L = Σ_i (1 − C_ii)²  +  λ Σ_i Σ_{j≠i} C_ij².

Paper: Zbontar, Jing, Misra, LeCun, Deny. "Barlow Twins: Self-Supervised Learning via Redundancy Reduction",
ICML 2021. https://arxiv.org/abs/2103.03230

What to look for: the loss starts near D (every C_ii ≈ 0 for a random network) and falls; the invariance term
goes first, the redundancy term stays small and decides how spread out the embedding is. There are no
negatives, yet nothing collapses: a constant embedding would have C = 0, the worst possible invariance term.

Letters: B images, V = 2 views, D projection dimension (the size of C).
"""

from dataclasses import dataclass

import torch

from . import Preset, TaskInfo, param, register_task
from .parts.heads import mlp
from .parts.two_views import TwoViewTask, with_terms
from .parts.views import ViewParams


def standardize(z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each dimension of (B, D) to mean 0, variance 1 over the batch. The variance is the biased one (÷ B), as
    the paper's batch-norm without affine parameters computes it; `eps` is batch-norm's."""
    centred = z - z.mean(dim=0)
    return centred / (centred.pow(2).mean(dim=0) + eps).sqrt()


def cross_correlation(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """C (D, D) of two (B, D) batches: C_ij = 1/B Σ_b z1_bi z2_bj after standardising each dimension."""
    return standardize(z1).T @ standardize(z2) / z1.shape[0]


def barlow_twins_loss(z1: torch.Tensor, z2: torch.Tensor, redundancy_weight: float) -> dict[str, torch.Tensor]:
    """The two terms of the loss and their weighted sum, as {"loss", "invariance", "redundancy"}."""
    c = cross_correlation(z1, z2)
    on_diagonal = torch.diagonal(c)
    invariance = (1 - on_diagonal).pow(2).sum()                 # Σ_i (1 − C_ii)²
    redundancy = c.pow(2).sum() - on_diagonal.pow(2).sum()      # Σ_{i≠j} C_ij²
    return {"loss": invariance + redundancy_weight * redundancy, "invariance": invariance,
            "redundancy": redundancy}


@register_task
class BarlowTwins(TwoViewTask):
    view_captions = ("view 1", "view 2 (maybe solarised)")
    info = TaskInfo(
        name="barlow_twins",
        family="redundancy reduction",
        title="Barlow Twins — make the cross-correlation of two views the identity",
        summary="Embed two views of each image so that every dimension agrees across the views and no two "
                "dimensions carry the same information.",
        paper="Zbontar et al., Barlow Twins: Self-Supervised Learning via Redundancy Reduction, ICML 2021",
        paper_url="https://arxiv.org/abs/2103.03230",
        look_for="The invariance term falls from about D towards 0 while the redundancy term stays small; the "
                 "collapse monitor stays up with no negatives at all.",
    )
    preset = Preset(epochs=20, batch_size=128, learning_rate=4e-3)
    # The paper's CIFAR-sized recipe as solo-learn runs it: LARS lr 0.3 at batch 256; AdamW at 1e-3 is the
    # usual single-GPU stand-in.
    gpu_preset = Preset(epochs=400, batch_size=256, learning_rate=1e-3, weight_decay=1e-4)

    @dataclass
    class Params(ViewParams):
        redundancy_weight: float = param(5e-3, "λ, the weight of the off-diagonal (redundancy) term. The paper "
                                         "uses 5e-3 with D = 8192. There are D² off-diagonal entries against D "
                                         "diagonal ones, so the balance scales with 1/D: with a small "
                                         "projector try 1e-2 to 5e-2. At 0 nothing stops dimensions copying "
                                         "each other.", 0.0, 1.0, 1e-3)
        projection_dim: int = param(512, "Width of the three projector layers, and so the size D of C. The "
                                    "paper: 8192, and more helps; 512 suits a 192-d encoder on a CPU.",
                                    32, 8192, 32)
        solarize_probability: float = param(0.2, "Chance that the second view is solarised (the paper's "
                                            "asymmetric views: 0 for the first, 0.2 for the second).",
                                            0.0, 1.0, 0.05)

    def make_projector(self, feature_dim):
        # "The projector network has three linear layers, each with 8192 output units. The first two layers of
        # the projector are followed by a batch normalization layer and rectified linear units." (Sec. 2)
        p = self.params.projection_dim
        return mlp(feature_dim, p, p, p)

    def criterion(self, z1, z2):
        return with_terms(barlow_twins_loss(z1, z2, self.params.redundancy_weight))
