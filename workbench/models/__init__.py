"""Encoders: images (B, 3, H, W) in [0, 1] — or token ids (B, T) for text — → features (B, D), found by name.

`small_cnn` trains at thousands of images per second on two CPU cores; `resnet18` is the standard backbone of
SSL papers on 32×32 images. Every encoder has `feature_dim`, and CNNs also `feature_map(x)`: the spatial
features before pooling, for the decoders of the reconstruction tasks; and `block_maps(x)`: the map after each
block, for the GAN's read-out. A task may bring an encoder of its own kind (MAE's ViT) by registering it here.
"""

import threading
from contextlib import contextmanager
from typing import Callable

import torch
from torch import nn

from .cnn import CifarResNet18, SmallCNN

ENCODERS: dict[str, str] = {}          # name → label shown in the page and --help
_FACTORIES: dict[str, Callable[[], nn.Module]] = {}


def register_encoder(name: str, label: str, factory: Callable[[], nn.Module]) -> None:
    ENCODERS[name], _FACTORIES[name] = label, factory


register_encoder("small_cnn", "Small CNN (4 conv blocks, 192-d) — fast on a CPU", SmallCNN)
register_encoder("resnet18", "ResNet-18 with CIFAR stem (512-d) — the papers' backbone; use a GPU",
                 CifarResNet18)


def create_encoder(name: str) -> nn.Module:
    """A new encoder, its weights drawn from torch's global generator: build it in `seeded` to fix them."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose from {', '.join(ENCODERS)}")
    return _FACTORIES[name]()


# Every nn.Module draws its first weights from torch's global generator, and a process has one for all its
# threads: the page builds tasks (a preview, the model's answers, a probe's random init) while a run builds its
# own, and a build that seeds the generator while another thread draws from it gets the other's numbers
# (measured: with a preview redrawn over and over, 8 of 50 builds of one seed came out different). So whatever
# is built from a seed is built in `seeded`: one build at a time, on a fork of the generator that is put back
# afterwards, so that nobody else's draws move either.
_GLOBAL_GENERATOR = threading.RLock()


@contextmanager
def seeded(seed: int):
    """Draw from torch's global (CPU) generator as seeded with `seed`, while no other `seeded` block draws."""
    with _GLOBAL_GENERATOR, torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield


@contextmanager
def evaluating(module: nn.Module, training: bool = False):
    """`module` in eval mode (batch-norm statistics, no dropout) inside the block, then back in the mode it was
    in: a probe or a preview may borrow a model that is training. `training=True`: train mode instead (batch
    statistics), for a look at the model as training sees it."""
    was_training = module.training
    module.train(training)
    try:
        yield module
    finally:
        module.train(was_training)


from .vit import ViT  # noqa: E402  (after the registry: a task's own encoder registers here)
register_encoder("vit_tiny", "Small ViT (patch 4, 192-d, mean of patch tokens) — MAE's encoder", ViT)

from .transformer import bert_tiny, gpt_tiny  # noqa: E402
register_encoder("bert_tiny", "Text transformer, both ways (4 layers × 128, 4 heads) — BERT's, for text", bert_tiny)
register_encoder("gpt_tiny", "Text transformer, causal (4 layers × 128, 4 heads) — GPT's, for text", gpt_tiny)
