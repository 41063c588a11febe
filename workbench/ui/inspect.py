"""Section 5 of the page — inspect a representation: measure it with labels (k-NN, linear probe, label
efficiency), map it, find an image's neighbours, export it. Builds and wires its own components; the state it
shares with the rest of the page is the server's JobManager (which runs exist, which one is training)."""

import tempfile
from functools import lru_cache
from pathlib import Path

import gradio as gr
import torch

from .. import plots
from ..checkpoints import RunFolder, list_runs, load_task
from ..data import BUILTIN, DataError, load_dataset
from ..data.folder import read_square
from ..evaluation import MapSettings, embed, map_run, nearest_neighbours
from ..export import FORMATS, export_run
from ..pictures import picture
from ..probes import FRACTIONS, FineTuning, probe_run
from ..report import label_efficiency_markdown, probe_markdown

OWN_DATA = "(the run's own data)"
LATEST = "the latest run (the one training now, if any)"
NEIGHBOURS = 8


def _run_choices(manager) -> list[tuple[str, str]]:
    """The app's run folders with a checkpoint, newest first, as (label, path), after "the latest run"."""
    return [(LATEST, "")] + [(f"{Path(run['run']).name} · {run['task']} on {Path(run['data']).name} · epoch {run['epoch']}",
             run["run"]) for run in list_runs(manager.runs_root) if RunFolder(run["run"]).checkpoint_file.is_file()]


def _run_dir(manager, choice: str | None) -> Path:
    """The chosen run folder — only one inside the app's runs folder — or else the latest run."""
    if not choice:
        saved = _run_choices(manager)[1:]
        latest = manager.current.out_dir if manager.current else saved[0][1] if saved else None
        if latest is None:
            raise gr.Error("No run yet: train one first, or pick a run from the list.")
        choice = str(latest)
    path, root = Path(choice).resolve(), manager.runs_root.resolve()
    if root not in path.parents or not RunFolder(path).checkpoint_file.is_file():
        raise gr.Error(f"{choice} is not a run folder with a checkpoint in {manager.runs_root}.")
    return path


def _data(choice: str | None) -> str | None:
    return None if not choice or choice == OWN_DATA else choice


@lru_cache(maxsize=4)
def _embedded(run_dir: Path, data: str | None, checkpoint_time: float):
    """The run's task, its features of the held-out images and the data set (cached per checkpoint)."""
    task, config = load_task(run_dir)
    dataset = load_dataset(data or config["data"])
    return task, embed(task, dataset.test_images), dataset


@lru_cache(maxsize=16)
def _mapped(run_dir: Path, data: str | None, settings: MapSettings, checkpoint_time: float) -> dict:
    """`map_run`, cached per run checkpoint, data set and settings: a map is computed once."""
    return map_run(run_dir, data=data, settings=settings)


