import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from workbench.data import DataError, load_dataset, resolve_data_path
from workbench.data.pixels import rgb_to_lab
from workbench.data.shapes import SHAPE_NAMES, _class_colours, generate_shapes
from workbench.data.kinds import raw_pixel_features
from workbench.evaluation.metrics import knn_accuracy


def test_shapes_are_balanced_uint8_and_reproducible():
    images, labels = generate_shapes(200, seed=3)
    assert images.shape == (200, 3, 32, 32) and images.dtype == torch.uint8
    assert torch.bincount(labels).tolist() == [20] * len(SHAPE_NAMES)
    again, _ = generate_shapes(200, seed=3)
    assert torch.equal(images, again)
    other, _ = generate_shapes(200, seed=4)
    assert not torch.equal(images, other)


def test_every_shape_class_is_drawn_with_a_visible_shape():
    images, labels = generate_shapes(100, seed=0)
    for c in range(len(SHAPE_NAMES)):
        image = images[labels == c][0].float()
        corner = image[:, 0, 0]  # background colours vary smoothly, the shape stands apart
        assert (image - corner[:, None, None]).abs().sum(0).max() > 60


def test_raw_pixels_cannot_tell_shapes_apart():
    data = load_dataset("shapes")
    accuracy = knn_accuracy(raw_pixel_features(data.train_items), data.train_labels,
                            raw_pixel_features(data.test_items), data.test_labels)
    assert accuracy < 0.3  # 10 classes: chance is 0.1; colour, not shape, decides the neighbours


def test_digits_ship_with_scikit_learn():
    data = load_dataset("digits")
    assert data.train_items.shape[1:] == (3, 32, 32)
    assert len(data.train_items) + len(data.test_items) == 1797
    assert data.class_names == [str(d) for d in range(10)]


def _write_folder(root, per_class=5):
    rng = np.random.default_rng(0)
    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")


def test_folder_of_class_subfolders_loads_and_skips_broken_files(tmp_path):
    _write_folder(tmp_path)
    (tmp_path / "dogs" / "broken.jpg").write_bytes(b"not an image")
    data = load_dataset(str(tmp_path))
    assert data.class_names == ["cats", "dogs"]
    assert len(data.train_items) + len(data.test_items) == 10
    assert data.train_items.shape[1:] == (3, 32, 32)
    assert any("broken.jpg" in note for note in data.notes)
    assert set(data.test_labels.tolist()) == {0, 1}  # every class is held out for testing


