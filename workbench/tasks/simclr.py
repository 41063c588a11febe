"""SimCLR: two augmented views of the same image should have matching embeddings, unlike all other images.

What is predicted: for each view in the batch, which of the other 2B − 1 views came from the same image.
Loss (NT-Xent), for the positive pair (i, j) among 2B views z, with cosine similarity sim and temperature τ:

    ℓ(i, j) = −log  exp(sim(z_i, z_j) / τ) / Σ_{k ≠ i} exp(sim(z_i, z_k) / τ),   averaged over all 2B anchors.

Paper: Chen, Kornblith, Norouzi, Hinton. "A Simple Framework for Contrastive Learning of Visual
Representations", ICML 2020. https://arxiv.org/abs/2002.05709

What to look for: the loss starts near ln(2B − 1) (every view equally similar) and falls as views of one image
find each other. The augmentations decide what is learned: the network must ignore whatever they change
(colour, crop, flip), so it keeps what they leave alone — here, the shape.

Letters: B images, V = 2 views, D encoder features, P projection dimension.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import Preset, StepOutput, TaskInfo, param, register_task
from .parts.heads import mlp
from .parts.two_views import TwoViewTask
from .parts.views import ViewParams


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent over two (B, P) batches of projections; row i of z1 and row i of z2 are a positive pair."""
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)                    # (2B, P) on the unit sphere
    logits = z @ z.T / temperature                                  # (2B, 2B) cosine similarity / τ
    logits.fill_diagonal_(float("-inf"))                            # a view is not its own candidate
    positives = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)  # i ↔ i + B
    return F.cross_entropy(logits, positives)


@register_task
class SimCLR(TwoViewTask):
    info = TaskInfo(
        name="simclr",
        family="contrastive",
        title="SimCLR — contrast two augmented views",
        summary="Pull together two random augmentations of one image and push apart the views of all others.",
        paper="Chen et al., A Simple Framework for Contrastive Learning of Visual Representations, ICML 2020",
        paper_url="https://arxiv.org/abs/2002.05709",
        look_for="The loss starts near ln(2B−1) and falls; the k-NN accuracy rises as colour stops mattering.",
    )
    preset = Preset(epochs=20, batch_size=128, learning_rate=4e-3)
    # Photos: the k-NN still climbs after 20 epochs (0.49), and 50 fit in the 200 s (the card has the figures).
    real_data_preset = Preset(epochs=50, batch_size=128, learning_rate=4e-3)
    gpu_preset = Preset(epochs=200, batch_size=512, learning_rate=2e-3, weight_decay=1e-6)

    @dataclass
    class Params(ViewParams):
        temperature: float = param(0.2, "τ of NT-Xent. Lower sharpens the contrast against hard negatives; "
                                   "the paper's CIFAR value is 0.5, solo-learn's 0.2. Far too high (≥ 1) and "
                                   "every negative weighs the same: the contrast goes soft.", 0.01, 10.0, 0.01,
                                   lab="At 5 or more the loss barely separates views: k-NN stalls.")
        projection_dim: int = param(128, "Output size of the projection head; the loss lives there, the "
                                    "representation is taken before it (the paper: 128).", 8, 1024, 8)

    def make_projector(self, feature_dim):
        # "We use a MLP with one hidden layer to obtain z_i = g(h_i) = W2 σ(W1 h_i)" (Sec. 2.1).
        return mlp(feature_dim, feature_dim, self.params.projection_dim)

    def criterion(self, z1, z2):
        return StepOutput(nt_xent(z1, z2, self.params.temperature))
