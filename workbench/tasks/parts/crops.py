"""Multi-crop forward passes (SwAV, DINO): crops of one size go through the network together, and only the
full-size global crops move the batch-norm running statistics.

Why: the probes (k-NN, linear, UMAP) embed full-size images in eval mode, where batch norm uses its running
statistics. A 16-pixel local crop leaves a 2×2 map after three poolings where a 32-pixel image leaves 4×4, and
its statistics differ; if local passes updated the running averages, every probe would run the encoder with
statistics of images it never sees, and its features would be noise. Local crops still normalise with their
own batch statistics during training, as in the papers.
"""

from contextlib import contextmanager

import torch
from torch import nn


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


def encode_crops(network: nn.Module, crops: list[torch.Tensor], global_crops: int) -> list[torch.Tensor]:
    """The first `global_crops` crops (full size) in one pass, the local crops in another: (B, ·) per crop."""
    out = [network(torch.cat(crops[:global_crops]))]
    if len(crops) > global_crops:
        with running_stats_frozen(network):
            out.append(network(torch.cat(crops[global_crops:])))
    return list(torch.cat(out).split(crops[0].shape[0]))
