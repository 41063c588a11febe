"""Whole data sets of uint8 images, resized or made grey a slice at a time so that memory stays bounded; the one
grey of the project (luma); and the sRGB ↔ CIE Lab conversions (colorization's colour space, Painted shapes'
colours)."""

import numpy as np
import torch

CHUNK = 2048  # images converted at once: a float copy of this many, not of the whole set
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 weights of red, green, blue in grey (Pillow's "L")


def luma(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) float colour → (B, 1, H, W) grey: the ITU-R 601 luma."""
    red, green, blue = LUMA
    return red * images[:, 0:1] + green * images[:, 1:2] + blue * images[:, 2:3]


def grey(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) float colour → the same shape in grey: the luma in all three channels, so that every
    encoder takes it."""
    return luma(images).expand_as(images)


def resize_images(images, size: int) -> torch.Tensor:
    """(N, C, H, W) uint8 (a tensor, an array, or a memory-mapped file's view) → (N, 3, size, size) uint8:
    grey images get three equal channels, smoothed when shrunk so that thin strokes do not alias."""
    out = torch.empty((len(images), 3, size, size), dtype=torch.uint8)
    for start in range(0, len(images), CHUNK):
        chunk = torch.from_numpy(np.array(images[start:start + CHUNK])).float()  # a copy: the source may be read-only
        if chunk.shape[-2:] != (size, size):
            chunk = torch.nn.functional.interpolate(chunk, size=(size, size), mode="bilinear", align_corners=False,
                                                    antialias=chunk.shape[-1] > size)
        out[start:start + CHUNK] = chunk.round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1)
    return out


def to_grey(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, S, S) uint8 colour → the same shape in grey (`luma`), kept at three channels so that every encoder
    takes it."""
    out = torch.empty_like(images)
    for start in range(0, len(images), CHUNK):
        chunk = luma(images[start:start + CHUNK].float())
        out[start:start + CHUNK] = chunk.round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1)
    return out


_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)  # D65 reference white in XYZ
_RGB_TO_XYZ = torch.tensor([[0.4124564, 0.3575761, 0.1804375],
                            [0.2126729, 0.7151522, 0.0721750],
                            [0.0193339, 0.1191920, 0.9503041]], dtype=torch.float64)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB (B, 3, H, W) in [0, 1] → CIE Lab (B, 3, H, W): L in [0, 100], a and b about in [−110, 110]."""
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = torch.einsum("ij,bjhw->bihw", _RGB_TO_XYZ.to(rgb), linear) / _WHITE.to(rgb)[:, None, None]
    f = torch.where(xyz > (6 / 29) ** 3, xyz.clamp_min(1e-12) ** (1 / 3), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """The inverse of `rgb_to_lab`, clipped to the sRGB cube [0, 1]."""
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], dim=1)
    xyz = torch.where(f > 6 / 29, f ** 3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE.to(lab)[:, None, None]
    linear = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_RGB_TO_XYZ).to(lab), xyz).clamp(0, 1)
    return torch.where(linear > 0.0031308, 1.055 * linear.clamp_min(1e-12) ** (1 / 2.4) - 0.055, 12.92 * linear)
