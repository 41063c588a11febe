"""Data sets held in memory: images as uint8 tensors — the built-in Shapes and Digits, Fashion-MNIST where
Debian's package is installed, torchvision's standard sets from a local folder, or a folder of images — and
texts as token ids — the built-in Roles stories, Debian's fortunes, or a text file or folder of your own.

All data sets come out alike: items ((N, 3, S, S) uint8 images, or (N, T) int64 tokens) and int64 labels, split
into a training part (what pretraining and the k-NN memory bank see) and a held-out test part (what k-NN accuracy
is measured on). Keeping them as one tensor lets augmentation run on whole batches on the training device.

A data set is named by one string (the page has one data box):

    shapes, painted_shapes, digits     built in (painted_shapes: Shapes with each kind in its own colour)
    fashion_mnist                      built in with Debian's `apt-get install dataset-fashion-mnist`
    cifar10:ROOT                       torchvision's CIFAR-10 files under ROOT; likewise cifar100, stl10, mnist,
                                       fashion_mnist, svhn
    roles                              text, built in: generated stories labelled by who did what to whom
    fortunes                           text, built in with Debian's `apt-get install fortunes fortunes-min`
    PATH                               a folder of images: one sub-folder per class, or flat (unlabelled); a
                                       folder of .txt files, alike; or a text file: plain (.txt, any text),
                                       .csv, .tsv or .jsonl with a text and a label column (see text/files.py)
A folder is read as the kind of file its class sub-folders hold (or, flat, the folder itself): images or .txt
files, never both. Resolution and grey apply to images; texts ignore them.
"""

from functools import lru_cache
from pathlib import Path

from .builtin import (DEFAULT_DATA, GENERATED, ORDER, TEXT_BUILTINS, VIEW_PRESETS, available_builtins,
                      builtin_version, is_builtin, load_builtin)
from .dataset import ImageDataset, in_grey
from .errors import DataError, shown
from .folder import IMAGE_SUFFIXES, find_split
from .folder_dataset import folder_version, load_folder
from .text.dataset import TextDataset
from .text.files import TEXT_SUFFIX, load_text_source, text_version
from .torchvision_sets import SETS, load_torchvision_set, parse_spec, resolve_root, torchvision_dataset

__all__ = ["DEFAULT_DATA", "IMAGE_SIZES", "TEST_FRACTION", "VIEW_PRESETS", "DataError", "ImageDataset",
           "TextDataset", "available_builtins", "check_options", "is_generated", "load_dataset", "load_run_data",
           "resolve_data_path", "run_data_options", "source_kind"]

IMAGE_SIZES = (8, 512)  # the resolutions a data set can be read at, in pixels
TEST_FRACTION = 0.2     # held out of every class for the k-NN and probes when the data has no test split


def check_options(image_size: int, test_fraction: float) -> None:
    """Raise DataError naming a setting that cannot work, with the range that can."""
    low, high = IMAGE_SIZES
    if not isinstance(image_size, int) or not low <= image_size <= high:
        raise DataError(f"image size must be between {low} and {high} pixels, got {image_size!r}")
    _check_test_fraction(test_fraction)


def _check_test_fraction(test_fraction: float) -> None:
    if not 0 < test_fraction < 1:
        raise DataError(f"test fraction must be between 0 and 1 (e.g. 0.2: a fifth held out), got {test_fraction!r}")


def load_dataset(spec: str, image_size: int = 32, grayscale: bool = False, test_fraction: float = TEST_FRACTION,
                 download: bool = False) -> ImageDataset | TextDataset:
    """`spec`: a built-in name, "NAME:ROOT" for a torchvision set, a folder or a text file (see the module's
    docstring). `image_size`, `grayscale` (images only): the resolution, every image in grey (three equal
    channels); `test_fraction`: held out of every class (of a plain text file: its end) where the data has no
    test split of its own; `download`: fetch a torchvision set into ROOT if it is not there."""
    _check_test_fraction(test_fraction)
    if download:
        _download_if_asked(str(spec))
    resolved = resolve_data_path(spec)
    kind = source_kind(resolved)
    if kind == "text":  # one cache entry whatever the image options say
        return _load(resolved, kind, 0, False, float(test_fraction), _version(resolved, kind))
    check_options(image_size, test_fraction)
    return _load(resolved, kind, image_size, bool(grayscale), float(test_fraction), _version(resolved, kind))


