"""Projection and prediction heads: small MLPs on top of the encoder's features."""

from torch import nn


def mlp(*sizes: int, batch_norm: bool = True, last_batch_norm: bool = False) -> nn.Sequential:
    """Linear → (BatchNorm) → ReLU between consecutive sizes, a plain Linear last (optionally followed by a
    BatchNorm without affine, as in SimSiam's projector and Barlow Twins' cross-correlation).

        mlp(192, 256, 64)  # 192 → 256 → ReLU → 64
    """
    layers = []
    for d_in, d_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(d_in, d_out, bias=not batch_norm)]
        layers += [nn.BatchNorm1d(d_out)] if batch_norm else []
        layers += [nn.ReLU(inplace=True)]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    if last_batch_norm:
        layers.append(nn.BatchNorm1d(sizes[-1], affine=False))
    return nn.Sequential(*layers)
