import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from workbench.data import DataError, load_dataset
from workbench.data.shapes import SHAPE_NAMES, generate_shapes
from workbench.evaluation import knn_accuracy, raw_pixel_features


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
    accuracy = knn_accuracy(raw_pixel_features(data.train_images), data.train_labels,
                            raw_pixel_features(data.test_images), data.test_labels)
    assert accuracy < 0.3  # 10 classes: chance is 0.1; colour, not shape, decides the neighbours


def test_digits_ship_with_scikit_learn():
    data = load_dataset("digits")
    assert data.train_images.shape[1:] == (3, 32, 32)
    assert len(data.train_images) + len(data.test_images) == 1797
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
    assert len(data.train_images) + len(data.test_images) == 10
    assert data.train_images.shape[1:] == (3, 32, 32)
    assert any("broken.jpg" in note for note in data.notes)
    assert set(data.test_labels.tolist()) == {0, 1}  # every class is held out for testing


@pytest.mark.parametrize("make, message", [
    (lambda root: None, "no sub-folders"),
    (lambda root: (root / "empty").mkdir(), "fewer than two readable images"),
])
def test_unusable_folders_get_a_clear_message(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(DataError, match=message):
        load_dataset(str(tmp_path))


def test_unknown_name_lists_the_choices():
    with pytest.raises(DataError, match="shapes or digits"):
        load_dataset("imagenet-please")


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
    assert len(data.train_images) + len(data.test_images) == 10
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
    assert len(data.train_images) + len(data.test_images) == 10  # the red square was not read
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
    assert (len(data.train_images), len(data.test_images)) == (12, 4)
    assert sorted(data.test_labels.tolist()) == [0, 0, 1, 1]
    assert "train/ for training, test/ held out" in _note_for(data, "split")
