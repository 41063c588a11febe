"""Data sets as in-memory uint8 tensors: the built-in Shapes and Digits, Fashion-MNIST where Debian's package
is installed, torchvision's standard sets from a local folder, or a folder of images.

All data sets come out alike: (N, 3, S, S) uint8 images and int64 labels, split into a training part (what
pretraining and the k-NN memory bank see) and a held-out test part (what k-NN accuracy is measured on). Keeping
them as one tensor lets augmentation run on whole batches on the training device.

A data set is named by one string (the page has one data box):

    shapes, painted_shapes, digits     built in (painted_shapes: Shapes with each kind in its own colour)
    fashion_mnist                      built in with Debian's `apt-get install dataset-fashion-mnist`
    cifar10:ROOT                       torchvision's CIFAR-10 files under ROOT; likewise cifar100, stl10, mnist,
                                       fashion_mnist, svhn
    PATH                               a folder: one sub-folder per class, or flat (unlabelled)
"""

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import torch

from . import cache, fashion
from .errors import DataError, shown
from .fashion import load_fashion_mnist
from .folder import UNLABELLED, FolderImages, Listing, decode_listing, find_split, list_folder
from .kinds import IMAGE, DataKind
from .pixels import resize_images, to_grey
from .shapes import SHAPE_NAMES, generate_shapes
from .torchvision_sets import SETS, load_torchvision_set, parse_spec

DEFAULT_DATA = "shapes"
BUILTIN = {
    "shapes": "Shapes — 10 generated shape classes in random colours, sizes, places and backgrounds",
    "painted_shapes": "Painted shapes — the 10 shapes, each kind in its own colour (circles red, rings orange, …), "
                      "as objects in photographs have theirs: colorization's data",
    "digits": "Digits — 1,797 handwritten 8×8 digits from scikit-learn, upscaled",
}
INSTALLABLE = {
    "fashion_mnist": "Fashion-MNIST — 70,000 28×28 grey pictures of clothes, 10 classes (Debian's package)",
}

# The joint-embedding views' strengths (fields of tasks.parts.views.ViewParams) that a data set needs beyond the
# papers' defaults, which assume upright photographs. Shapes: every image is one shape with a random tilt,
# colour and place, and those few nuisance values tell one image from the 4,999 others better than its shape
# (500 images share each shape), so two views are matched by them unless the views change them — with the
# papers' views, MoCo, BYOL and SimSiam stayed at chance. Larger crops keep the shape in the view, strong colour
# jitter and many grey views break colour matching, and turns of up to ±180° break tilt matching.
SHAPES_VIEWS = {"crop_min_scale": 0.5, "color_jitter": 1.0, "grayscale_probability": 0.5, "rotation_degrees": 180.0}
VIEW_PRESETS = {"shapes": SHAPES_VIEWS, "painted_shapes": SHAPES_VIEWS}

IMAGE_SIZES = (8, 512)  # the resolutions a data set can be read at, in pixels
TEST_FRACTION = 0.2     # held out of every class for the k-NN and probes when the data has no test split
UNLABELLED_NOTE = "unlabelled: training, UMAP and retrieval work; probes need labels"


@dataclass
class ImageDataset:
    kind: ClassVar[DataKind] = IMAGE
    name: str
    train_images: torch.Tensor  # (N, 3, S, S) uint8: the k-NN memory bank and the probes' training images
    train_labels: torch.Tensor  # (N,) int64
    test_images: torch.Tensor
    test_labels: torch.Tensor
    class_names: list[str]
    notes: list[str] = dataclasses.field(default_factory=list)  # e.g. files that were skipped, the split used
    labelled: bool = True       # False: a flat folder (labels all 0); k-NN and probes cannot be measured
    # What pretraining sees: the training images unless the set has more without labels (STL-10's unlabelled
    # split, with its labelled training images at the front: train_images is then a view, not a copy).
    pretrain_images: torch.Tensor | None = None

    def __post_init__(self):
        if self.pretrain_images is None:
            self.pretrain_images = self.train_images

    @property
    def image_size(self) -> int:
        return self.train_images.shape[-1]

    def describe(self) -> str:
        pretrain = len(self.pretrain_images)
        extra = f" ({pretrain:,} for pretraining)" if pretrain != len(self.train_images) else ""
        what = f"{len(self.class_names)} classes" if self.labelled else UNLABELLED_NOTE
        return (f"{self.name}: {len(self.train_images):,} training{extra} and {len(self.test_images):,} test "
                f"images, {what}, {self.image_size}×{self.image_size} px")


