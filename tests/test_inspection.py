"""Inspecting a run: k-NN report, linear probe, fine-tuning, the label-efficiency table, transfer, UMAP maps,
export."""

import base64
import io
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from small_data import shapes_folder

from workbench.engine.checkpoints import load_task
from workbench.data import load_dataset
from workbench.inspection.maps import MapSettings, map_run
from workbench.inspection.evolution import evolution
from workbench.inspection.export import FORMATS, export_run
from workbench.inspection.mapview import map_document
from workbench.models import create_encoder, seeded
from workbench.inspection.plots import evolution_figure, umap_figure
from workbench.evaluation.probes import FineTuning, knn_report, label_efficiency, linear_probe
from workbench.inspection.probe_run import label_efficiency_of_run
from workbench.inspection.report import label_efficiency_rows, probe_markdown
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig


def blobs(n=300, classes=3, dim=8, seed=0):
    """Features that are one class centre each plus noise: any probe should read the class off them."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % classes
    features = torch.eye(classes, dim)[labels] * 3 + torch.randn(n, dim, generator=gen) * 0.5
    return torch.nn.functional.normalize(features, dim=1), labels


def test_linear_probe_reads_separable_classes_and_not_shuffled_labels():
    (train_x, train_y), (test_x, test_y) = blobs(seed=0), blobs(seed=1)
    assert linear_probe(train_x, train_y, test_x, test_y)["accuracy"] > 0.95
    shuffled = train_y[torch.randperm(len(train_y), generator=torch.Generator().manual_seed(0))]
    scores = linear_probe(train_x, shuffled, test_x, test_y)
    assert scores["accuracy"] < 0.6
    assert all(0.0 <= scores[m] <= 1.0 for m in ("precision", "recall", "f1"))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_knn_report_counts_every_test_image_once(metric):
    (train_x, train_y), (test_x, test_y) = blobs(seed=0), blobs(seed=1)
    test_y = test_y.clone()
    test_y[:30] = 0  # some images the probe must get wrong: class 0 now also sits at the centres of 1 and 2
    report = knn_report(train_x, train_y, test_x, test_y, ["a", "b", "c"], metric=metric)
    matrix = np.array(report["confusion"])
    assert matrix.sum() == len(test_y) and matrix.sum(1).tolist() == torch.bincount(test_y).tolist()
    assert report["accuracy"] == pytest.approx(np.trace(matrix) / len(test_y))
    assert report["per_class"]["a"] < report["per_class"]["b"] == 1.0


def test_fine_tuning_learns_digits_from_scratch():
    data = load_dataset("digits")
    with seeded(0):
        model = create_encoder("small_cnn")
    before = {name: value.clone() for name, value in model.state_dict().items()}
    scores = FineTuning(steps=120)(model, data.train_items, data.train_labels, data.test_items,
                                   data.test_labels, classes=10)
    assert scores["accuracy"] > 0.5, scores  # chance is 0.1
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())  # a copy trained


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A short real rotation run on Digits: enough for the probes to have something to read."""
    out = tmp_path_factory.mktemp("run")
    status = TrainingRun(TrainConfig(data="digits", task="rotation", epochs=2, device="cpu"), out).run()
    assert status.state == "finished", status.message
    return out


def test_label_efficiency_table_has_every_fraction_method_and_baseline(digits_run):
    trained, _ = load_task(digits_run)
    random_init, _ = load_task(digits_run, trained=False)
    seen = []
    table = label_efficiency(trained, random_init, load_dataset("digits"), fractions=(0.01, 1.0), draws=2,
                             fine_tuning=FineTuning(steps=10), progress=lambda done, total, what: seen.append(done))
    assert seen == list(range(1, 2 * 2 * 5 + 1))  # 2 fractions × 2 draws × (3 probes + 2 fine-tunings)
    assert set(table) == {"0.01", "1"}
    for methods in table.values():
        assert set(methods["linear"]) == {"trained", "random_init", "raw_pixels"}
        assert set(methods["fine_tune"]) == {"trained", "random_init"}
    rows = label_efficiency_rows(table)
    assert len(rows) == 10
    for row in rows:
        assert row["draws"] == 2 and all(0 <= row[m] <= 1 and row[m + "_std"] >= 0
                                         for m in ("accuracy", "precision", "recall", "f1"))
    raw = table["0.01"]["linear"]["raw_pixels"], table["1"]["linear"]["raw_pixels"]
    assert 10 <= raw[0]["labels"] <= 20  # 1 %, and at least one image of each class
    assert raw[1]["accuracy"] > raw[0]["accuracy"] + 0.15  # more labels, better probe: the table is not noise


