"""Fashion-MNIST from Debian's files and torchvision's sets from a local root, on tiny fake copies written in the
exact on-disk formats by the tests themselves. Nothing here may reach the network."""

import gzip
import os
import pickle
import socket
import urllib.error

import numpy as np
import pytest
import torch

from workbench.cli import main
from workbench.data.check import check_data, check_markdown
from workbench.data import DataError, available_builtins, fashion, load_dataset, resolve_data_path


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to reach the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)


def _idx(array: np.ndarray) -> bytes:
    """MNIST's idx format: two zero bytes, the type (0x08: uint8), the rank, big-endian sizes, the values."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _digit_like(count: int, side: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, side, side), dtype=np.uint8), np.arange(count, dtype=np.uint8) % 10


def _write_mnist_files(folder, gzipped: bool):
    folder.mkdir(parents=True)
    for split, count in (("train", 30), ("t10k", 20)):
        images, labels = _digit_like(count, 28, seed=count)
        for kind, data in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{split}-{kind}-ubyte"
            if gzipped:
                (folder / f"{name}.gz").write_bytes(gzip.compress(_idx(data)))
            else:
                (folder / name).write_bytes(_idx(data))
    return _digit_like(30, 28, seed=30)


def test_fashion_mnist_from_debian_files_is_a_choice_only_when_present(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion, "FASHION_MNIST_DIR", tmp_path / "fashion-mnist")
    assert "fashion_mnist" not in available_builtins()
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion_mnist")
    train_x, train_y = _write_mnist_files(tmp_path / "fashion-mnist", gzipped=True)
    assert list(available_builtins())[:4] == ["shapes", "painted_shapes", "digits", "fashion_mnist"]
    data = load_dataset("fashion_mnist", image_size=28)
    assert data.train_items.shape == (30, 3, 28, 28) and data.train_items.dtype == torch.uint8
    assert len(data.test_items) == 20 and data.class_names[0] == "T-shirt/top"
    assert torch.equal(data.train_items[:, 1], torch.from_numpy(train_x))  # grey in all three channels, as stored
    assert data.train_labels.tolist() == train_y.tolist()
    assert load_dataset("fashion_mnist").image_size == 32


def _pickle(path, entry):
    with open(path, "wb") as file:
        pickle.dump(entry, file)


def _write_cifar10(root, per_batch=4):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        batches[name] = images
        _pickle(folder / name, {"data": images.reshape(per_batch, -1), "labels": list(range(per_batch))})
    _pickle(folder / "batches.meta", {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                                      "horse", "ship", "truck"]})
    return batches


@pytest.fixture
def unchecked_files(monkeypatch):
    """torchvision checks each file's MD5 against the real data set's; these fakes only need to exist."""
    import torchvision.datasets.cifar
    import torchvision.datasets.stl10
    import torchvision.datasets.svhn

    def exists(path, md5=None):
        return os.path.isfile(path)
    for module in (torchvision.datasets.cifar, torchvision.datasets.stl10, torchvision.datasets.svhn):
        monkeypatch.setattr(module, "check_integrity", exists)


def test_cifar10_from_a_local_root(tmp_path, unchecked_files):
    batches = _write_cifar10(tmp_path)
    data = load_dataset(f"cifar10:{tmp_path}")
    assert data.train_items.shape == (20, 3, 32, 32) and data.test_items.shape == (4, 3, 32, 32)
    assert torch.equal(data.train_items[0], torch.from_numpy(batches["data_batch_1"][0]))  # channels kept apart
    assert data.class_names[3] == "cat" and data.train_labels[:4].tolist() == [0, 1, 2, 3]
    small = load_dataset(f"cifar10:{tmp_path}", image_size=16)  # decoded at the chosen resolution
    assert small.train_items.shape == (20, 3, 16, 16)


def test_cifar100_reads_its_fine_labels(tmp_path, unchecked_files):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, count in (("train", 6), ("test", 3)):
        _pickle(folder / name, {"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
                                "fine_labels": [99 - i for i in range(count)]})
    _pickle(folder / "meta", {"fine_label_names": [f"class{i}" for i in range(100)]})
    data = load_dataset(f"CIFAR-100:{tmp_path}")
    assert len(data.class_names) == 100 and data.train_labels.tolist() == [99, 98, 97, 96, 95, 94]


def test_mnist_from_its_raw_idx_files(tmp_path):
    train_x, _ = _write_mnist_files(tmp_path / "MNIST" / "raw", gzipped=False)
    data = load_dataset(f"mnist:{tmp_path}", image_size=14)
    assert data.train_items.shape == (30, 3, 14, 14) and len(data.test_items) == 20
    assert data.class_names[0].startswith("0")


def test_stl10_pretrains_on_its_unlabelled_split_and_probes_on_the_labelled_ones(tmp_path, unchecked_files):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, count in (("train", 5), ("test", 4), ("unlabeled", 7)):
        rng.integers(0, 256, (count, 3, 96, 96), dtype=np.uint8).tofile(folder / f"{name}_X.bin")
        if name != "unlabeled":
            (np.arange(count, dtype=np.uint8) % 10 + 1).tofile(folder / f"{name}_y.bin")  # stored 1-based
    (folder / "class_names.txt").write_text("\n".join(f"class{i}" for i in range(10)))
    data = load_dataset(f"stl10:{tmp_path}", image_size=24)
    assert data.pretrain_items.shape == (12, 3, 24, 24)  # the 5 labelled training images and 7 unlabelled ones
    assert torch.equal(data.pretrain_items[:5], data.train_items)
    assert data.train_labels.tolist() == [0, 1, 2, 3, 4] and len(data.test_items) == 4
    assert "5 training (12 for pretraining)" in data.describe()
    grey = load_dataset(f"stl10:{tmp_path}", image_size=24, grayscale=True)
    assert torch.equal(grey.pretrain_items[:5], grey.train_items)


def test_svhn_from_its_mat_files(tmp_path, unchecked_files):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    for split, count in (("train", 5), ("test", 3)):
        savemat(tmp_path / f"{split}_32x32.mat", {"X": rng.integers(0, 256, (32, 32, 3, count), dtype=np.uint8),
                                                  "y": np.array([[10], [1], [2], [3], [4]][:count])})
    data = load_dataset(f"svhn:{tmp_path}")
    assert data.train_items.shape == (5, 3, 32, 32) and data.train_labels.tolist() == [0, 1, 2, 3, 4]


def test_a_missing_or_empty_root_says_where_the_files_go(tmp_path):
    with pytest.raises(DataError, match="no folder .*nowhere for CIFAR-10: make it and put cifar-10-batches-py/"):
        load_dataset(f"cifar10:{tmp_path / 'nowhere'}")
    with pytest.raises(DataError, match=r"CIFAR-10 is not in .* put cifar-10-batches-py/ .* \(--download\)"):
        load_dataset(f"cifar10:{tmp_path}")
    report = check_data(f"cifar10:{tmp_path}")
    assert not report["usable"] and report["problem"].startswith("CIFAR-10 is not in")


def test_data_check_reports_a_built_in_or_torchvision_set_by_its_classes(tmp_path, unchecked_files):
    _write_cifar10(tmp_path)
    report = check_data(f"cifar10:{tmp_path}")
    assert report["usable"] and report["images"] == 24 and report["split"] == "its own train/test split"
    assert report["classes"][0] == {"name": "airplane", "train": 5, "test": 1}
    assert "1,797 readable images, labelled" in check_markdown(check_data("digits"))


def test_a_refused_download_is_one_clear_line(tmp_path, monkeypatch, capsys):
    import torchvision.datasets.cifar

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(torchvision.datasets.cifar, "download_and_extract_archive", offline)
    root = tmp_path / "new"
    with pytest.raises(DataError) as refused:
        load_dataset(f"cifar10:{root}", download=True)
    message = str(refused.value)
    assert message.startswith("could not download CIFAR-10") and "no network? put cifar-10-batches-py/" in message
    assert str(root) in message and "\n" not in message

    assert main(["train", "--data", f"cifar10:{root}", "--download", "--out", str(tmp_path / "run")]) == 1
    assert capsys.readouterr().err.strip().startswith("error: could not download CIFAR-10 ([Errno -3] Temporary")


def test_a_torchvision_spec_is_stored_with_an_absolute_root(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve_data_path("cifar10:data") == f"cifar10:{tmp_path / 'data'}"
    assert resolve_data_path("Fashion-MNIST:data") == f"fashion_mnist:{tmp_path / 'data'}"
