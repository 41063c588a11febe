"""Colorization: see only the lightness of an image and predict its colours.

What is predicted: for every pixel of the grey (lightness) image, a distribution over Q quantised colours — the
cells of a grid over the a, b plane of CIE Lab — whose true cell comes free with the colour image.
Loss: class-rebalanced cross-entropy over the pixels (h, w) of the predicted colour map,

    L = − 1/(B·H·W) Σ_b Σ_{h,w} v(q*_bhw) · log p(q*_bhw | L_b),   v(q) ∝ ((1 − λ)·p̃(q) + λ/Q)⁻¹,

where q* is the true colour cell and p̃ the colour frequencies seen so far, so that rare (saturated) colours
weigh as much as the common greyish ones.

Paper: Zhang, Isola, Efros. "Colorful Image Colorization", ECCV 2016. https://arxiv.org/abs/1603.08511

What to look for: the loss falls fast at first (the greys are easy) and then slowly; the colourised preview
starts grey-brown and grows vivid. The preset trains on Painted shapes, where each kind of shape has its own
hue (at a lightness drawn alike for all), so colouring a shape means knowing which shape it is. On Shapes the
colours are random: the network learns where one region ends, never the colour, and the k-NN does not move.

Letters: B images, H×W pixels, Q colour classes (a G×G grid over the a, b plane), D encoder features.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import augment
from ..data.pixels import lab_to_rgb, rgb_to_lab
from . import PreviewRow, PretextTask, Preset, StepOutput, TaskInfo, param, register_task
from .parts.decoders import ConvDecoder

AB_RANGE = 110.0       # |a|, |b| ≤ 110 holds every sRGB colour
ANNEALED_T = 0.38      # "annealed-mean" decoding temperature of the paper (Sec. 2.3)
COLOUR_STRIDE = 4      # colours are predicted at a quarter of the resolution, as in the paper, and up-sampled


def grey_input(lab: torch.Tensor) -> torch.Tensor:
    """What the encoder sees: the lightness alone, scaled to [0, 1] and repeated to 3 channels."""
    return (lab[:, :1] / 100).expand(-1, 3, -1, -1)


def split_colour(images: torch.Tensor, bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour images (B, 3, H, W) → the grey input (B, 3, H, W) and the colour classes (B, H/4, W/4) of their
    a, b channels, pooled to the resolution the colours are predicted at."""
    lab = rgb_to_lab(images)
    return grey_input(lab), quantise_ab(F.avg_pool2d(lab[:, 1:], COLOUR_STRIDE), bins)


def quantise_ab(ab: torch.Tensor, bins: int) -> torch.Tensor:
    """(B, 2, h, w) a, b values → (B, h, w) indices q = i_a·G + i_b of their cell in a G×G grid."""
    cell = ((ab + AB_RANGE) / (2 * AB_RANGE) * bins).long().clamp(0, bins - 1)
    return cell[:, 0] * bins + cell[:, 1]


def with_lightness(grey: torch.Tensor, ab: torch.Tensor, mode: str) -> torch.Tensor:
    """Colours (B, 2, H/4, W/4) scaled up to the grey image's size by `mode` and joined with its lightness →
    RGB (B, 3, H, W)."""
    ab = F.interpolate(ab, size=grey.shape[-2:], mode=mode)  # bilinear: align_corners False, the default
    return lab_to_rgb(torch.cat([grey[:, :1] * 100, ab], dim=1))


def cell_centres(bins: int) -> torch.Tensor:
    """(Q, 2) the a, b value at the centre of every cell, in the order of `quantise_ab`."""
    centres = (torch.arange(bins) + 0.5) / bins * 2 * AB_RANGE - AB_RANGE
    return torch.cartesian_prod(centres, centres)


def rebalancing_weights(counts: torch.Tensor, mix: float) -> torch.Tensor:
    """(Q,) v(q) ∝ ((1 − λ)·p̃(q) + λ/Q')⁻¹, scaled so that E_p̃[v] = 1 (Eq. 3–4). Q' counts only the colours
    ever seen (the paper's 313 in-gamut cells): cells no sRGB colour reaches would dilute λ/Q."""
    p = counts / counts.sum()
    seen = counts > 0
    weights = torch.where(seen, 1 / ((1 - mix) * p + mix / seen.sum()).clamp_min(1e-12), 0.0)  # unseen: never a target
    return weights / (p * weights).sum()


