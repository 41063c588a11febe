"""What kind of item a data set carries, and what differs between kinds.

A data set and a pretext task each say their kind (`ImageDataset.kind`, `PretextTask.kind`); the engine, the
probes, the maps and the page ask the kind how to show an item, what the no-learning baseline is and which
encoder to train when the user names none — none of them branches on the kind. Images are the one kind today;
text adds a second beside it (its items drawn as text, a bag-of-words baseline, a small transformer).
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

ZOOM = 4  # 32-pixel images are shown 4x larger, pixels kept sharp


@dataclass(frozen=True)
class DataKind:
    name: str                                        # "image"
    items: str                                       # the word for the items in messages: "images"
    baseline: str                                    # key of the no-learning baseline in results: "raw_pixels"
    baseline_label: str                              # its name in tables and plots: "raw pixels"
    baseline_features: Callable[[torch.Tensor], torch.Tensor]  # items → (N, D) L2-normalised features
    picture: Callable[[torch.Tensor], np.ndarray]    # one item → an (H, W, 3) uint8 picture to show
    thumbnails: Callable[[torch.Tensor], np.ndarray]  # items → (N, S, S, 3) uint8 tiles of a map's sprite
    default_encoder: Callable[[torch.device], str]   # the encoder a task of this kind trains if none is named


def raw_pixel_features(images: torch.Tensor) -> torch.Tensor:
    """The baseline of no learning at all: the pixels themselves, centred and L2-normalised."""
    flat = images.flatten(1).float() / 255
    return F.normalize(flat - flat.mean(dim=1, keepdim=True), dim=1)


def picture(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] or uint8 → (ZOOM·H, ZOOM·W, 3) uint8."""
    array = image.float() / 255 if image.dtype == torch.uint8 else image.float()
    array = (array.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    return array.repeat(ZOOM, axis=0).repeat(ZOOM, axis=1)


def image_thumbnails(images: torch.Tensor) -> np.ndarray:
    """uint8 images (N, 3, S, S) → (N, S, S, 3): a map's hover card and the Projector show each at its own size."""
    return images.permute(0, 2, 3, 1).numpy()


def image_encoder(device: torch.device) -> str:
    """A small CNN on a CPU (thousands of images a second on two cores), the papers' ResNet-18 on a GPU."""
    return "resnet18" if device.type == "cuda" else "small_cnn"


IMAGE = DataKind(name="image", items="images", baseline="raw_pixels", baseline_label="raw pixels",
                 baseline_features=raw_pixel_features, picture=picture, thumbnails=image_thumbnails,
                 default_encoder=image_encoder)

KINDS = {kind.name: kind for kind in (IMAGE,)}
# What tables and plots call each kind's baseline, by its key in results: {"raw_pixels": "raw pixels"}
BASELINE_LABELS = {kind.baseline: kind.baseline_label for kind in KINDS.values()}