def build_inspection(manager) -> None:
    """Lay out section 5 inside the current Blocks and wire it."""
    with gr.Row():
        run = gr.Dropdown(_run_choices(manager), value="", label="Run", scale=3, elem_id="inspect-run")
        refresh = gr.Button("↻ Runs", scale=0, elem_id="refresh-runs")
        data = gr.Dropdown([OWN_DATA] + list(BUILTIN), value=OWN_DATA, allow_custom_value=True, scale=2,
                           label="Measure on", elem_id="inspect-data",
                           info="Another data set than the run's own tests transfer (a folder path works too).")
    analyse_button = gr.Button("Measure and map", elem_id="analyse")
    probe_table = gr.Markdown(elem_id="probe")
    with gr.Accordion("Map settings", open=False):
        with gr.Row():
            shown = gr.Radio([("trained encoder", "trained"), ("random init", "random_init"),
                              ("raw pixels", "raw_pixels")], value="trained", label="Representation",
                             elem_id="map-representation")
            colour = gr.Radio([("class", "label"), ("k-NN right / wrong", "knn"), ("k-means cluster", "cluster")],
                              value="label", label="Colour by", elem_id="map-colour")
            dimensions = gr.Radio([2, 3], value=2, label="Dimensions", elem_id="map-dimensions")
        with gr.Row():
            n_neighbors = gr.Slider(2, 100, value=15, step=1, label="n_neighbors",
                                    info="larger keeps more of the global layout")
            min_dist = gr.Slider(0.0, 1.0, value=0.1, step=0.05, label="min_dist",
                                 info="smaller packs the clusters tighter")
            metric = gr.Radio(["cosine", "euclidean"], value="cosine", label="Metric")
            sample = gr.Slider(100, 10000, value=1000, step=100, label="Points at most",
                               info="held-out images, drawn per class")
        redraw_map = gr.Button("Redraw the map", elem_id="redraw-map")
    umap_plot = gr.Plot(plots.placeholder_figure("The map appears here once you press Measure."),
                        label="UMAP", elem_id="umap-plot")
    gr.Markdown("*Read a UMAP map with care: the sizes of clusters and the gaps between them are not distances. "
                "The accuracies above are measured in the original feature space, not on the map.*")

    gr.Markdown("### Few labels: linear probe and fine-tuning")
    with gr.Row():
        fractions = gr.CheckboxGroup([(f"{f:.0%}", f) for f in FRACTIONS], value=list(FRACTIONS),
                                     label="Labelled share of the training images", elem_id="fractions")
        draws = gr.Slider(1, 5, value=3, step=1, label="Label draws", info="mean ± std over this many draws")
        steps = gr.Slider(0, 1000, value=FineTuning.steps, step=10, label="Fine-tuning steps",
                          info="0: linear probe only")
    efficiency_button = gr.Button("Measure label efficiency", elem_id="efficiency")
    efficiency_plot = gr.Plot(plots.placeholder_figure("Accuracy with 1 %, 10 % and 100 % of the labels."),
                              label="Label efficiency", elem_id="efficiency-plot")
    efficiency_table = gr.Markdown(elem_id="efficiency-table")

    gr.Markdown("### Nearest neighbours")
    with gr.Row():
        query_index = gr.Number(0, precision=0, minimum=0, label="Held-out image number", elem_id="query-index")
        query_upload = gr.Image(type="filepath", label="…or your own image", height=140, elem_id="query-upload")
        neighbours_button = gr.Button("Find neighbours", elem_id="neighbours")
    neighbours = gr.Gallery(label="Query, then its nearest neighbours (cosine similarity, label)", columns=9,
                            height=200, allow_preview=False, elem_id="neighbours-gallery")

    gr.Markdown("### Export")
    with gr.Row():
        export_format = gr.Dropdown(list(FORMATS), value="projector", label="Format", elem_id="export-format",
                                    info="projector: loads in projector.tensorflow.org; html: plots that open "
                                         "offline; weights: safetensors + a loading snippet")
        export_button = gr.Button("Export", elem_id="export")
    exported = gr.File(label="Files", file_count="multiple", elem_id="exported")

    # --- handlers ------------------------------------------------------------------------------------------
    map_inputs = [run, data, shown, colour, dimensions, n_neighbors, min_dist, metric, sample]

    def draw_map(run_choice, data_choice, *settings):
        run_dir = _run_dir(manager, run_choice)
        representation, colour_by, dims, neighbours, dist, metric_name, points = settings
        chosen = MapSettings(representation, int(dims), int(neighbours), float(dist), metric_name, int(points),
                             colour_by)
        try:
            result = _mapped(run_dir, _data(data_choice), chosen, RunFolder(run_dir).checkpoint_file.stat().st_mtime)
        except (DataError, FileNotFoundError, ValueError) as error:
            raise gr.Error(str(error))
        what = {"trained": f"{result['task']} features", "random_init": "random-init features",
                "raw_pixels": "raw pixels"}[representation]
        return plots.umap_figure(result, f"UMAP of {what}, {result['data']} test images")

    def analyse(run_choice, data_choice, *settings):
        run_dir = _run_dir(manager, run_choice)
        try:
            result = probe_run(run_dir, data=_data(data_choice))
        except (DataError, FileNotFoundError, ValueError) as error:
            raise gr.Error(str(error))
        return probe_markdown(result), draw_map(run_choice, data_choice, *settings)

    def efficiency(run_choice, data_choice, chosen, n_draws, n_steps, progress=gr.Progress()):
        if not chosen:
            raise gr.Error("Pick at least one share of labels.")
        run_dir = _run_dir(manager, run_choice)
        tuning = FineTuning(steps=int(n_steps)) if n_steps else None
        try:
            result = probe_run(run_dir, data=_data(data_choice), fractions=sorted(chosen), draws=int(n_draws),
                               fine_tuning=tuning, progress=lambda done, total, what: progress((done, total),
                                                                                              desc=what))
        except (DataError, FileNotFoundError, ValueError) as error:
            raise gr.Error(str(error))
        table = result["label_efficiency"]
        return plots.label_efficiency_figure(table), label_efficiency_markdown(table)

    def find_neighbours(run_choice, data_choice, index, upload):
        run_dir = _run_dir(manager, run_choice)
        task, bank, dataset = _embedded(run_dir, _data(data_choice), RunFolder(run_dir).checkpoint_file.stat().st_mtime)
        if upload:
            try:
                query = torch.from_numpy(read_square(Path(upload), dataset.image_size)).permute(2, 0, 1)
            except OSError as error:
                raise gr.Error(f"That image cannot be read: {error}")
            caption, features = "your image", embed(task, query[None])
        else:
            index = int(index or 0)
            if not 0 <= index < len(bank):
                raise gr.Error(f"Pick a held-out image number from 0 to {len(bank) - 1}.")
            query = dataset.test_images[index]
            caption, features = f"#{index}: {dataset.class_names[dataset.test_labels[index]]}", bank[index:index + 1]
        similarity, rows = nearest_neighbours(bank, features, NEIGHBOURS + (0 if upload else 1))
        found = [(s, r) for s, r in zip(similarity[0].tolist(), rows[0].tolist()) if upload or r != index]
        return [(picture(query), f"query — {caption}")] + [
            (picture(dataset.test_images[r]), f"{s:.2f} · {dataset.class_names[dataset.test_labels[r]]}")
            for s, r in found[:NEIGHBOURS]]

    def export(run_choice, fmt):
        run_dir = _run_dir(manager, run_choice)
        out = tempfile.mkdtemp(prefix=f"{run_dir.name}-{fmt}-")  # in the temp folder: Gradio may serve it
        try:
            return [str(path) for path in export_run(run_dir, fmt, out)]
        except (DataError, FileNotFoundError, ValueError) as error:
            raise gr.Error(str(error))

    # --- wiring ------------------------------------------------------------------------------------------------
    refresh.click(lambda: gr.Dropdown(choices=_run_choices(manager)), None, run, api_name="runs")
    analyse_button.click(analyse, map_inputs, [probe_table, umap_plot], api_name="analyse")
    redraw_map.click(draw_map, map_inputs, umap_plot, api_name="map")
    efficiency_button.click(efficiency, [run, data, fractions, draws, steps], [efficiency_plot, efficiency_table],
                            api_name="label_efficiency")
    neighbours_button.click(find_neighbours, [run, data, query_index, query_upload], neighbours,
                            api_name="neighbours")
    export_button.click(export, [run, export_format], exported, api_name="export")
