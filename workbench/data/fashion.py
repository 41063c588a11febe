"""Fashion-MNIST from Debian's package `dataset-fashion-mnist`, read without a network.

`apt-get install dataset-fashion-mnist` puts the data set's own idx files (gzipped) in FASHION_MNIST_DIR;
when they are there, "fashion_mnist" is a data choice.
"""

import gzip
import json
from pathlib import Path

import numpy as np

from .errors import DataError, shown

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def installed(folder: Path | None = None) -> bool:
    return all(path.is_file() for path in _files(FASHION_MNIST_DIR if folder is None else folder))


def files_version() -> str:
    """The folder and its files' modification times: changes when the package is installed, updated or removed."""
    paths = _files(FASHION_MNIST_DIR)
    return json.dumps([str(FASHION_MNIST_DIR), [path.stat().st_mtime_ns if path.is_file() else 0 for path in paths]])


def _files(folder: Path) -> list[Path]:
    return [folder / name for pair in FILES.values() for name in pair]


def read_idx(path: Path) -> np.ndarray:
    """An idx file (MNIST's format: a magic number giving the type and rank, the sizes, the values), gzipped
    or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError) as error:
        raise DataError(f"could not read {shown(path)}: {shown(error)}") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_TYPES:
        raise DataError(f"{shown(path)} is not an idx file (MNIST's format)")
    rank = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank))
    dtype = np.dtype(IDX_TYPES[data[2]])
    values = np.frombuffer(data, dtype=dtype, offset=4 + 4 * rank)
    if values.size != int(np.prod(shape)):
        raise DataError(f"{shown(path)} is cut short: its header declares {shape} values")
    return values.reshape(shape)


def load_fashion_mnist(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"train": (images (60000, 28, 28) uint8, labels), "test": (…10000…)}."""
    if not installed(folder):
        raise DataError(f"Fashion-MNIST is not installed (no files in {folder}): `apt-get install "
                        "dataset-fashion-mnist`, or point to torchvision's copy with fashion_mnist:ROOT")
    return {split: (read_idx(folder / images), read_idx(folder / labels).astype(np.int64))
            for split, (images, labels) in FILES.items()}
