"""Step 6 of the page — compare runs: a queue of methods on the chosen data that trains one after another in the
background (its rows fill in as each run goes), then two or more runs side by side: their loss and k-NN curves
overlaid against epochs or seconds, one table of their probes, their maps of the same held-out items, and a
hand-out — one HTML file that opens offline — of the whole comparison."""

import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ..engine.settings import TrainConfig
from ..inspection import plots
from ..inspection.compare import compare_runs, comparison_markdown
from ..inspection.handout import handout_document
from ..inspection.maps import MapSettings
from ..inspection.mapview import iframe, map_title, maps_document
from ..tasks import list_tasks
from .data_section import DataControls, checked_spec, read_options
from .errors import USER_ERRORS, shows_user_errors, warning
from .inspect.map import PLOTLY_URL, mapped
from .inspect.pick import checkpoint_time, run_choices
from .live_view import RUN_COLUMNS, polling, runs_table
from .state import PageState
from .training_section import Training

QUEUE_MINUTES = 1.0  # each queued run's default time budget: a lesson's comparison prepared in minutes


def queued_configs(state: PageState, chosen: dict) -> list[TrainConfig]:
    """One run per picked task on the chosen data, each with its own preset and the time budget asked for."""
    if not chosen["tasks"]:
        raise ValueError("Pick at least one task to queue.")
    spec, options = checked_spec(state, chosen["data"]), read_options(chosen)
    return [TrainConfig(data=spec, task=task, max_minutes=float(chosen["minutes"]) or None, **options)
            for task in chosen["tasks"]]


def queue_rows(manager, rows: list[list]) -> list[list]:
    """The runs table's rows (step 4's: each run's epochs, seconds, k-NN and state as it goes), then a row for
    each config waiting in the queue."""
    return [*rows, *(["", config.task, Path(config.data).name, "", "", "", "", "queued"]
                     for config in manager.queued())]


def picked_runs(state: PageState, picked: list[str] | None, at_least: int = 2) -> list[Path]:
    """The picked runs' folders, each a run with a checkpoint in the app's runs folder: `at_least` of them (a
    comparison needs two, a hand-out one)."""
    saved = {value for _, value in run_choices(state.manager)[1:]}
    runs = [Path(value) for value in picked or [] if value in saved]
    if len(runs) < at_least:
        raise ValueError(f"Pick {'two or more runs to compare' if at_least > 1 else 'a run or more'} (press ↻ Runs: "
                         "the queue's runs appear in the list as they start).")
    return runs


def comparison_maps(comparison: dict) -> str:
    """The runs' maps side by side in one document: each of its own data's held-out items, drawn alike for every
    run, so runs on the same data show the same points."""
    results = [mapped(Path(row["path"]), None, MapSettings(), checkpoint_time(Path(row["path"])))
               for row in comparison["runs"]]
    return iframe(maps_document([(result, result["items"], map_title(result)) for result in results],
                                plotly_src=PLOTLY_URL))


@dataclass
class ComparisonPick:
    """The runs picked to compare, and what is asked of them."""
    picked: gr.Dropdown
    compare: gr.Button
    handout: gr.Button
    handout_file: gr.File


def build_compare_section(demo: gr.Blocks, state: PageState, data: DataControls, training: Training) -> None:
    """Lay out step 6 and wire it: the queue beside the runs picked, the comparison below."""
    with gr.Row():
        with gr.Column(scale=2):
            build_queue(state, data, training)
        with gr.Column(scale=3):
            pick = build_comparison_pick(state, training)
    build_comparison(state, pick)


def build_queue(state: PageState, data: DataControls, training: Training) -> None:
    """The methods to queue on step 1's data, the queue's buttons and its table; queueing turns on step 4's poll
    `training.timer`, and the table follows its runs table."""
    manager = state.manager
    tasks = gr.CheckboxGroup([(t.title.split(" — ")[0], t.name) for t in list_tasks()], label="Queue these "
                             "methods on the data of step 1, each with its own preset", elem_id="queue-tasks")
    with gr.Row():
        minutes = gr.Number(QUEUE_MINUTES, label="Minutes each", minimum=0, elem_id="queue-minutes",
                            info="0: each preset's full length")
        queue_button = gr.Button("Queue these runs", variant="primary", elem_id="queue")
        clear_button = gr.Button("Clear the queue", elem_id="clear-queue")
    message = gr.Markdown(elem_id="queue-message")
    lesson_runs = gr.Dataframe(queue_rows(manager, runs_table(state.runs_root)), headers=RUN_COLUMNS,
                               interactive=False, max_height=220, elem_id="lesson-runs",
                               label="Runs of this app, then those waiting in the queue")

    def enqueue(**chosen):
        try:
            configs = manager.enqueue(queued_configs(state, chosen))
        except USER_ERRORS as error:
            return warning(error), polling(manager)
        return (f"Queued {len(configs)} runs; they train one after another (the line above every step follows "
                "them), and each appears among the runs to compare as it starts."), gr.Timer(active=True)

    def clear():
        return f"Dropped {manager.clear_queue()} waiting runs; the one training goes on."

    queue_button.click(enqueue, inputs_kwargs={"tasks": tasks, "minutes": minutes, **data.inputs},
                       outputs=[message, training.timer], api_name="queue")
    clear_button.click(clear, None, message, api_name="clear_queue")
    training.runs.change(lambda rows: queue_rows(manager, rows.values.tolist()), training.runs, lesson_runs,
                         api_name=False, show_progress="hidden")  # the table fills in as each run goes