@register_task
class Colorization(PretextTask):
    info = TaskInfo(
        name="colorization",
        family="reconstruction",
        title="Colorization — paint the grey image",
        summary="Show only the lightness of an image and predict, pixel by pixel, which colour it had (on "
                "Painted shapes, where each kind of shape has its own colour).",
        paper="Zhang, Isola, Efros, Colorful Image Colorization, ECCV 2016",
        paper_url="https://arxiv.org/abs/1603.08511",
        look_for="Loss falls quickly, then slowly; the previews turn from sepia to vivid and each kind of shape "
                 "takes its own colour (Painted shapes). On Shapes the hues are random: nothing to learn.",
    )
    # Trained on Painted shapes, whose colour follows the shape as in photographs (on Shapes colours are random
    # and teach the encoder nothing); 30 epochs at 2e-3 gained most over random init in the time. What it
    # reaches: benchmarks/results/tasks-shapes-cpu2-bfloat16.csv.
    preset = Preset(epochs=30, batch_size=64, learning_rate=2e-3, data="painted_shapes")
    gpu_preset = Preset(epochs=100, batch_size=256, learning_rate=1e-3, weight_decay=1e-4, data="painted_shapes")

    @dataclass
    class Params:
        bins: int = param(11, "Colour cells per side of the a, b grid: Q = bins² classes. The paper uses "
                          "cells of 10 units (313 in gamut); 11 × 11 cells of 20 units keep the output small "
                          "enough for a CPU.", 4, 22, 1)
        rebalance: float = param(0.5, "λ of the class rebalancing: 0 weighs each pixel by the inverse frequency "
                                 "of its colour, 1 weighs all alike (plain cross-entropy, dull greyish "
                                 "colourings). The paper: 0.5.", 0.0, 1.0, 0.05,
                                 lab="At 1 the greys dominate: the previews stay sepia, the loss looks fine.")
        crop_min_scale: float = param(0.6, "Smallest random crop (fraction of the area) before the image is "
                                      "split into lightness and colour; 1.0 turns cropping off.", 0.1, 1.0, 0.05)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        q = self.params.bins ** 2
        # The encoder's map is H/8 × W/8: one up-sampling brings it to the H/4 × W/4 at which colours are
        # predicted (the paper's quarter resolution); 16 × 16 cost 1.6× the step for about the same k-NN.
        self.decoder = ConvDecoder(encoder.feature_dim, q, upsamplings=1, resize_last=False)
        self.register_buffer("colour_counts", torch.zeros(q))  # p̃, counted over every pixel trained on

    def make_inputs(self, images, gen, indices=None):
        return split_colour(self._crop(images, gen), self.params.bins)

    def _crop(self, images, gen):
        return augment.random_resized_crop(images, gen, scale=(self.params.crop_min_scale, 1.0))

    def loss(self, inputs, progress):
        grey, target = inputs                                   # (B, 3, H, W), (B, H/4, W/4)
        logits = self.decoder(self.encoder.feature_map(grey))   # (B, Q, H/4, W/4)
        counts = self.colour_counts + torch.bincount(target.flatten(), minlength=len(self.colour_counts))
        if self.training:  # p̃ keeps counting while training; an evaluation only borrows it
            self.colour_counts.copy_(counts)
        weights = rebalancing_weights(counts, self.params.rebalance)[target]
        per_pixel = F.cross_entropy(logits, target, reduction="none")  # (B, H/4, W/4)
        accuracy = (logits.argmax(1) == target).float().mean()
        return StepOutput((weights * per_pixel).mean(), {"colour_accuracy": accuracy})

    def features(self, images):
        return self.encoder(grey_input(rgb_to_lab(images)))  # the encoder only ever saw lightness

    def colourise(self, grey: torch.Tensor) -> torch.Tensor:
        """The annealed mean of the predicted colour distribution (Eq. 5), put back with the lightness."""
        logits = self.decoder(self.encoder.feature_map(grey))                       # (B, Q, H/4, W/4)
        p = (logits.log_softmax(1) / ANNEALED_T).softmax(1)
        ab = torch.einsum("bqhw,qc->bchw", p, cell_centres(self.params.bins).to(p))  # (B, 2, H/4, W/4)
        return with_lightness(grey, ab, "bilinear")

    def paint_cells(self, grey: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """The target as the loss sees it: each H/4 × W/4 cell in the centre colour of its class, with the
        lightness put back."""
        ab = cell_centres(self.params.bins).to(grey)[classes].permute(0, 3, 1, 2)  # (B, 2, H/4, W/4)
        return with_lightness(grey, ab, "nearest")

    def preview(self, images, gen, predict=False):
        colour = self._crop(images, gen)  # the draws of make_inputs, keeping the colour crop to show
        grey, classes = split_colour(colour, self.params.bins)
        side = classes.shape[-1]
        columns = [grey, colour, self.paint_cells(grey, classes)]
        captions = ["grey input (L)", "colour image", f"target: colour classes, {side} × {side}"]
        if predict:
            with torch.no_grad():
                columns.append(self.colourise(grey))
            captions.append("colourised")
        return [PreviewRow([c[i].clamp(0, 1) for c in columns], captions) for i in range(len(images))]
