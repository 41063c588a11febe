"""Section 5 of the page — inspect a representation: measure it with labels (k-NN, linear probe, label
efficiency), map it, find an image's neighbours, export it. Builds and wires its own components; what it
shares with the rest of the page is the `PageState` (which runs exist, which one is training) and the run
picked in the training section's table."""

import tempfile
from functools import lru_cache
from pathlib import Path

import gradio as gr
import torch

from ..data import DataError, available_builtins, load_run_data
from ..data.folder import DECODE_ERRORS, read_image, why_unreadable
from ..engine.checkpoints import RunFolder, list_runs, load_task
from ..evaluation.metrics import embed, nearest_neighbours
from ..evaluation.probes import FRACTIONS, FineTuning, KnnSettings
from ..inspection import plots
from ..inspection.evolution import evolution
from ..inspection.export import FORMATS, export_run
from ..inspection.maps import MapSettings, map_run
from ..inspection.mapview import PLOTLY_JS, iframe, map_document
from ..data.kinds import picture
from ..inspection.probe_run import label_efficiency_of_run, probe_run
from ..inspection.report import label_efficiency_markdown, probe_markdown
from .data_section import checked_spec
from .state import PageState

PLOTLY_URL = f"/gradio_api/file={PLOTLY_JS}"  # served as a static file (see `build_inspection`)
OWN_DATA = "(the run's own data)"
LATEST = "the latest run (the one training now, if any)"
NEIGHBOURS = 8
REPRESENTATIONS = ["trained", "random_init", "raw_pixels"]


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


def _data(state: PageState, choice: str | None) -> str | None:
    """None for the run's own data; another data set (transfer) only inside the app's data roots."""
    if not choice or choice == OWN_DATA:
        return None
    try:
        return checked_spec(state, choice)
    except DataError as error:
        raise gr.Error(str(error))


@lru_cache(maxsize=4)
def _embedded(run_dir: Path, data: str | None, checkpoint_time: float):
    """The run's task, its features of the held-out images and the data set (cached per checkpoint)."""
    task, config = load_task(run_dir)
    dataset = load_run_data(config, data)
    return task, embed(task, dataset.test_images), dataset


@lru_cache(maxsize=16)
def _mapped(run_dir: Path, data: str | None, settings: MapSettings, checkpoint_time: float) -> dict:
    """`map_run`, cached per run checkpoint, data set and settings: a map is computed once."""
    return map_run(run_dir, data=data, settings=settings)


@lru_cache(maxsize=4)
def _evolved(run_dir: Path, points: int, checkpoint_time: float) -> dict:
    return evolution(run_dir, sample=points)


