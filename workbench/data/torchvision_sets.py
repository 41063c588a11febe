"""Standard data sets read with torchvision.datasets from a local folder: the spec "NAME:ROOT".

Nothing is downloaded unless asked for (`load_dataset(..., download=True)`, `train --download`); where the
network refuses, the message says where to put the files by hand. Images are resized to the chosen resolution
a slice at a time; STL-10's 100,000 unlabelled images are read from a memory-mapped file, never all at 96 px.
"""

import http.client
import urllib.error
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .dataset import ImageDataset
from .errors import DataError, shown
from .pixels import resize_images


@dataclass(frozen=True)
class Source:
    title: str
    files: str  # what torchvision reads under ROOT
    url: str    # where those files come from


SETS = {
    "cifar10": Source("CIFAR-10", "cifar-10-batches-py/ (data_batch_1 … data_batch_5, test_batch, batches.meta)",
                      "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
    "cifar100": Source("CIFAR-100", "cifar-100-python/ (train, test, meta)",
                       "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"),
    "stl10": Source("STL-10", "stl10_binary/ (train_X.bin, train_y.bin, test_X.bin, test_y.bin, unlabeled_X.bin, "
                              "class_names.txt)", "https://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz"),
    "mnist": Source("MNIST", "MNIST/raw/ (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                             "t10k-labels-idx1-ubyte, unpacked)", "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    "fashion_mnist": Source("Fashion-MNIST", "FashionMNIST/raw/ (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                                             "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, unpacked)",
                            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
    "svhn": Source("SVHN", "train_32x32.mat and test_32x32.mat", "http://ufldl.stanford.edu/housenumbers/"),
}
NETWORK_ERRORS = (OSError, RuntimeError, http.client.HTTPException)  # URLError and timeouts are OSErrors


def parse_spec(spec: str) -> tuple[str, str] | None:
    """("cifar10", "ROOT") for "cifar10:ROOT" (or "CIFAR-10:ROOT"); None when `spec` names no such set."""
    name, sep, root = spec.partition(":")
    name = name.strip().lower().replace("-", "")
    name = {"fashionmnist": "fashion_mnist"}.get(name, name)
    return (name, root.strip()) if sep and name in SETS and root.strip() else None


def resolve_root(name: str, root: str) -> str:
    """"NAME:ROOT" with ROOT absolute, so that a run can be probed from anywhere; DataError when there is no
    such folder."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DataError(f"no folder {shown(root)} for {SETS[name].title}: make it and put {SETS[name].files} "
                        "in it, or ask for a download (--download)")
    return f"{name}:{path.resolve()}"


@dataclass
class Splits:
    train: tuple[torch.Tensor, torch.Tensor]  # (images (N, 3, S, S) uint8, labels)
    test: tuple[torch.Tensor, torch.Tensor]
    unlabelled: torch.Tensor | None            # images for pretraining only
    class_names: list[str]


def load_torchvision_set(name: str, root: Path, size: int, download: bool = False) -> Splits:
    """The set's own train and test splits (STL-10: and its unlabelled split) at `size` pixels."""
    import torchvision.datasets as tv  # imported here: only these sets need it, and it takes a while

    source = SETS[name]
    classes = {"cifar10": tv.CIFAR10, "cifar100": tv.CIFAR100, "mnist": tv.MNIST, "fashion_mnist": tv.FashionMNIST}
    if download:
        _download(name, root)
    try:
        if name in classes:
            train, test = classes[name](root, train=True), classes[name](root, train=False)
            names = list(train.classes)
        elif name == "svhn":
            train, test = tv.SVHN(root, split="train"), tv.SVHN(root, split="test")
            names = [str(digit) for digit in range(10)]
        else:
            train, test = tv.STL10(root, split="train"), tv.STL10(root, split="test")
            names = list(train.classes)
    except RuntimeError:  # torchvision's "Dataset not found or corrupted. You can use download=True …"
        raise DataError(f"{source.title} is not in {shown(root)}, or its files are damaged: put {source.files} "
                        f"there (from {source.url}), or ask for a download (--download)") from None
    unlabelled = None
    if name == "stl10":
        stored = np.memmap(root / "stl10_binary" / "unlabeled_X.bin", dtype=np.uint8, mode="r")
        unlabelled = resize_images(stored.reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2), size)  # stored column-major
    return Splits(_split(train, size), _split(test, size), unlabelled, names)


def torchvision_dataset(name: str, root: Path, image_size: int) -> ImageDataset:
    """The set under `root` as a data set: its own split, and STL-10's unlabelled images for pretraining."""
    splits = load_torchvision_set(name, root, image_size)
    (train_x, train_y), (test_x, test_y) = splits.train, splits.test
    notes = [f"{SETS[name].title} from {shown(root)}: its own train/test split"]
    pretrain = None
    if splits.unlabelled is not None:
        pretrain = torch.cat([train_x, splits.unlabelled])
        train_x = pretrain[:len(train_x)]  # a view: the labelled images are held once
        notes.append(f"pretraining on the {len(splits.unlabelled):,} unlabelled images and the {len(train_y):,} "
                     "labelled training images; the k-NN and probes use the labelled ones")
    return ImageDataset(name, train_x, train_y, test_x, test_y, splits.class_names, notes, pretrain_items=pretrain)


def _split(dataset, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    images = np.asarray(dataset.data)
    if images.ndim == 3:           # MNIST-like: (N, H, W) grey
        images = images[:, None]
    elif images.shape[-1] == 3:    # CIFAR: (N, H, W, 3)
        images = images.transpose(0, 3, 1, 2)
    labels = getattr(dataset, "targets", None)
    labels = dataset.labels if labels is None else labels
    return resize_images(images, size), torch.as_tensor(np.asarray(labels), dtype=torch.int64)


def _download(name: str, root: Path) -> None:
    import torchvision.datasets as tv

    source = SETS[name]
    fetchers = {"cifar10": lambda: tv.CIFAR10(root, download=True),
                "cifar100": lambda: tv.CIFAR100(root, download=True),
                "mnist": lambda: [tv.MNIST(root, train=split, download=True) for split in (True, False)],
                "fashion_mnist": lambda: [tv.FashionMNIST(root, train=split, download=True) for split in (True, False)],
                "svhn": lambda: [tv.SVHN(root, split=split, download=True) for split in ("train", "test")],
                "stl10": lambda: tv.STL10(root, split="unlabeled", download=True)}
    try:
        root.mkdir(parents=True, exist_ok=True)
        fetchers[name]()
    except NETWORK_ERRORS as error:
        raise DataError(f"could not download {source.title} ({_one_line(error)}): no network? put {source.files} "
                        f"under {shown(root)} by hand (from {source.url})") from None


def _one_line(error: Exception) -> str:
    """The error in one line; a refused connection by its reason, without urllib's "<urlopen error …>"."""
    return " ".join(shown(error.reason if isinstance(error, urllib.error.URLError) else error).split())