def build_comparison_pick(state: PageState, training: Training) -> ComparisonPick:
    """The runs to compare, kept up to date as runs start, and the buttons that compare them or write their
    hand-out."""
    with gr.Row():
        picked = gr.Dropdown(run_choices(state.manager)[1:], multiselect=True, label="Runs to compare", scale=4,
                             elem_id="compare-runs", info="two or more")
        refresh = gr.Button("↻ Runs", scale=0, elem_id="compare-refresh")
    with gr.Row():
        compare_button = gr.Button("Compare", variant="primary", elem_id="compare")
        handout_button = gr.Button("Hand-out: one HTML file", elem_id="handout")
    handout = gr.File(label="Hand-out: one HTML file that opens offline", elem_id="handout-file", visible=False)
    for event in (refresh.click, training.runs.change):  # the queue's runs appear as they start
        event(lambda: gr.Dropdown(choices=run_choices(state.manager)[1:]), None, picked, api_name=False,
              show_progress="hidden")
    return ComparisonPick(picked, compare_button, handout_button, handout)


def build_comparison(state: PageState, pick: ComparisonPick) -> None:
    """The comparison of the picked runs: its table, its curves against epochs or seconds, its maps; and the
    hand-out."""
    table = gr.Markdown(elem_id="compare-table")
    x_axis = gr.Radio([("epochs", "epoch"), ("seconds", "seconds")], value="epoch", label="Curves against",
                      elem_id="compare-x")
    with gr.Row():
        loss_plot = gr.Plot(plots.placeholder_figure("Their losses, overlaid."), label="Loss",
                            elem_id="compare-loss")
        knn_plot = gr.Plot(plots.placeholder_figure("Their online k-NN, overlaid."), label="k-NN",
                           elem_id="compare-knn")
    maps = gr.HTML("<p>Their maps of the same held-out items appear here, side by side.</p>",
                   elem_id="compare-maps", js_on_load=None)
    compared = gr.State(None)  # the last comparison's curves, redrawn against the other axis without probing

    @shows_user_errors
    def compare(picked, x, progress=gr.Progress()):
        comparison = compare_runs(picked_runs(state, picked),
                                  progress=lambda done, total, what: progress(done / total, desc=what))
        return (comparison_markdown(comparison), *curves(comparison, x), comparison_maps(comparison), comparison)

    def curves(comparison, x):
        if comparison is None:
            return gr.skip(), gr.skip()
        return (plots.comparison_figure(comparison["curves"], "loss", x),
                plots.comparison_figure(comparison["curves"], "knn", x))

    @shows_user_errors
    def write_handout(picked, comparison, progress=gr.Progress()):
        runs = picked_runs(state, picked, at_least=1)
        if comparison is not None and [row["path"] for row in comparison["runs"]] != [str(run) for run in runs]:
            comparison = None  # another pick than the comparison shown: probe these runs
        document = handout_document(runs, progress=lambda done, total, what: progress(done / total, desc=what),
                                    comparison=comparison)
        path = Path(tempfile.mkdtemp(prefix="handout-")) / f"lesson-{'-'.join(run.name for run in runs)[:80]}.html"
        path.write_text(document, encoding="utf-8")
        return gr.File(str(path), visible=True)

    pick.compare.click(compare, [pick.picked, x_axis], [table, loss_plot, knn_plot, maps, compared],
                       api_name="compare")
    x_axis.change(curves, [compared, x_axis], [loss_plot, knn_plot], api_name=False)
    pick.handout.click(write_handout, [pick.picked, compared], pick.handout_file, api_name="handout")
