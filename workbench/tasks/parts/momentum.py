"""Momentum (EMA) targets: a slowly moving copy of the online network that is never trained by gradients
(MoCo's key encoder, BYOL's target, DINO's teacher)."""

import copy
import math

import torch
from torch import nn


def frozen_copy(module: nn.Module) -> nn.Module:
    """A copy with the same weights that gradients never reach."""
    target = copy.deepcopy(module)
    for parameter in target.parameters():
        parameter.requires_grad_(False)
    return target


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """θ_target ← m·θ_target + (1 − m)·θ_online, parameter by parameter; buffers (BN statistics) are copied."""
    for t, o in zip(target.parameters(), online.parameters()):
        t.mul_(momentum).add_(o.detach(), alpha=1 - momentum)
    for t, o in zip(target.buffers(), online.buffers()):
        t.copy_(o)


def cosine_schedule(start: float, end: float, fraction: float) -> float:
    """From `start` at fraction 0 to `end` at fraction 1 along half a cosine (BYOL's momentum schedule:
    τ = 1 − (1 − τ_base)·(cos(πk/K) + 1)/2)."""
    return end - (end - start) * (math.cos(math.pi * min(1.0, fraction)) + 1) / 2
