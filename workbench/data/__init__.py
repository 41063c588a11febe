"""Data sets as in-memory uint8 tensors: the built-in Shapes and Digits, or a folder of images.

All data sets come out alike: (N, 3, S, S) uint8 images and int64 labels, split into a training part (what
pretraining and the k-NN memory bank see) and a held-out test part (what k-NN accuracy is measured on). Keeping
them as one tensor lets augmentation run on whole batches on the training device.
"""

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch

from .folder import find_split, load_image_folder
from .shapes import SHAPE_NAMES, generate_shapes

BUILTIN = {
    "shapes": "Shapes — 10 generated shape classes in random colours, sizes, places and backgrounds",
    "digits": "Digits — 1,797 handwritten 8×8 digits from scikit-learn, upscaled",
}


# The joint-embedding views' strengths (fields of tasks.parts.views.ViewParams) that a data set needs beyond the
# papers' defaults, which assume upright photographs. Shapes: every image is one shape with a random tilt,
# colour and place, and those few nuisance values tell one image from the 4,999 others better than its shape
# (500 images share each shape), so two views are matched by them unless the views change them — with the
# papers' views, MoCo, BYOL and SimSiam stayed at chance. Larger crops keep the shape in the view, strong colour
# jitter and many grey views break colour matching, and turns of up to ±180° break tilt matching.
VIEW_PRESETS = {
    "shapes": {"crop_min_scale": 0.5, "color_jitter": 1.0, "grayscale_probability": 0.5, "rotation_degrees": 180.0},
}


class DataError(ValueError):
    """A data set could not be loaded; the message says why and what to do."""


@dataclass
class ImageDataset:
    name: str
    train_images: torch.Tensor  # (N, 3, S, S) uint8
    train_labels: torch.Tensor  # (N,) int64
    test_images: torch.Tensor
    test_labels: torch.Tensor
    class_names: list[str]
    notes: list[str] = field(default_factory=list)  # e.g. files that were skipped

    @property
    def image_size(self) -> int:
        return self.train_images.shape[-1]

    def describe(self) -> str:
        return (f"{self.name}: {len(self.train_images):,} training and {len(self.test_images):,} test images, "
                f"{len(self.class_names)} classes, {self.image_size}×{self.image_size} px")


def load_dataset(spec: str, image_size: int = 32) -> ImageDataset:
    """`spec` is "shapes", "digits" or the path of a folder with one sub-folder of images per class."""
    spec = str(spec).strip()
    if spec.lower() in BUILTIN:
        return _builtin(spec.lower(), image_size)
    return _folder(resolve_data_path(spec), image_size)


def resolve_data_path(spec: str) -> str:
    """A built-in name as it is; a folder as its absolute path, so that a run can be probed from anywhere."""
    if spec.strip().lower() in BUILTIN:
        return spec.strip().lower()
    path = Path(spec.strip()).expanduser()
    if not path.exists():
        raise DataError(f"no data set called {spec!r}: use {' or '.join(BUILTIN)}, or the path of an image folder")
    return str(path.resolve())


@lru_cache(maxsize=4)
def _builtin(name: str, image_size: int) -> ImageDataset:
    if name == "shapes":
        train_x, train_y = generate_shapes(5000, seed=0, image_size=image_size)
        test_x, test_y = generate_shapes(1000, seed=1, image_size=image_size)
        return ImageDataset("shapes", train_x, train_y, test_x, test_y, list(SHAPE_NAMES))
    from sklearn.datasets import load_digits  # ships inside scikit-learn: no download

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16  # (N, 1, 8, 8)
    images = torch.nn.functional.interpolate(images, size=image_size, mode="bilinear", align_corners=False)
    images = (images.clamp(0, 1) * 255).round().to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    labels = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    test, train = order[:360], order[360:]
    return ImageDataset("digits", images[train], labels[train], images[test], labels[test],
                        [str(d) for d in range(10)])


TEST_FRACTION = 0.2  # held out of every class for the k-NN and probes when a folder has no test/ split


@lru_cache(maxsize=4)
def _folder(path: str, image_size: int) -> ImageDataset:
    train_dir, test_dir = find_split(Path(path))
    try:
        images, labels, class_names, notes = load_image_folder(train_dir, image_size)
        if test_dir is not None:
            test_x, test_y, test_classes, test_notes = load_image_folder(test_dir, image_size, class_names)
            test_y = torch.tensor([class_names.index(test_classes[y]) for y in test_y.tolist()])
    except ValueError as error:
        raise DataError(str(error)) from None
    name = Path(path).name
    if test_dir is not None:
        notes = [f"split folders: {train_dir.name}/ for training, {test_dir.name}/ held out for the k-NN and "
                 "probes"] + notes + test_notes
        return ImageDataset(name, images, labels, test_x, test_y, class_names, notes)
    # Hold out a fifth of every class for testing (at least one image where a class has two or more).
    gen = torch.Generator().manual_seed(0)
    test_mask = torch.zeros(len(labels), dtype=torch.bool)
    for c in range(len(class_names)):
        rows = (labels == c).nonzero().flatten()
        rows = rows[torch.randperm(len(rows), generator=gen)]
        test_mask[rows[: int(len(rows) * TEST_FRACTION) or (1 if len(rows) > 1 else 0)]] = True
    notes = [f"no train/ and test/ folders: {TEST_FRACTION:.0%} of every class held out (seed 0) for the k-NN "
             "and probes"] + notes
    return ImageDataset(name, images[~test_mask], labels[~test_mask], images[test_mask], labels[test_mask],
                        class_names, notes)