def available_builtins() -> dict[str, str]:
    """The built-in choices this machine has, Shapes first (the default): {name: description}."""
    return {**BUILTIN, **({"fashion_mnist": INSTALLABLE["fashion_mnist"]} if fashion.installed() else {})}


def check_options(image_size: int, test_fraction: float) -> None:
    """Raise DataError naming a setting that cannot work, with the range that can."""
    low, high = IMAGE_SIZES
    if not isinstance(image_size, int) or not low <= image_size <= high:
        raise DataError(f"image size must be between {low} and {high} pixels, got {image_size!r}")
    if not 0 < test_fraction < 1:
        raise DataError(f"test fraction must be between 0 and 1 (e.g. 0.2: a fifth held out), got {test_fraction!r}")


def load_dataset(spec: str, image_size: int = 32, grayscale: bool = False, test_fraction: float = TEST_FRACTION,
                 download: bool = False) -> ImageDataset:
    """`spec`: a built-in name, "NAME:ROOT" for a torchvision set, or a folder (see the module's docstring).
    `grayscale`: every image in grey (three equal channels); `test_fraction`: held out of every class where
    the data has no test split of its own; `download`: fetch a torchvision set into ROOT if it is not there."""
    check_options(image_size, test_fraction)
    if download:
        _download_if_asked(str(spec))
    resolved = resolve_data_path(spec)
    return _load(resolved, image_size, bool(grayscale), float(test_fraction), _version(resolved))


def resolve_data_path(spec: str) -> str:
    """A built-in name as it is; "NAME:ROOT" and a folder with absolute paths, so that a run can be probed from
    anywhere."""
    spec = str(spec).strip()
    if spec.lower() in BUILTIN or spec.lower() in INSTALLABLE:
        return spec.lower()
    torchvision_set = parse_spec(spec)
    if torchvision_set:
        name, root = torchvision_set
        path = Path(root).expanduser()
        if not path.is_dir():
            raise DataError(f"no folder {shown(root)} for {SETS[name].title}: make it and put {SETS[name].files} "
                            "in it, or ask for a download (--download)")
        return f"{name}:{path.resolve()}"
    path = Path(spec).expanduser()
    if not path.exists():
        raise DataError(f"no data set called {shown(spec)!r}: use {', '.join([*BUILTIN, *INSTALLABLE])}, NAME:ROOT for "
                        f"a torchvision set under ROOT ({', '.join(SETS)}), or the path of an image folder")
    return str(path.resolve())


def run_data_options(config: dict) -> dict:
    """The load_dataset options a run was trained with (its config.json; older runs: the defaults)."""
    return {"image_size": config.get("image_size", 32), "grayscale": config.get("grayscale", False),
            "test_fraction": config.get("test_fraction", TEST_FRACTION)}


def load_run_data(config: dict, data: str | None = None) -> ImageDataset:
    """The data a run was trained on, as it was read — or `data` (transfer) read at the run's resolution."""
    return load_dataset(data or config["data"], **run_data_options(config))


def _download_if_asked(spec: str) -> None:
    torchvision_set = parse_spec(spec)
    if torchvision_set is None:
        raise DataError(f"only torchvision sets ({', '.join(SETS)}) can be downloaded, not {shown(spec)!r}")
    name, root = torchvision_set
    load_torchvision_set(name, Path(root).expanduser().resolve(), IMAGE_SIZES[0], download=True)