def _one_image_per_class(root, classes):
    """More classes than images can be split: nothing is left to test on."""
    for name in classes:
        (root / name).mkdir()
        Image.new("RGB", (8, 8)).save(root / name / "only.png")


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SSL_WORKBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.mark.parametrize("make, message", [
    (lambda root: None, "holds no images: put images in it"),
    (lambda root: (root / "empty").mkdir(), "fewer than two readable images"),
    (lambda root: _one_image_per_class(root, "abc"),
     "no image .* could be held out for testing: every class has a single image"),
])
def test_unusable_folders_get_a_clear_message(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(DataError, match=message):
        load_dataset(str(tmp_path))


def test_unknown_name_lists_the_choices():
    with pytest.raises(DataError, match="use shapes, painted_shapes, digits, fashion_mnist, NAME:ROOT .*cifar10"):
        load_dataset("imagenet-please")


@pytest.mark.parametrize("options, message", [
    ({"image_size": 0}, "image size must be between 8 and 512 pixels, got 0"),
    ({"image_size": 100_000}, "between 8 and 512 pixels, got 100000"),
    ({"test_fraction": 0.0}, "test fraction must be between 0 and 1 .*got 0.0"),
    ({"test_fraction": 1.5}, "got 1.5"),
])
def test_absurd_settings_are_refused_naming_the_value_and_the_range(options, message):
    with pytest.raises(DataError, match=message):
        load_dataset("shapes", **options)


def test_resolution_grey_and_test_fraction_are_options(tmp_path):
    _write_folder(tmp_path, per_class=10)
    data = load_dataset(str(tmp_path), image_size=48, grayscale=True, test_fraction=0.5)
    assert data.train_items.shape[1:] == (3, 48, 48)
    assert (len(data.train_items), len(data.test_items)) == (10, 10)
    assert torch.equal(data.train_items[:, 0], data.train_items[:, 2])  # grey: three equal channels
    colour = load_dataset(str(tmp_path), image_size=48)
    assert not torch.equal(colour.train_items[:, 0], colour.train_items[:, 2])
    assert "50% of every class held out" in _note_for(data, "held out")
    digits = load_dataset("digits", test_fraction=0.5)
    assert len(digits.test_items) == 360 and "its own train/test split" in _note_for(digits, "test fraction")


def test_a_flat_folder_is_unlabelled_and_says_what_works(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(10):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(tmp_path / f"{i}.jpg")
    (tmp_path / "thumbnails").mkdir()  # an empty sub-folder does not make it a labelled folder
    data = load_dataset(str(tmp_path))
    assert not data.labelled and data.class_names == ["unlabelled"]
    assert "thumbnails" in _note_for(data, "sub-folder(s) without images")
    assert (len(data.train_items), len(data.test_items)) == (8, 2)
    assert data.train_labels.eq(0).all() and data.test_labels.eq(0).all()
    assert "probes need labels" in _note_for(data, "flat folder") and "probes need labels" in data.describe()


def test_a_single_class_is_read_as_unlabelled_with_a_note(tmp_path):
    _write_folder(tmp_path)
    for file in (tmp_path / "dogs").iterdir():
        file.unlink()
    (tmp_path / "dogs").rmdir()
    data = load_dataset(str(tmp_path))
    assert not data.labelled
    assert "k-NN and probes need at least two classes" in _note_for(data, "one class only (cats)")


def test_a_data_path_is_stored_absolute(tmp_path, monkeypatch):
    _write_folder(tmp_path / "photos")
    monkeypatch.chdir(tmp_path)
    assert resolve_data_path("photos") == str(tmp_path / "photos")
    assert resolve_data_path(" Shapes ") == "shapes"


def _note_for(data, name):
    matches = [note for note in data.notes if name in note]
    assert matches, f"no note mentions {name}: {data.notes}"
    return matches[0]


def test_bad_files_are_skipped_with_reasons_in_words_and_the_rest_loads(tmp_path):
    _write_folder(tmp_path)
    dogs = tmp_path / "dogs"
    (dogs / "notes.png").write_text("this is a text file, not a picture\n")
    (dogs / "empty.jpg").write_bytes(b"")
    png = (dogs / "0.png").read_bytes()
    (dogs / "cut.png").write_bytes(png[: len(png) // 2])
    Image.new("L", (1, 1)).save(dogs / "bomb.png")
    bomb = bytearray((dogs / "bomb.png").read_bytes())
    bomb[16:24] = (100_000).to_bytes(4, "big") * 2  # the header now declares 100,000 × 100,000 pixels
    bomb[29:33] = zlib.crc32(bytes(bomb[12:29])).to_bytes(4, "big")  # with a valid checksum
    (dogs / "bomb.png").write_bytes(bytes(bomb))
    data = load_dataset(str(tmp_path))
    assert len(data.train_items) + len(data.test_items) == 10
    assert "not an image (the file is text)" in _note_for(data, "notes.png")
    assert "empty file" in _note_for(data, "empty.jpg")
    assert "truncated" in _note_for(data, "cut.png")
    assert "too large" in _note_for(data, "bomb.png")


def test_links_out_of_the_folder_are_never_opened_and_hidden_files_are_ignored(tmp_path):
    root = tmp_path / "data"
    _write_folder(root)
    outside = tmp_path / "secret.png"
    Image.new("RGB", (8, 8), "red").save(outside)
    (root / "cats" / "link.png").symlink_to(outside)
    (root / "birds").symlink_to(tmp_path)  # a whole class folder that leads out
    (root / "cats" / "._0.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    (root / "cats" / ".DS_Store").write_bytes(b"\x00")
    data = load_dataset(str(root))
    assert data.class_names == ["cats", "dogs"]
    assert len(data.train_items) + len(data.test_items) == 10  # the red square was not read
    assert "leads outside" in _note_for(data, "link.png") and "leads outside" in _note_for(data, "birds")
    assert not any("._0.png" in note or "DS_Store" in note for note in data.notes)


def test_a_stray_image_at_the_top_is_mentioned_and_the_split_is_said(tmp_path):
    _write_folder(tmp_path)
    Image.new("RGB", (8, 8)).save(tmp_path / "stray.png")
    data = load_dataset(str(tmp_path))
    assert "sub-folder" in _note_for(data, "stray.png")
    assert "20% of every class held out" in _note_for(data, "held out")


def test_train_and_test_folders_are_a_split_not_two_classes(tmp_path):
    _write_folder(tmp_path / "train", per_class=6)
    _write_folder(tmp_path / "test", per_class=2)
    data = load_dataset(str(tmp_path))
    assert data.class_names == ["cats", "dogs"]
    assert (len(data.train_items), len(data.test_items)) == (12, 4)
    assert sorted(data.test_labels.tolist()) == [0, 0, 1, 1]
    assert "train/ for training, test/ held out" in _note_for(data, "split")


def test_painted_shapes_wear_their_kind_s_hue_at_a_lightness_that_does_not_tell_the_kind():
    labels = torch.arange(5000) % len(SHAPE_NAMES)
    lab = rgb_to_lab(_class_colours(labels, torch.Generator().manual_seed(0))[:, :, None, None].double())[:, :, 0, 0]
    hue = torch.rad2deg(torch.atan2(lab[:, 2], lab[:, 1]))
    off = torch.remainder(hue - labels * 36.0 + 180, 360) - 180
    assert off.abs().max() < 11  # each kind within ±10° of its own hue
    lightness = torch.stack([lab[labels == c, 0].mean() for c in range(len(SHAPE_NAMES))])
    assert lightness.max() - lightness.min() < 3  # of L* 35-80: drawn alike for every kind


def test_painted_shapes_are_shapes_in_their_kind_s_colour():
    shapes, painted = load_dataset("shapes"), load_dataset("painted_shapes")
    assert torch.equal(shapes.train_labels, painted.train_labels) and painted.class_names == shapes.class_names

    def raw_knn(data):
        return knn_accuracy(raw_pixel_features(data.train_items), data.train_labels,
                            raw_pixel_features(data.test_items), data.test_labels)

    assert raw_knn(painted) > raw_knn(shapes) + 0.2  # colour now follows the kind
