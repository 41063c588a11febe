"""Inpainting (context encoder): cut a hole in the image and paint in what was there from what surrounds it.

What is predicted: the pixels of a removed region, from the rest of the image (the context); the hole is
filled with the mean value before the encoder sees it. The decoder paints from the encoder's pooled code — the
vector the probes measure — as the paper's decoder reads a bottleneck that spans the whole image.
Loss: squared error on the hole, plus a weight w_out on the rest (the paper scores a 7-px overlap with the
context instead, so that the fill joins its border), against the target t(x) — by default the lightness with
every 8 × 8 patch normalised (MAE's target: where the edges run, not how bright things are),

    L = 1/|M| Σ_{p ∈ M} ‖x̂_p − t(x)_p‖² + w_out · 1/|M̄| Σ_{p ∉ M} ‖x̂_p − t(x)_p‖²,   x̂ = g(f((1 − M)⊙x + M⊙x̄)).

Paper: Pathak, Krähenbühl, Donahue, Darrell, Efros. "Context Encoders: Feature Learning by Inpainting",
CVPR 2016. https://arxiv.org/abs/1604.07379

What to look for: the filled hole starts as a flat blur, then — the part that needs understanding — continues
the shape's edges into the hole. A blurry fill is the L2 loss averaging the possible answers; the paper adds
an adversarial loss for sharpness, which this task leaves out.

Letters: B images, H×W pixels, M the hole mask (1 inside the hole), D encoder features.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import PreviewRow, Preset, StepOutput, TaskInfo, param, register_task
from .parts.reconstruction import CodeReconstruction

BLOCK_GRID = 8  # random blocks: the image as an 8 × 8 grid of cells, each dropped on its own


def hole_masks(b: int, size: int, kind: str, hole_size: float, gen: torch.Generator, device) -> torch.Tensor:
    """(B, 1, H, W) masks, 1 where pixels are removed.

    centre: one square of side hole_size·H in the middle (the paper's "central region");
    random_square: a square of that side at a random place in every image;
    random_blocks: each cell of an 8 × 8 grid dropped with probability hole_size², the same expected area
    (the paper's "random block" masks, which it found to learn better features)."""
    side = max(1, round(hole_size * size))
    if kind == "random_blocks":
        cells = torch.rand(b, 1, BLOCK_GRID, BLOCK_GRID, generator=gen, device=device) < hole_size ** 2
        return F.interpolate(cells.float(), size=(size, size), mode="nearest")
    if kind == "centre":
        top = torch.full((b,), (size - side) // 2, device=device)
        left = top
    else:
        top = torch.randint(0, size - side + 1, (b,), generator=gen, device=device)
        left = torch.randint(0, size - side + 1, (b,), generator=gen, device=device)
    rows = torch.arange(size, device=device)
    inside_rows = (rows >= top[:, None]) & (rows < top[:, None] + side)     # (B, H)
    inside_cols = (rows >= left[:, None]) & (rows < left[:, None] + side)   # (B, W)
    return (inside_rows[:, :, None] & inside_cols[:, None, :]).float()[:, None]


def masked_mse(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the pixels where mask = 1 (summed over colour channels, as ‖·‖²)."""
    squared = ((prediction - target) ** 2).sum(1, keepdim=True)  # (B, 1, H, W)
    return (squared * mask).sum() / mask.sum().clamp_min(1)


@register_task
class Inpainting(CodeReconstruction):
    info = TaskInfo(
        name="inpainting",
        family="reconstruction",
        title="Inpainting — fill the hole from its surroundings",
        summary="Remove a region of the image and paint in the missing pixels from the context around it.",
        paper="Pathak et al., Context Encoders: Feature Learning by Inpainting, CVPR 2016",
        paper_url="https://arxiv.org/abs/1604.07379",
        look_for="The hole loss falls as fills go from a flat blur to continued edges; k-NN rises slowly, once "
                 "the network must know the shape to finish it.",
    )
    # A high rate for the most epochs that fit the 200 s a preset may take on two cores: 36. What it reaches:
    # benchmarks/results/tasks-shapes-cpu2-bfloat16.csv.
    preset = Preset(epochs=36, batch_size=64, learning_rate=8e-3, weight_decay=0.05)
    # Photos: the colours and the plain pixels, as for the denoising autoencoder (the card's figures).
    real_data_params = {"grey": False, "normalized_target": False}
    gpu_preset = Preset(epochs=100, batch_size=256, learning_rate=1e-3, weight_decay=1e-4)

    @dataclass
    class Params:
        hole_kind: str = param("random_blocks", "Which pixels go: 'centre' (one square in the middle, the "
                               "paper's main setting), 'random_square' (one square anywhere) or 'random_blocks' "
                               "(scattered cells; the paper found them to give better features).",
                               choices=("centre", "random_square", "random_blocks"))
        hole_size: float = param(0.7, "Side of the square hole as a fraction of the image side (the paper: "
                                 "64 of 128 px, 0.5, a quarter of the area; here 0.7, half the area: after 40 "
                                 "epochs k-NN 0.48 against 0.45 on Shapes); for random blocks, the same area is "
                                 "dropped on average. Small holes are filled from their border alone.",
                                 0.1, 0.9, 0.05)
        outside_weight: float = param(1.0, "Weight of the squared error on the context, outside the hole. The "
                                      "paper paints a patch 7 px wider than its hole, so the fill joins its "
                                      "border; here the whole context is scored. Copying it is not free: it "
                                      "must pass through the code too (on Shapes k-NN 0.50 at 1, 0.47 at "
                                      "0.1). 0 scores the hole only.", 0.0, 1.0, 0.05)
        grey: bool = param(True, "Work on the lightness only. Colour covers most pixels, so with it the code "
                           "becomes a colour histogram, and Shapes' colours are random.",
                           lab="Off: the code spends itself on colours; k-NN stays near random init.")
        normalized_target: bool = param(True, "Paint every 8 × 8 patch at zero mean and unit variance (MAE's "
                                        "target) instead of raw pixels: what is left to predict is where the "
                                        "edges run.", lab="Off: the loss is won by filling in the right "
                                        "brightness, and the code learns less about shape.")
        crop_min_scale: float = param(0.6, "Smallest random crop (fraction of the area) before the hole is "
                                      "cut; 1.0 turns cropping off.", 0.1, 1.0, 0.05)

    def make_inputs(self, images, gen, indices=None):
        p = self.params
        images = self.clean_crops(images, gen)
        mask = hole_masks(images.shape[0], images.shape[-1], p.hole_kind, p.hole_size, gen, images.device)
        # The hole is filled with the mean value, as the paper's code fills it with ImageNet's mean colour — here
        # the batch's mean: it says nothing about what was there.
        mean = images.mean(dim=(0, 2, 3), keepdim=True)
        return images * (1 - mask) + mean * mask, images, mask  # input, target (B, 3, H, W); mask (B, 1, H, W)

    def loss(self, inputs, progress):
        masked, clean, mask = inputs
        prediction, target = self.reconstruct(masked), self.target(clean)
        hole = masked_mse(prediction, target, mask)
        context = masked_mse(prediction, target, 1 - mask)
        metrics = {"hole_mse": hole.detach(), "context_mse": context.detach()}
        return StepOutput(hole + self.params.outside_weight * context, metrics)

    def preview(self, images, gen, predict=False):
        masked, target, mask = self.make_inputs(images, gen)
        columns, captions = [masked, target], ["target"]
        if predict:
            with torch.no_grad():
                painted = self.shown(self.reconstruct(masked), target)
            filled = masked * (1 - mask) + painted * mask  # the context stays as it was
            columns.append(filled)
            captions.append("filled")
        return [PreviewRow([c[i] for c in columns], [f"input, {mask[i].mean():.0%} removed", *captions])
                for i in range(len(images))]
