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
from torch import nn

from .. import augment
from . import PreviewRow, PretextTask, StepOutput, TaskInfo, param, register_task


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent over two (B, P) batches of projections; row i of z1 and row i of z2 are a positive pair."""
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)                    # (2B, P) on the unit sphere
    logits = z @ z.T / temperature                                  # (2B, 2B) cosine similarity / τ
    logits.fill_diagonal_(float("-inf"))                            # a view is not its own candidate
    positives = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)  # i ↔ i + B
    return F.cross_entropy(logits, positives)


@register_task
class SimCLR(PretextTask):
    info = TaskInfo(
        name="simclr",
        family="contrastive",
        title="SimCLR — contrast two augmented views",
        summary="Pull together two random augmentations of one image and push apart the views of all others.",
        paper="Chen et al., A Simple Framework for Contrastive Learning of Visual Representations, ICML 2020",
        paper_url="https://arxiv.org/abs/2002.05709",
        look_for="The loss starts near ln(2B−1) and falls; the k-NN accuracy rises as colour stops mattering.",
    )

    @dataclass
    class Params:
        temperature: float = param(0.2, "τ of NT-Xent. Lower sharpens the contrast against hard negatives; "
                                   "the paper's CIFAR value is 0.5, solo-learn's 0.2.", 0.01, 2.0, 0.01)
        crop_min_scale: float = param(0.25, "Smallest crop, as a fraction of the image area. The paper uses 0.08 "
                                      "on ImageNet; small images and small shapes need more context.",
                                      0.05, 1.0, 0.05)
        rotation_degrees: float = param(180.0, "Random turn of each view, ± this many degrees. Not in the paper "
                                        "(0 there); where objects appear at any tilt, as in Shapes, the views "
                                        "must vary it too, or the tilt becomes a cue to match views by.",
                                        0.0, 180.0, 5.0)
        color_jitter: float = param(1.0, "Colour-jitter strength s: brightness, contrast, saturation 0.8·s, hue "
                                    "0.2·s (the paper: 1.0 on ImageNet, 0.5 on CIFAR). Without it SimCLR matches "
                                    "views by colour alone.", 0.0, 1.5, 0.1)
        jitter_probability: float = param(0.8, "Chance that a view is colour-jittered.", 0.0, 1.0, 0.05)
        grayscale_probability: float = param(0.5, "Chance that a view is turned grey (the paper: 0.2). More grey "
                                             "views make colour a weaker cue.", 0.0, 1.0, 0.05)
        projection_dim: int = param(64, "Output size of the projection head; the loss lives there, the "
                                    "representation is taken before it.", 8, 1024, 8)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        d = encoder.feature_dim
        # "We use a MLP with one hidden layer to obtain z_i = g(h_i) = W2 σ(W1 h_i)" (Sec. 2.1).
        self.projector = nn.Sequential(nn.Linear(d, d), nn.ReLU(inplace=True),
                                       nn.Linear(d, self.params.projection_dim))

    def augment(self, images, gen):
        """One random view per image: crop and flip, colour jitter, random grey (no blur at 32 px)."""
        p, s = self.params, self.params.color_jitter
        views = augment.random_resized_crop(images, gen, scale=(p.crop_min_scale, 1.0), degrees=p.rotation_degrees)
        views = augment.color_jitter(views, gen, 0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s, p=p.jitter_probability)
        return augment.random_grayscale(views, gen, p=p.grayscale_probability)

    def make_inputs(self, images, gen):
        return self.augment(images, gen), self.augment(images, gen)  # two (B, 3, H, W) views

    def loss(self, inputs):
        view1, view2 = inputs
        b = view1.shape[0]
        z = self.projector(self.encoder(torch.cat([view1, view2])))  # one pass for both views: (2B, P)
        loss = nt_xent(z[:b], z[b:], self.params.temperature)
        return StepOutput(loss)

    def preview(self, images, gen):
        view1, view2 = self.make_inputs(images, gen)
        return [PreviewRow(torch.stack([image, v1, v2]), ["original", "view 1", "view 2"])
                for image, v1, v2 in zip(images, view1, view2)]