def build_inspection(demo: gr.Blocks, state: PageState, saved_run: gr.Dropdown) -> None:
    """Lay out section 5 inside the current Blocks and wire it; a run picked in `saved_run` is opened here."""
    manager = state.manager
    gr.set_static_paths([PLOTLY_JS])  # that one file of the installed plotly package, for the map's iframe
    with gr.Row():
        run = gr.Dropdown(_run_choices(manager), value="", label="Run", scale=3, elem_id="inspect-run")
        refresh = gr.Button("↻ Runs", scale=0, elem_id="refresh-runs")
        data = gr.Dropdown([OWN_DATA] + list(available_builtins()), value=OWN_DATA, allow_custom_value=True, scale=2,
                           label="Measure on", elem_id="inspect-data",
                           info="Another data set than the run's own tests transfer (a folder path works too).")
    with gr.Row():
        knn_k = gr.Slider(1, 200, value=KnnSettings.k, step=1, label="k-NN: k", elem_id="knn-k")
        knn_temperature = gr.Number(KnnSettings.temperature, label="k-NN: temperature",
                                    info="each neighbour votes exp(similarity / T)")
        knn_metric = gr.Radio(["cosine", "euclidean"], value=KnnSettings.metric, label="k-NN: metric",
                              info="euclidean: one vote each")
    analyse_button = gr.Button("Measure and map", elem_id="analyse")
    with gr.Row():
        probe_table = gr.Markdown(elem_id="probe")
        confusion_plot = gr.Plot(plots.placeholder_figure("The k-NN confusion matrix appears here."),
                                 label="k-NN confusion", elem_id="confusion-plot")
    with gr.Accordion("Map settings", open=False):
        with gr.Row():
            shown = gr.Radio([("trained encoder", "trained"), ("random init", "random_init"),
                              ("raw pixels", "raw_pixels"), ("all three, side by side", "all")], value="trained",
                             label="Representation",
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
    umap_plot = gr.HTML("<p>The map appears here once you press Measure. Rest the pointer on a point to see "
                        "its image; click it to see its nearest neighbours.</p>", elem_id="umap-map",
                        js_on_load=None)
    gr.Markdown("*Read a UMAP map with care: the sizes of clusters and the gaps between them are not distances. "
                "The accuracies above are measured in the original feature space, not on the map.*")

    gr.Markdown("### How the embedding changed during training")
    with gr.Row():
        evolution_points = gr.Slider(100, 3000, value=600, step=100, label="Points", scale=3,
                                     info="held-out images, drawn per class")
        evolution_button = gr.Button("Map every saved epoch", elem_id="evolution", scale=1)
    evolution_map = gr.HTML("<p>Maps of the random-init network and of each epoch kept in the run's history "
                            "(1, 2, 4, 8, … and the last five), each laid out from the one before so that they "
                            "compare: press ▶ or move the slider to watch the classes separate.</p>",
                            elem_id="evolution-map")

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
        """One map, or (representation "all") the trained encoder, its random init and raw pixels side by
        side — each its own document, so hovering and clicking work in each."""
        run_dir = _run_dir(manager, run_choice)
        representation, colour_by, dims, neighbours, dist, metric_name, points = settings
        shown_here = REPRESENTATIONS if representation == "all" else [representation]
        documents = []
        for each in shown_here:
            chosen = MapSettings(each, int(dims), int(neighbours), float(dist), metric_name, int(points), colour_by)
            try:
                result = _mapped(run_dir, _data(state, data_choice), chosen,
                                 RunFolder(run_dir).checkpoint_file.stat().st_mtime)
            except (DataError, FileNotFoundError, ValueError) as error:
                raise gr.Error(str(error))
            what = {"trained": f"{result['task']} features", "random_init": "random-init features",
                    "raw_pixels": "raw pixels"}[each]
            documents.append(map_document(result, result["images"], f"UMAP of {what}, {result['data']} test images",
                                          plotly_src=PLOTLY_URL, compact=len(shown_here) > 1))
        if len(documents) == 1:
            return iframe(documents[0])
        return ('<div style="display:flex;gap:6px">' + "".join(
            f'<div style="flex:1;min-width:0">{iframe(document, height=600)}</div>' for document in documents)
            + "</div>")

    def analyse(run_choice, data_choice, k, temperature, metric_name, *settings):
        run_dir = _run_dir(manager, run_choice)
        try:
            knn = KnnSettings(int(k), float(temperature), metric_name)
            result = probe_run(run_dir, data=_data(state, data_choice), knn=knn)
        except (DataError, FileNotFoundError, ValueError) as error:
            raise gr.Error(str(error))
        return (probe_markdown(result), plots.confusion_figure(result["knn"], result["class_names"]),
                draw_map(run_choice, data_choice, *settings))

    def play_evolution(run_choice, points):
        run_dir = _run_dir(manager, run_choice)
        try:
            result = _evolved(run_dir, int(points), RunFolder(run_dir).checkpoint_file.stat().st_mtime)
        except (DataError, FileNotFoundError, ValueError) as error:
            raise gr.Error(str(error))
        figure = plots.evolution_figure(result)
        return iframe(figure.to_html(include_plotlyjs=PLOTLY_URL, full_html=True, auto_play=False), height=640)

    def efficiency(run_choice, data_choice, chosen, n_draws, n_steps, progress=gr.Progress()):
        if not chosen:
            raise gr.Error("Pick at least one share of labels.")
        run_dir = _run_dir(manager, run_choice)
        tuning = FineTuning(steps=int(n_steps)) if n_steps else None
        try:
            table = label_efficiency_of_run(run_dir, data=_data(state, data_choice), fractions=sorted(chosen),
                                            draws=int(n_draws), fine_tuning=tuning,
                                            progress=lambda done, total, what: progress((done, total), desc=what))
        except (DataError, FileNotFoundError, ValueError) as error:
            raise gr.Error(str(error))
        return plots.label_efficiency_figure(table), label_efficiency_markdown(table)

    def find_neighbours(run_choice, data_choice, index, upload):
        run_dir = _run_dir(manager, run_choice)
        task, bank, dataset = _embedded(run_dir, _data(state, data_choice), RunFolder(run_dir).checkpoint_file.stat().st_mtime)
        if upload:
            try:
                query = torch.from_numpy(read_image(Path(upload), dataset.image_size)[0]).permute(2, 0, 1)
            except DECODE_ERRORS as error:
                raise gr.Error(f"That image cannot be read: {why_unreadable(Path(upload), error)}")
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

    def open_saved(name):
        choices = _run_choices(manager)
        path = (manager.runs_root / name).resolve() if name else None
        found = [value for _, value in choices[1:] if Path(value).resolve() == path]
        return gr.Dropdown(choices=choices, value=found[0]) if found else gr.skip()

    # --- wiring ------------------------------------------------------------------------------------------------
    refresh.click(lambda: gr.Dropdown(choices=_run_choices(manager)), None, run, api_name="runs")
    saved_run.change(open_saved, saved_run, run, api_name=False)
    analyse_button.click(analyse, [run, data, knn_k, knn_temperature, knn_metric, *map_inputs[2:]],
                         [probe_table, confusion_plot, umap_plot], api_name="analyse")
    redraw_map.click(draw_map, map_inputs, umap_plot, api_name="map")
    evolution_button.click(play_evolution, [run, evolution_points], evolution_map, api_name="evolution")
    efficiency_button.click(efficiency, [run, data, fractions, draws, steps], [efficiency_plot, efficiency_table],
                            api_name="label_efficiency")
    neighbours_button.click(find_neighbours, [run, data, query_index, query_upload], neighbours,
                            api_name="neighbours")
    export_button.click(export, [run, export_format], exported, api_name="export")
