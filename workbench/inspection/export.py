"""Take a run's representation elsewhere: embeddings with labels (NPZ, CSV), a TensorFlow Embedding Projector
bundle (images as a sprite; texts in its metadata), standalone HTML plots, and the encoder's weights.

    python -m workbench export runs/first --format projector --out exported/
"""

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

from . import plots
from ..data import load_run_data
from ..engine.checkpoints import RunFolder, save_weights
from ..evaluation.metrics import embed
from .maps import MapSettings, map_run
from .mapview import map_document, map_title, sprite_sheet

FORMATS = ("npz", "csv", "projector", "html", "weights")

LOADING_SNIPPET = '''"""Load what SSL Workbench exported from a {task} run on {data}."""
import json

from safetensors.torch import load_file
from workbench import create_task
from workbench.models import create_encoder

# The encoder alone: float images (N, 3, H, W) in [0, 1], or token ids (N, T) of texts → features (N, D).
encoder = create_encoder("{encoder}")
encoder.load_state_dict(load_file("encoder.safetensors"))
encoder.eval()

# The whole task, for the features the probes use (e.g. DINO's teacher, MAE's mean patch token).
params = json.load(open("task_params.json"))
task = create_task("{task}", create_encoder("{encoder}"), **params)
task.load_state_dict(load_file("task.safetensors"))
task.eval()  # features = task.features(items)
'''


def export_run(run_dir, fmt: str, out_dir, data: str | None = None, device="cpu") -> list[Path]:
    """Write the run's export in `fmt` into `out_dir` (created); returns the files written. Embeddings are of
    the held-out items of `data` (default: the run's own data set), L2-normalised as the probes see them; the
    NPZ holds the items too, under the kind's word ("images": pixels, "texts": token ids)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    folder = RunFolder(run_dir)
    task, config = folder.load_task(device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "weights":
        return _weights(task, config, out)
    if fmt == "html":
        return _html(folder, config, data, out, device)
    dataset = load_run_data(config, data)
    vectors = embed(task, dataset.test_items, device).numpy()
    labels = dataset.test_labels.numpy()
    names = [dataset.class_names[c] for c in labels]
    if fmt == "npz":
        np.savez_compressed(out / "embeddings.npz", embeddings=vectors, labels=labels,
                            class_names=np.array(dataset.class_names),
                            **{dataset.kind.items: dataset.test_items.numpy()})
        return [out / "embeddings.npz"]
    if fmt == "csv":
        with open(out / "embeddings.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["label", "class"] + [f"e{i}" for i in range(vectors.shape[1])])
            writer.writerows([label, name, *map("{:.6g}".format, row)] for label, name, row in
                             zip(labels.tolist(), names, vectors))
        return [out / "embeddings.csv"]
    return _projector(vectors, labels, names, dataset.kind.hover(dataset.test_items), out)


def _projector(vectors, labels, names, hover, out: Path) -> list[Path]:
    """The files https://projector.tensorflow.org loads ("Load" → vectors, metadata; the config names the
    sprite). `hover`: the kind's view of each point — image tiles go into a square sprite, one per point, row
    by row; texts into a third metadata column, which the Projector shows on hover and searches."""
    np.savetxt(out / "vectors.tsv", vectors, delimiter="\t", fmt="%.6g")
    texts = hover if isinstance(hover, list) else None
    columns = [labels.tolist(), names] + ([[" ".join(text.split()) for text in texts]] if texts else [])
    with open(out / "metadata.tsv", "w", encoding="utf-8") as f:  # with 2+ columns the Projector needs a header
        f.write("\t".join(["label", "class", "text"][:len(columns)]) + "\n")
        f.writelines("\t".join(map(str, row)) + "\n" for row in zip(*columns))
    config = 'embeddings {\n  tensor_path: "vectors.tsv"\n  metadata_path: "metadata.tsv"\n'
    if texts:
        (out / "projector_config.pbtxt").write_text(config + "}\n")
        return [out / name for name in ("vectors.tsv", "metadata.tsv", "projector_config.pbtxt")]
    return _sprite(hover, config, out)


def _sprite(thumbnails: np.ndarray, config: str, out: Path) -> list[Path]:
    """The images' sprite and the Projector's config that names it."""
    size = thumbnails.shape[2]
    Image.fromarray(sprite_sheet(thumbnails, square=True)).save(out / "sprite.png")
    (out / "projector_config.pbtxt").write_text(
        config + f'  sprite {{\n    image_path: "sprite.png"\n    single_image_dim: {size}\n    single_image_dim: {size}\n'
        '  }\n}\n')
    return [out / name for name in ("vectors.tsv", "metadata.tsv", "sprite.png", "projector_config.pbtxt")]


def _html(folder: RunFolder, config, data, out: Path, device) -> list[Path]:
    """The training curves and the UMAP map (with the items on hover and click), each one HTML file that opens
    offline (plotly.js inside)."""
    metrics = folder.read_metrics()
    umap = map_run(folder.path, device, data, MapSettings(sample=10**9))
    figures = {"loss.html": plots.loss_figure(metrics.get("steps", []), metrics.get("total_steps", 0),
                                              metrics.get("evals", [])),
               "knn.html": plots.knn_figure(metrics.get("evals", []), config["epochs"])}
    for name, figure in figures.items():
        figure.write_html(out / name, include_plotlyjs=True, full_html=True)
    (out / "umap.html").write_text(map_document(umap, umap["items"], map_title(umap)), encoding="utf-8")
    return [out / name for name in (*figures, "umap.html")]


def _weights(task, config, out: Path) -> list[Path]:
    metadata = {"task": config["task"], "encoder": config["encoder_resolved"]}
    save_weights(task.encoder, out / "encoder.safetensors", metadata)
    save_weights(task, out / "task.safetensors", metadata)
    (out / "task_params.json").write_text(json.dumps(config["task_params"], indent=1))
    (out / "load_encoder.py").write_text(LOADING_SNIPPET.format(task=config["task"], data=config["data"],
                                                                encoder=config["encoder_resolved"]))
    return [out / name for name in ("encoder.safetensors", "task.safetensors", "task_params.json", "load_encoder.py")]