def _version(resolved: str) -> str:
    """What changes when the data on disk changes: the in-process cache is keyed on it too, so that a folder
    edited while the page runs is read again."""
    if resolved == "fashion_mnist":
        folder = fashion.FASHION_MNIST_DIR
        return json.dumps([str(folder), [(folder / name).stat().st_mtime_ns if (folder / name).is_file() else 0
                                         for pair in fashion.FILES.values() for name in pair]])
    if resolved in BUILTIN or parse_spec(resolved):
        return ""
    train_dir, test_dir = find_split(Path(resolved)) if Path(resolved).is_dir() else (Path(resolved), None)
    listings = [list_folder(d).signature() for d in (train_dir, test_dir) if d is not None and d.is_dir()]
    return hashlib.sha256(json.dumps(listings).encode("utf-8", "surrogateescape")).hexdigest()


@lru_cache(maxsize=4)
def _load(resolved: str, image_size: int, grayscale: bool, test_fraction: float, version: str) -> ImageDataset:
    if resolved in BUILTIN or resolved in INSTALLABLE:
        dataset = _builtin(resolved, image_size)
    elif parse_spec(resolved):
        name, root = parse_spec(resolved)
        dataset = _torchvision(name, Path(root), image_size)
    else:
        return _folder(Path(resolved), image_size, grayscale, test_fraction)
    if test_fraction != TEST_FRACTION:
        dataset.notes.append(f"its own train/test split is used: the test fraction ({test_fraction:g}) applies to "
                             "folders without one")
    return _grey(dataset) if grayscale else dataset


def _grey(dataset: ImageDataset) -> ImageDataset:
    pretrain = to_grey(dataset.pretrain_images)
    train = pretrain[:len(dataset.train_images)]  # the training images lead the pretraining ones, or are them
    return dataclasses.replace(dataset, train_images=train, test_images=to_grey(dataset.test_images),
                               pretrain_images=pretrain, notes=dataset.notes + ["in grey (three equal channels)"])


