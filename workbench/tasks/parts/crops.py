"""Multi-crop (SwAV, DINO): two full-size global crops and a few small local ones of every image; their forward
passes, where crops of one size go through the network together and only the global crops move the batch-norm
running statistics; and their preview rows.

Why: the probes (k-NN, linear, UMAP) embed full-size images in eval mode, where batch norm uses its running
statistics. A 16-pixel local crop leaves a 2×2 map after three poolings where a 32-pixel image leaves 4×4, and
its statistics differ; if local passes updated the running averages, every probe would run the encoder with
statistics of images it never sees, and its features would be noise. Local crops still normalise with their
own batch statistics during training, as in the papers.
"""

from contextlib import contextmanager

import torch
from torch import nn

from ..base import PreviewRow
from .views import random_view

GLOBAL_CROPS = 2  # full-size crops: the teacher's inputs (DINO), the ones that give codes (SwAV)


def multi_crop(images: torch.Tensor, gen: torch.Generator, p) -> list[torch.Tensor]:
    """SwAV's and DINO's multi-crop: GLOBAL_CROPS views of the whole size covering (crop_min_scale, 1) of the
    image, then `p.local_crops` small views (`p.local_size` px) covering (local_min_scale, local_max_scale).
    `p` is a method's Params: `ViewParams` and those four fields. Returns a list of (B, 3, h, h)."""
    full, local_scale = images.shape[-1], (p.local_min_scale, p.local_max_scale)
    globals_ = [random_view(images, gen, p, size=full, scale=(max(p.crop_min_scale, local_scale[1]), 1.0))
                for _ in range(GLOBAL_CROPS)]
    locals_ = [random_view(images, gen, p, size=p.local_size, scale=local_scale) for _ in range(p.local_crops)]
    return globals_ + locals_


@contextmanager
def running_stats_frozen(network: nn.Module):
    """Batch norm inside uses batch statistics as usual but leaves its running averages as they are."""
    norms = [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 0.0  # running ← (1 − 0)·running + 0·batch
    try:
        yield
    finally:
        for m, momentum in zip(norms, saved):
            m.momentum = momentum


def encode_crops(network: nn.Module, crops: list[torch.Tensor]) -> list[torch.Tensor]:
    """The global crops (full size) in one pass, the local crops in another: (B, ·) per crop."""
    out = [network(torch.cat(crops[:GLOBAL_CROPS]))]
    if len(crops) > GLOBAL_CROPS:
        with running_stats_frozen(network):
            out.append(network(torch.cat(crops[GLOBAL_CROPS:])))
    return list(torch.cat(out).split(crops[0].shape[0]))


def crop_names(count: int) -> list[str]:
    """"global 1", "global 2", "local 1", … for `count` crops."""
    return [f"global {i + 1}" for i in range(GLOBAL_CROPS)] + [f"local {i + 1}" for i in range(count - GLOBAL_CROPS)]


def crop_rows(images: torch.Tensor, crops: list[torch.Tensor], captions: list[list[str]]) -> list[PreviewRow]:
    """One preview row per image: the original, then its crops, with `captions[crop][image]`."""
    return [PreviewRow([images[i]] + [c[i] for c in crops], ["original"] + [cap[i] for cap in captions])
            for i in range(len(images))]
