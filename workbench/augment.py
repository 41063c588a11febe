"""Augmentations on whole batches, with random parameters drawn per sample, on the batch's device.

Written by hand rather than taken from torchvision.transforms.v2 for speed: v2 draws one set of parameters
per call, so per-sample randomness would need a Python loop over images (~10x slower on a CPU, and it keeps the
GIL that the web page needs). Here every image gets its own crop, flip, jitter and grey-scale in a handful of
tensor operations.

Images are float tensors (B, 3, H, W) in [0, 1]. Every function takes a `torch.Generator` on the same device,
so a preview drawn with a seed is exactly what training would draw with that seed.
"""

import math

import torch
import torch.nn.functional as F

from .data.pixels import LUMA, grey, luma


def _uniform(low, high, n, gen, device):
    return low + (high - low) * torch.rand(n, generator=gen, device=device)


def _chance(p, n, gen, device):
    return torch.rand(n, generator=gen, device=device) < p


def random_resized_crop(x, gen, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), flip_p=0.5, degrees=0.0, size=None):
    """Crop a random area fraction in `scale` with aspect ratio in `ratio`, resize to `size` (default: the
    input's), maybe flip, and turn by a random angle in ±`degrees` — all as one affine resampling per image."""
    b, device = x.shape[0], x.device
    area = _uniform(scale[0], scale[1], b, gen, device)
    log_ratio = _uniform(math.log(ratio[0]), math.log(ratio[1]), b, gen, device)
    width = (area * log_ratio.exp()).sqrt().clamp(max=1.0)  # as fractions of the image side
    height = (area / log_ratio.exp()).sqrt().clamp(max=1.0)
    centre_x = _uniform(-1, 1, b, gen, device) * (1 - width)  # keep the crop inside the image
    centre_y = _uniform(-1, 1, b, gen, device) * (1 - height)
    flip = torch.where(_chance(flip_p, b, gen, device), -1.0, 1.0)
    angle = _uniform(-1, 1, b, gen, device) * math.radians(degrees)
    cos, sin = angle.cos(), angle.sin()
    # The map from output to input coordinates in [-1, 1], one 2 × 3 matrix per image, applied as affine_grid
    # (align_corners=False) would — but as broadcast sums: its batched product of tiny matrices costs a CPU
    # as much as the resampling itself at 32 px.
    theta = torch.stack([width * flip * cos, -height * sin, centre_x,
                         width * flip * sin, height * cos, centre_y], dim=1).to(x.dtype)[:, :, None, None]
    out_size = size or x.shape[-1]
    centres = (torch.arange(out_size, device=device, dtype=x.dtype) * 2 + 1) / out_size - 1  # of output pixels
    u, v = centres[None, :], centres[:, None]  # column and row coordinates
    grid = torch.stack([theta[:, 0] * u + theta[:, 1] * v + theta[:, 2],
                        theta[:, 3] * u + theta[:, 4] * v + theta[:, 5]], dim=-1)  # (B, size, size, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def color_jitter(x, gen, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=0.8):
    """With probability p per image: random brightness, contrast, saturation and hue, in that order.

    The first three are linear in the colour, so they are applied as one 3×3 matrix and offset per image:
    brightness b, then contrast c about the mean grey m of the brightened image, then saturation s,

        v ↦ c·b·S·v + (1 − c)·m,   S = s·I + (1 − s)·1·wᵀ   (w: the luma weights; S keeps grey, as wᵀ1 = 1).

    Hue is turned as a rotation of the colour cube about its grey diagonal: a linear stand-in for an HSV hue
    shift that needs one 3x3 matrix per image instead of a colour-space round trip.
    """
    b, device = x.shape[0], x.device
    apply = _chance(p, b, gen, device)[:, None, None, None]

    def factor(strength):
        return _uniform(max(0.0, 1 - strength), 1 + strength, b, gen, device)[:, None, None].to(x.dtype)

    bright, contrast_, saturation_ = factor(brightness), factor(contrast), factor(saturation)  # (B, 1, 1)
    weights = torch.tensor(LUMA, device=device, dtype=x.dtype)
    keep_grey = saturation_ * torch.eye(3, device=device, dtype=x.dtype) + (1 - saturation_) * weights[None, :]
    mean = bright * luma(x).mean(dim=(2, 3))[:, :, None]                          # (B, 1, 1)
    out = torch.einsum("bij,bjhw->bihw", contrast_ * bright * keep_grey, x) + ((1 - contrast_) * mean)[..., None]
    angle = _uniform(-hue, hue, b, gen, device) * 2 * math.pi  # hue in turns, as torchvision
    out = torch.einsum("bij,bjhw->bihw", _hue_rotation(angle).to(out.dtype), out.clamp(0, 1))
    return torch.where(apply, out.clamp(0, 1), x)


def _hue_rotation(angle):
    """(B, 3, 3) rotations by `angle` about the axis (1, 1, 1) / sqrt(3) (Rodrigues' formula)."""
    k = torch.full((3,), 1 / math.sqrt(3), device=angle.device)
    cross = torch.tensor([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]], device=angle.device)
    cos, sin = angle.cos()[:, None, None], angle.sin()[:, None, None]
    eye = torch.eye(3, device=angle.device)
    return cos * eye + sin * cross + (1 - cos) * torch.outer(k, k)


def random_grayscale(x, gen, p=0.2):
    turn_grey = _chance(p, x.shape[0], gen, x.device)[:, None, None, None]
    return torch.where(turn_grey, grey(x), x)


def solarize(x, gen, p=0.2, threshold=0.5):
    """With probability p per image, invert every pixel above `threshold` (BYOL's second view)."""
    apply = _chance(p, x.shape[0], gen, x.device)[:, None, None, None]
    return torch.where(apply & (x >= threshold), 1 - x, x)


def gaussian_noise(x, gen, std=0.05):
    """Fresh pixel noise for every image and every call: a nuisance drawn per view, never stored."""
    return (x + std * torch.randn(x.shape, generator=gen, device=x.device)).clamp(0, 1)
