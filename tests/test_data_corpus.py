"""Bad input, generated here (no binary fixtures): every file gets a reason in words, the rest still loads —
through the loader, `data check`, the disk cache, the engine and the command line's `train`."""

import json
import math
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import workbench.data
from workbench.cli import main
from workbench.data import DataError, folder, load_dataset, load_run_data
from workbench.data.check import check_folder, check_markdown
from workbench.data.folder import read_image
from workbench.inspection.probe_run import probe_run
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig

ODD_NAME = os.fsdecode(b"caf\xe9.png")   # Latin-1 bytes: not UTF-8, as an old camera or zip may write them
ODD_BROKEN = os.fsdecode(b"bad\xff.jpg")


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SSL_WORKBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))


def _declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width × height pixels, with a valid checksum."""
    from io import BytesIO

    out = BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    png = bytearray(out.getvalue())
    png[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    png[29:33] = zlib.crc32(bytes(png[12:29])).to_bytes(4, "big")
    return bytes(png)


def _good(folder: Path, count: int, seed: int):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (36, 40, 3), dtype=np.uint8)).save(folder / f"{i}.png")


def _modes(folder: Path):
    """The modes a camera, a scanner or an editor may write, each of which must load."""
    Image.new("CMYK", (30, 30), (0, 255, 255, 0)).save(folder / "cmyk.jpg")  # no cyan, full magenta+yellow: red
    Image.fromarray(np.full((30, 30), 40000, dtype=np.uint16)).save(folder / "sixteen.png")
    palette = Image.new("P", (30, 30), 1)
    palette.putpalette([0, 0, 0, 0, 128, 255] + [0] * 762)
    palette.save(folder / "palette.png")
    Image.new("RGBA", (30, 30), (255, 0, 0, 0)).save(folder / "alpha.png")  # wholly transparent
    Image.new("LA", (30, 30), (10, 255)).save(folder / "grey_alpha.png")   # wholly opaque, dark


def make_corpus(root: Path, outside: Path) -> dict[str, str]:
    """A labelled folder holding every kind of bad input; returns {file: what its skip reason must say}."""
    _good(root / "circles", 10, seed=0)
    _good(root / "squares", 10, seed=1)
    circles = root / "circles"
    _modes(circles)
    Image.new("RGB", (30, 30), "blue").save(circles / ODD_NAME)
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)).save(
        root / "squares" / "large_photo.jpg", quality=50)
    bad = {"notes.png": "not an image (the file is text)", "empty.jpg": "empty file", "cut.png": "truncated",
           "bomb.png": "too large: it declares 10,000,000,000 pixels", "huge.png": "too large: it declares 144,000,000",
           "garbage.webp": "not an image (an unknown or damaged format)", ODD_BROKEN: "not an image"}
    (circles / "notes.png").write_text("this is a text file, not a picture\n")
    (circles / "empty.jpg").write_bytes(b"")
    whole = (circles / "0.png").read_bytes()
    (circles / "cut.png").write_bytes(whole[: len(whole) // 2])
    (circles / "bomb.png").write_bytes(_declaring(100_000, 100_000))
    (circles / "huge.png").write_bytes(_declaring(12_000, 12_000))
    (circles / "garbage.webp").write_bytes(bytes(range(256)) * 4)
    (circles / ODD_BROKEN).write_bytes(b"\xff\xfe not a jpeg")
    outside.mkdir()
    Image.new("RGB", (8, 8), "red").save(outside / "secret.png")
    (circles / "link.png").symlink_to(outside / "secret.png")
    (root / "elsewhere").symlink_to(outside)
    (root / "nothing_here").mkdir()
    (circles / "._0.png").write_bytes(b"\x00\x05\x16\x07 macOS companion file")
    Image.new("RGB", (8, 8)).save(root / "stray.png")
    return bad


READABLE = 10 + 10 + 5 + 1 + 1  # good images, the five modes, the odd name, the large photo


def _shown(name: str) -> str:
    return os.fsencode(name).decode("utf-8", "replace")


def test_every_bad_input_gets_a_reason_in_words_and_the_rest_loads(tmp_path):
    bad = make_corpus(tmp_path / "data", tmp_path / "outside")
    data = load_dataset(str(tmp_path / "data"))
    assert data.class_names == ["circles", "squares"]
    assert len(data.train_items) + len(data.test_items) == READABLE  # nothing outside was read
    for name, reason in bad.items():
        note = next((n for n in data.notes if f"circles/{_shown(name)}:" in n), None)
        assert note is not None and reason in note, (name, data.notes)
    assert any("link.png: a link that leads outside" in n for n in data.notes)
    assert any("elsewhere/: a link that leads outside" in n for n in data.notes)
    assert any("class 'nothing_here': no readable images" in n for n in data.notes)
    assert any("stray.png" in n and "sub-folder named after their class" in n for n in data.notes)
    assert not any("._0.png" in n for n in data.notes)
    "\n".join(data.notes).encode("utf-8")  # printable: odd bytes became "�"


@pytest.mark.parametrize("name, expected", [
    ("cmyk.jpg", (255, 0, 0)),        # converted, not read as RGB plus junk
    ("sixteen.png", (156, 156, 156)),  # 40000 / 65535 of white, not clipped to white
    ("palette.png", (0, 128, 255)),    # the palette's colour, not its index
    ("alpha.png", (255, 255, 255)),    # transparent: shown over white, not the hidden red
    ("grey_alpha.png", (10, 10, 10)),
])
def test_every_mode_is_read_as_it_looks(tmp_path, name, expected):
    _modes(tmp_path)
    pixels, size, _ = read_image(tmp_path / name, 8)
    assert pixels.shape == (8, 8, 3) and size == (30, 30)
    assert np.abs(pixels.reshape(-1, 3).astype(int) - expected).max() <= 2


def test_data_check_reports_classes_split_sizes_modes_and_every_skip(tmp_path, capsys):
    bad = make_corpus(tmp_path / "data", tmp_path / "outside")
    report = check_folder(tmp_path / "data")
    assert report["usable"] and report["labelled"] and report["images"] == READABLE
    assert [c["name"] for c in report["classes"]] == ["circles", "squares"]
    assert sum(c["train"] + c["test"] for c in report["classes"]) == READABLE
    assert report["split"] == "20% of every class held out (seed 0)"
    assert {"RGB", "CMYK", "I;16", "P", "RGBA", "LA"} <= set(report["modes"])
    assert report["sizes"]["largest"] == "4000×3000" and report["sizes"]["smallest"] == "30×30"
    reasons = {skip["file"]: skip["reason"] for skip in report["skipped"]}
    assert set(reasons) == {f"circles/{_shown(name)}" for name in bad}
    markdown = check_markdown(report)
    assert "| circles |" in markdown and "16-bit grey, scaled to 8 bits" in markdown
    assert f"`circles/{_shown(ODD_BROKEN)}`: not an image" in markdown
    assert any("leads outside" in note for note in report["notes"])

    assert main(["data", "check", str(tmp_path / "data"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == report["skipped"]
    assert main(["data", "check", str(tmp_path / "data" / "nothing_here")]) == 1
    assert "Cannot be used:** " in capsys.readouterr().out


def test_a_second_load_reads_the_disk_cache_and_a_changed_file_is_read_again(tmp_path, monkeypatch):
    _good(tmp_path / "a", 4, seed=0)
    _good(tmp_path / "b", 4, seed=1)
    decoded = []

    def counting(path, size):
        decoded.append(path.name)
        return read_image(path, size)
    monkeypatch.setattr(folder, "read_image", counting)
    first = load_dataset(str(tmp_path))
    assert len(decoded) == 8
    workbench.data._load.cache_clear()  # a new process: only the disk cache is left
    again = load_dataset(str(tmp_path))
    assert len(decoded) == 8 and torch.equal(first.train_items, again.train_items)
    Image.new("RGB", (36, 40), "white").save(tmp_path / "a" / "0.png")
    changed = load_dataset(str(tmp_path))
    assert len(decoded) == 16
    assert not torch.equal(torch.cat([first.train_items, first.test_items]),
                           torch.cat([changed.train_items, changed.test_items]))


def test_an_unlabelled_run_trains_without_knn_and_probes_ask_for_labels(tmp_path):
    (tmp_path / "photos").mkdir()
    for i, image in enumerate(load_dataset("shapes").train_items[:60]):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(tmp_path / "photos" / f"{i}.png")
    run = TrainingRun(TrainConfig(data=str(tmp_path / "photos"), task="rotation", epochs=1, batch_size=16,
                                  device="cpu", image_size=24), tmp_path / "run")
    status = run.run()
    assert status.state == "finished", status.message
    assert all(math.isnan(e["knn_top1"]) and e["feature_spread"] > 0 for e in status.evals)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["image_size"], config["grayscale"], config["test_fraction"]) == (24, False, 0.2)
    assert load_run_data(config).image_size == 24
    with pytest.raises(DataError, match="probes need labels"):
        probe_run(tmp_path / "run")


def test_the_command_line_trains_on_the_corpus_and_prints_every_skip(tmp_path):
    bad = make_corpus(tmp_path / "data", tmp_path / "outside")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SSL_WORKBENCH_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "workbench", "train", "--data", str(tmp_path / "data"), "--task",
                           "rotation", "--epochs", "1", "--batch-size", "16", "--out", str(tmp_path / "run")],
                          capture_output=True, env=env, timeout=300)
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, err
    assert "finished" in err and "20% of every class held out" in err
    for name, reason in bad.items():
        assert f"skipped circles/{_shown(name)}: {reason}" in err


def test_absurd_settings_on_the_command_line_are_one_line(tmp_path, capsys):
    assert main(["train", "--data", "shapes", "--image-size", "0", "--out", str(tmp_path / "run")]) == 1
    assert capsys.readouterr().err.strip() == "error: image size must be between 8 and 512 pixels, got 0"
