"""What kind of item a data set carries, and what differs between kinds.

A data set and a pretext task each say their kind (`ImageDataset.kind`, `PretextTask.kind`); the engine, the
probes, the maps and the page ask the kind how to feed an item to a model, how to show it, what the no-learning
baselines are and which encoder to train when the user names none — none of them branches on the kind.
Images: uint8 pixels, raw pixels as the baseline, a CNN. Text: token ids, bags of words, a small transformer.
"""

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..augment import random_resized_crop
from .text.baselines import bag_of_ngrams, bag_of_words
from .text.tokens import decode

ZOOM = 4  # 32-pixel images are shown 4x larger, pixels kept sharp


@dataclass(frozen=True)
class Baseline:
    """A representation without learning, measured beside every trained one."""
    key: str                                         # its key in results: "raw_pixels" → raw_pixels_knn_top1
    label: str                                       # its name in tables and plots: "raw pixels"
    features: Callable[[Any], tuple[torch.Tensor, torch.Tensor]]  # a data set → (train, test) L2-normalised


@dataclass(frozen=True)
class DataKind:
    name: str                                        # "image"
    items: str                                       # the word for the items in messages: "images"
    baselines: tuple[Baseline, ...]                  # the first is the one a map and a short report show
    model_input: Callable[[torch.Tensor], torch.Tensor]  # stored items, on the device → what a model reads
    hover: Callable[[torch.Tensor], Any]             # items → what a map shows of each: (N, S, S, 3) uint8 tiles
                                                     # of a sprite, or a list of texts
    default_encoder: Callable[[torch.device], str]   # the encoder a task of this kind trains if none is named
    picture: Callable[[torch.Tensor], np.ndarray] | None = None  # one item → an (H, W, 3) uint8 picture
    # what fine-tuning shows the encoder of each labelled batch (model inputs, a generator → the same)
    probe_augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] = lambda items, gen: items

    @property
    def baseline(self) -> str:
        return self.baselines[0].key

    @property
    def baseline_label(self) -> str:
        return self.baselines[0].label


def raw_pixel_features(images: torch.Tensor) -> torch.Tensor:
    """The baseline of no learning at all: the pixels themselves, centred and L2-normalised."""
    flat = images.flatten(1).float() / 255
    return F.normalize(flat - flat.mean(dim=1, keepdim=True), dim=1)


def raw_pixels(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    return raw_pixel_features(dataset.train_items), raw_pixel_features(dataset.test_items)


def image_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 images → floats in [0, 1], channels last (~1.5x faster convolutions on a CPU)."""
    return images.float().div_(255).contiguous(memory_format=torch.channels_last)


def picture(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] or uint8 → (ZOOM·H, ZOOM·W, 3) uint8."""
    array = image.float() / 255 if image.dtype == torch.uint8 else image.float()
    array = (array.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    return array.repeat(ZOOM, axis=0).repeat(ZOOM, axis=1)


def image_thumbnails(images: torch.Tensor) -> np.ndarray:
    """uint8 images (N, 3, S, S) → (N, S, S, 3): a map's hover card and the Projector show each at its own size."""
    return images.permute(0, 2, 3, 1).numpy()


def crop_and_flip(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return random_resized_crop(images, gen, scale=(0.5, 1.0))


def image_encoder(device: torch.device) -> str:
    """A small CNN on a CPU (thousands of images a second on two cores), the papers' ResNet-18 on a GPU."""
    return "resnet18" if device.type == "cuda" else "small_cnn"


def text_encoder(device: torch.device) -> str:
    return "bert_tiny"


def texts(items: torch.Tensor) -> list[str]:
    return [decode(row) for row in items]


TEXT_BASELINES = (Baseline("bag_of_ngrams", "bag of words (1–2-gram TF-IDF)", bag_of_ngrams),
                  Baseline("bag_of_words", "bag of words (unigram TF-IDF)", bag_of_words))


IMAGE = DataKind(name="image", items="images", baselines=(Baseline("raw_pixels", "raw pixels", raw_pixels),),
                 model_input=image_input, hover=image_thumbnails, default_encoder=image_encoder, picture=picture,
                 probe_augment=crop_and_flip)
TEXT = DataKind(name="text", items="texts", baselines=TEXT_BASELINES, model_input=lambda tokens: tokens,
                hover=texts, default_encoder=text_encoder)

KINDS = {kind.name: kind for kind in (IMAGE, TEXT)}
# What tables and plots call each baseline, by its key in results: {"raw_pixels": "raw pixels", ...}
BASELINE_LABELS = {baseline.key: baseline.label for kind in KINDS.values() for baseline in kind.baselines}
