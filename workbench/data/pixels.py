"""Whole data sets of uint8 images, resized or made grey a slice at a time so that memory stays bounded."""

import numpy as np
import torch

CHUNK = 2048  # images converted at once: a float copy of this many, not of the whole set


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
    """(N, 3, S, S) uint8 colour → the same shape in grey (ITU-R 601 luma, the weights of Pillow's "L"),
    kept at three channels so that every encoder takes it."""
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    out = torch.empty_like(images)
    for start in range(0, len(images), CHUNK):
        luma = (images[start:start + CHUNK].float() * weights).sum(1, keepdim=True)
        out[start:start + CHUNK] = luma.round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1)
    return out