def source_kind(resolved: str) -> str:
    """"image" or "text": what a resolved spec holds. A file is text (an image alone is no data set: the text
    reader says what it is); a folder is what its class sub-folders hold — or, flat, what it holds itself — so
    that a README.txt beside the class folders of images does not count."""
    if is_builtin(resolved):
        return "text" if resolved in TEXT_BUILTINS else "image"
    path = Path(resolved)
    if parse_spec(resolved) or not path.exists():
        return "image"
    if path.is_file():
        return "text"
    root = find_split(path)[0]
    top = {file.suffix.lower() for file in root.iterdir() if file.is_file() and not file.name.startswith(".")}
    below = {file.suffix.lower() for folder in root.iterdir() if folder.is_dir() and not folder.name.startswith(".")
             for file in folder.rglob("*") if not file.name.startswith(".")}
    suffixes = below if below & (IMAGE_SUFFIXES | {TEXT_SUFFIX}) else top
    if suffixes & IMAGE_SUFFIXES and TEXT_SUFFIX in suffixes:
        where = "in its class sub-folders" if suffixes is below else "side by side"
        raise DataError(f"{shown(path)} holds both images and .txt files {where}: a data set is one or the other "
                        "— move one kind into a folder of its own")
    others = sorted(suffixes - IMAGE_SUFFIXES - {TEXT_SUFFIX, ""})
    if not suffixes & (IMAGE_SUFFIXES | {TEXT_SUFFIX}) and others:
        raise DataError(f"{shown(path)} holds neither images nor .txt files (it holds {', '.join(others[:5])} "
                        "files): put images in it, or .txt files for text — one sub-folder of them per class")
    return "text" if TEXT_SUFFIX in suffixes else "image"


def is_generated(spec: str) -> bool:
    """Whether a data set is drawn by a program (Shapes, Roles), not taken from the world (`GENERATED`)."""
    return str(spec).strip().lower() in GENERATED


def resolve_data_path(spec: str) -> str:
    """A built-in name as it is; "NAME:ROOT" and a folder with absolute paths, so that a run can be probed from
    anywhere."""
    spec = str(spec).strip()
    if is_builtin(spec.lower()):
        return spec.lower()
    torchvision_set = parse_spec(spec)
    if torchvision_set:
        return resolve_root(*torchvision_set)
    path = Path(spec).expanduser()
    if not path.exists():
        images = [name for name in ORDER if name not in TEXT_BUILTINS]
        raise DataError(f"no data set called {shown(spec)!r}: use {', '.join(images)}, NAME:ROOT for a torchvision "
                        f"set under ROOT ({', '.join(SETS)}) or the path of an image folder; for text "
                        f"{', '.join(TEXT_BUILTINS)}, the path of a text file (.txt, .csv, .jsonl) or of a folder of "
                        ".txt files")
    return str(path.resolve())


def run_data_options(config: dict) -> dict:
    """The load_dataset options a run was trained with (its config.json; older runs: the defaults)."""
    return {"image_size": config.get("image_size", 32), "grayscale": config.get("grayscale", False),
            "test_fraction": config.get("test_fraction", TEST_FRACTION)}


def load_run_data(config: dict, data: str | None = None) -> ImageDataset | TextDataset:
    """The data a run was trained on, as it was read — or `data` (transfer) read at the run's resolution."""
    return load_dataset(data or config["data"], **run_data_options(config))


def _download_if_asked(spec: str) -> None:
    torchvision_set = parse_spec(spec)
    if torchvision_set is None:
        raise DataError(f"only torchvision sets ({', '.join(SETS)}) can be downloaded, not {shown(spec)!r}")
    name, root = torchvision_set
    load_torchvision_set(name, Path(root).expanduser().resolve(), IMAGE_SIZES[0], download=True)


def _version(resolved: str, kind: str) -> str:
    """What changes when the data on disk changes: the in-process cache is keyed on it too, so that data changed
    while the page runs is read again."""
    if is_builtin(resolved):
        return builtin_version(resolved)
    if parse_spec(resolved):
        return ""
    return text_version(Path(resolved)) if kind == "text" else folder_version(Path(resolved))


@lru_cache(maxsize=4)
def _load(resolved: str, kind: str, image_size: int, grayscale: bool, test_fraction: float,
          version: str) -> ImageDataset | TextDataset:
    """The data set that `resolved` names, read from its source: built in, torchvision's, a folder or a file."""
    torchvision_set = parse_spec(resolved)
    if is_builtin(resolved):
        dataset = _with_own_split(load_builtin(resolved, image_size), test_fraction)
    elif torchvision_set:
        name, root = torchvision_set
        dataset = _with_own_split(torchvision_dataset(name, Path(root), image_size), test_fraction)
    elif kind == "text":
        dataset = load_text_source(Path(resolved), test_fraction)
    else:
        dataset = load_folder(Path(resolved), image_size, test_fraction)
    return in_grey(dataset) if grayscale else dataset


def _with_own_split(dataset: ImageDataset | TextDataset, test_fraction: float) -> ImageDataset | TextDataset:
    """A set that brings its own split, with a note when it was asked for a test fraction it does not use."""
    if test_fraction != TEST_FRACTION:
        dataset.notes.append(f"its own train/test split is used: the test fraction ({test_fraction:g}) applies to "
                             "folders without one")
    return dataset