def _builtin(name: str, image_size: int) -> ImageDataset:
    if name in ("shapes", "painted_shapes"):
        painted = name == "painted_shapes"
        train_x, train_y = generate_shapes(5000, seed=0, image_size=image_size, painted=painted)
        test_x, test_y = generate_shapes(1000, seed=1, image_size=image_size, painted=painted)
        return ImageDataset(name, train_x, train_y, test_x, test_y, list(SHAPE_NAMES))
    if name == "fashion_mnist":
        splits = load_fashion_mnist(fashion.FASHION_MNIST_DIR)
        (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
        return ImageDataset("fashion_mnist", resize_images(train_x[:, None], image_size), torch.from_numpy(train_y),
                            resize_images(test_x[:, None], image_size), torch.from_numpy(test_y),
                            list(fashion.CLASSES), [f"Fashion-MNIST from {fashion.FASHION_MNIST_DIR}: its own "
                                                    "60,000 / 10,000 train/test split"])
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


def _torchvision(name: str, root: Path, image_size: int) -> ImageDataset:
    splits = load_torchvision_set(name, root, image_size)
    (train_x, train_y), (test_x, test_y) = splits.train, splits.test
    notes = [f"{SETS[name].title} from {shown(root)}: its own train/test split"]
    pretrain = None
    if splits.unlabelled is not None:
        pretrain = torch.cat([train_x, splits.unlabelled])
        train_x = pretrain[:len(train_x)]  # a view: the labelled images are held once
        notes.append(f"pretraining on the {len(splits.unlabelled):,} unlabelled images and the {len(train_y):,} "
                     "labelled training images; the k-NN and probes use the labelled ones")
    return ImageDataset(name, train_x, train_y, test_x, test_y, splits.class_names, notes, pretrain_images=pretrain)


def decode_folder(listing: Listing, image_size: int) -> FolderImages:
    """decode_listing through the disk cache (see `cache`): a folder decoded once is read back at once."""
    key = {"folder": str(listing.root.resolve()), "size": image_size, "classes": listing.class_names,
           "files": listing.signature()}
    stored = cache.load(key)
    if stored is not None:
        arrays, meta = stored
        return FolderImages(torch.from_numpy(arrays["images"]), torch.from_numpy(arrays["labels"]),
                            meta["class_names"], listing.labelled, [tuple(f) for f in meta["formats"]],
                            [tuple(s) for s in meta["skipped"]], listing.notes + meta["notes"])
    decoded = decode_listing(listing, image_size)
    cache.store(key, {"images": decoded.images.numpy(), "labels": decoded.labels.numpy()},
                {"class_names": decoded.class_names, "formats": decoded.formats, "skipped": decoded.skipped,
                 "notes": decoded.notes[len(listing.notes):]})
    return decoded


def read_folder(path: Path, image_size: int) -> tuple[FolderImages, FolderImages | None, tuple[Path, Path | None]]:
    """(training part, held-out part or None, (their folders)) of a folder, decoded: train/ and test/ (or val/)
    when it has them. Raises DataError when the parts do not fit together."""
    train_dir, test_dir = find_split(path)
    train = decode_folder(list_folder(train_dir), image_size)
    if test_dir is None:
        return train, None, (train_dir, None)
    test = decode_folder(list_folder(test_dir, train.class_names if train.labelled else None), image_size)
    if test.labelled != train.labelled:
        raise DataError(f"{shown(train_dir.name)}/ and {shown(test_dir.name)}/ must both hold class sub-folders or "
                        "both hold images directly")
    return train, test, (train_dir, test_dir)


def _folder(path: Path, image_size: int, grayscale: bool, test_fraction: float) -> ImageDataset:
    train, test, (train_dir, test_dir) = read_folder(path, image_size)
    if len(train.images) < 2:
        raise DataError(f"{shown(path)} holds fewer than two readable images ({len(train.skipped)} files skipped"
                        f"{': ' + train.skipped[0][1] if train.skipped else ''})")
    if test is not None:
        if len(test.images) == 0:
            raise DataError(f"{shown(test_dir)} holds no readable images to test on")
        notes = [f"split folders: {shown(train_dir.name)}/ for training, {shown(test_dir.name)}/ held out for the "
                 "k-NN and probes"]
        images, labels = train.images, train.labels
        test_images = test.images
        test_labels = torch.tensor([train.class_names.index(test.class_names[y]) for y in test.labels.tolist()],
                                   dtype=torch.int64)  # the test split's classes as the training split numbers them
    else:
        held_out = _hold_out(train.labels, len(train.class_names), test_fraction)
        if not held_out.any():
            raise DataError(f"no image of {shown(path)} could be held out for testing: every class has a single "
                            f"image ({len(train.class_names)} classes, {len(train.labels)} images) — add images, or "
                            "a test/ folder")
        notes = [f"no train/ and test/ folders: {test_fraction:.0%} of every class held out (seed 0) for the k-NN "
                 "and probes"]
        images, labels = train.images[~held_out], train.labels[~held_out]
        test_images, test_labels = train.images[held_out], train.labels[held_out]
    labelled = train.labelled and len(train.class_names) > 1
    if not train.labelled:
        notes.append(f"a flat folder (no class sub-folders): {UNLABELLED_NOTE} — put each class in a sub-folder of "
                     "its own for labels")
    elif not labelled:
        notes.append(f"one class only ({shown(train.class_names[0])}): read as {UNLABELLED_NOTE} — k-NN and probes "
                     "need at least two classes, each in a sub-folder of its own")
    notes += train.notes + (test.notes if test is not None else [])
    class_names = [shown(name) for name in train.class_names] if labelled else [UNLABELLED]
    if not labelled:
        labels, test_labels = torch.zeros_like(labels), torch.zeros_like(test_labels)
    dataset = ImageDataset(shown(path.name), images, labels, test_images, test_labels, class_names, notes, labelled)
    return _grey(dataset) if grayscale else dataset


def _hold_out(labels: torch.Tensor, classes: int, fraction: float) -> torch.Tensor:
    """A mask of the images held out: `fraction` of every class (at least one where a class has two or more),
    drawn with seed 0."""
    gen = torch.Generator().manual_seed(0)
    test_mask = torch.zeros(len(labels), dtype=torch.bool)
    for c in range(classes):
        rows = (labels == c).nonzero().flatten()
        rows = rows[torch.randperm(len(rows), generator=gen)]
        test_mask[rows[: int(len(rows) * fraction) or (1 if len(rows) > 1 else 0)]] = True
    return test_mask