def test_the_pages_label_efficiency_is_the_tables_of_the_runs_own_tasks_without_the_other_probes(digits_run):
    trained, _ = load_task(digits_run)
    random_init, _ = load_task(digits_run, trained=False)
    settings = dict(fractions=(0.1,), draws=1, fine_tuning=FineTuning(steps=5))
    expected = label_efficiency(trained, random_init, load_dataset("digits"), **settings)
    assert label_efficiency_of_run(digits_run, **settings) == expected


def test_probe_cli_transfers_to_another_data_set_and_reports_everything(digits_run, tmp_path):
    folder = shapes_folder(tmp_path / "shapes")
    result = subprocess.run([sys.executable, "-m", "workbench", "probe", str(digits_run), "--data",
                             str(folder), "--fractions", "0.1", "1", "--draws", "1", "--fine-tune-steps",
                             "5", "--k", "5", "--metric", "euclidean", "--json"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout)
    assert probe["trained_on"] == "digits" and probe["data"] == str(folder.resolve())
    assert (probe["k"], probe["metric"]) == (probe["knn"]["k"], probe["knn"]["metric"]) == (5, "euclidean")
    for key in ("knn_top1", "linear_top1", "random_init_linear_top1", "raw_pixels_linear_top1"):
        assert 0.0 <= probe[key] <= 1.0
    assert set(probe["knn"]["per_class"]) == set(probe["class_names"])
    assert set(probe["label_efficiency"]) == {"0.1", "1"}
    assert {"precision", "recall", "f1"} <= set(probe["label_efficiency"]["1"]["fine_tune"]["trained"])
    assert "transfer" in probe_markdown(probe)


def test_every_export_format_writes_files_other_tools_read(digits_run, tmp_path):
    data = load_dataset("digits")
    n = len(data.test_items)
    written = {fmt: export_run(digits_run, fmt, tmp_path / fmt) for fmt in FORMATS}

    with np.load(written["npz"][0]) as npz:
        assert npz["embeddings"].shape[0] == n and npz["labels"].tolist() == data.test_labels.tolist()
        assert np.allclose(np.linalg.norm(npz["embeddings"], axis=1), 1, atol=1e-4)
    lines = written["csv"][0].read_text().splitlines()
    assert lines[0].startswith("label,class,e0") and len(lines) == n + 1

    folder = tmp_path / "projector"
    assert np.loadtxt(folder / "vectors.tsv", delimiter="\t").shape[0] == n
    metadata = (folder / "metadata.tsv").read_text().splitlines()
    assert metadata[0] == "label\tclass" and len(metadata) == n + 1
    side = math.ceil(math.sqrt(n)) * 32
    assert Image.open(folder / "sprite.png").size == (side, side)
    config = (folder / "projector_config.pbtxt").read_text()
    assert all(name in config for name in ("vectors.tsv", "metadata.tsv", "sprite.png", "single_image_dim: 32"))

    for page in written["html"]:
        assert "plotly" in page.read_text()[:100000].lower() and page.stat().st_size > 1_000_000  # offline

    snippet = tmp_path / "weights" / "load_encoder.py"
    check = snippet.read_text() + ("\nimport torch\nx = torch.rand(4, 3, 32, 32)\n"
                                   "torch.save((x, encoder(x), task.features(x)), 'out.pt')\n")
    result = subprocess.run([sys.executable, "-c", check], cwd=snippet.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    x, encoded, features = torch.load(snippet.parent / "out.pt")
    task, _ = load_task(digits_run)
    with torch.no_grad():
        assert torch.allclose(encoded, task.encoder(x), atol=1e-5)
        assert torch.allclose(features, task.features(x), atol=1e-5)
    assert set(load_file(snippet.parent / "encoder.safetensors")) == set(task.encoder.state_dict())


def test_maps_in_every_representation_colouring_and_dimension(digits_run):
    full = map_run(digits_run, settings=MapSettings(sample=10**6))
    assert full["coords"].shape == (full["total"], 2) and full["shown"] == full["total"]
    assert full["groups"].tolist() == full["labels"].tolist()
    data = load_dataset("digits")
    assert data.test_labels[full["indices"]].tolist() == full["labels"].tolist()

    knn = map_run(digits_run, settings=MapSettings(representation="raw_pixels", colour="knn", dimensions=3,
                                                   sample=200, metric="euclidean"))
    assert knn["coords"].shape == (knn["shown"], 3) and 190 <= knn["shown"] <= 210 < knn["total"]
    assert knn["group_names"] == ["k-NN right", "k-NN wrong"]
    assert 0.5 < (knn["groups"] == 0).mean() < 1.0  # raw pixels read most digits right, not all

    clusters = map_run(digits_run, settings=MapSettings(representation="random_init", colour="cluster"))
    assert len(set(clusters["groups"].tolist())) == len(clusters["group_names"]) == 10
    figure = umap_figure(knn, "raw")
    assert figure.data[0].type == "scatter3d" and "showing" in figure.layout.title.text
    assert figure.data[0].customdata is not None  # each point carries its image number
    with pytest.raises(ValueError, match="2 or 3 dimensions"):
        map_run(digits_run, settings=MapSettings(dimensions=4))


def test_the_map_document_carries_each_points_image_and_true_neighbours(digits_run):
    result = map_run(digits_run, settings=MapSettings(sample=120))
    n = result["shown"]
    assert result["neighbours"].shape == (n, 8) and (result["neighbours"] != np.arange(n)[:, None]).all()
    assert (np.diff(result["similarities"], axis=1) <= 1e-6).all()  # most similar first
    document = map_document(result, result["items"], "test", plotly_src="/plotly.js")
    data = json.loads(document.split("const MAP = ", 1)[1].split(";\n", 1)[0])
    assert data["image"] == result["indices"].tolist() and len(data["neighbours"]) == n
    assert all(point["customdata"] is not None for point in data["figure"]["data"])
    sprite = Image.open(io.BytesIO(base64.b64decode(data["sprite"].split(",", 1)[1])))
    assert sprite.width == data["columns"] * 32 and sprite.height >= n / data["columns"] * 32
    row = result["neighbours"][0][0]  # the sprite holds the images in the map's order
    tile = np.asarray(sprite)[(row // data["columns"]) * 32:][:32, (row % data["columns"]) * 32:][:, :32]
    assert np.array_equal(tile, result["items"][row].permute(1, 2, 0).numpy())
    assert '<script src="/plotly.js">' in document and document.count("</script>") == 2


def test_evolution_maps_random_init_and_every_saved_epoch_as_one_animated_figure(digits_run):
    result = evolution(digits_run, sample=200)
    assert result["frames"] == ["random init", "epoch 1", "epoch 2"]  # then history/; the run ended on epoch 2
    assert all(coords.shape == (result["shown"], 2) for coords in result["coords"])
    assert all(0 <= accuracy <= 1 for accuracy in result["knn_top1"])
    figure = evolution_figure(result)
    assert [frame.name for frame in figure.frames] == ["0", "1", "2"]
    assert [step.label for step in figure.layout.sliders[0].steps] == ["random init", "epoch 1", "epoch 2"]
    assert "random init" in figure.layout.title.text and "epoch 2" in figure.frames[2].layout.title.text
    first, last = result["coords"][0], result["coords"][-1]
    assert not np.allclose(first, last)  # the map moves as the encoder learns


def test_export_refuses_an_unknown_format(digits_run, tmp_path):
    with pytest.raises(ValueError, match="choose from"):
        export_run(digits_run, "pickle", tmp_path)
