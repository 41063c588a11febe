"""Step 4 of the page — pretrain: settings (the task's preset until changed, a time budget; the rest folded),
Start / Pause / Resume / Stop, the live view (status, progress, loss, k-NN and the collapse monitor), and the runs
of this app, each of which can go on where it stopped or be repeated from its command line.

Training belongs to the server (`PageState.manager`), never to a page: a `gr.Timer` polls its status, and a
reload re-attaches through `demo.load`.
"""

from dataclasses import dataclass

import gradio as gr
import torch

from ..engine.checkpoints import RunFolder
from ..engine.job import TrainingRun
from ..engine.repeat import repeat_call, repeat_command
from ..engine.runs import RunNotFound, find_run
from ..engine.settings import TrainConfig
from ..inspection import plots
from ..inspection.probe_run import warm_baselines
from ..models import ENCODERS
from .data_section import DataControls, checked_spec, read_options
from .errors import USER_ERRORS, shows_user_errors, warning
from .live_view import (RUN_COLUMNS, LivePoll, polling, progress_html, run_names, runs_table,
                        status_markdown)
from .state import PageState
from .task_section import TaskControls, preset_for_this_machine


def train_config(state: PageState, chosen: dict) -> TrainConfig:
    """The run the page's settings ask for, typed as the engine takes them: data only from inside the app's data
    roots, a time budget of 0 meaning none, and the preset's batch size left to the engine, which fits it to a
    small data set (a batch the user moved is theirs)."""
    batch, preset = int(chosen["batch_size"]), preset_for_this_machine(chosen["task"], chosen["data"])
    return TrainConfig(data=checked_spec(state, chosen["data"]), task=chosen["task"],
                       task_params=dict(chosen["task_params"] or {}), encoder=chosen["encoder"],
                       epochs=int(chosen["epochs"]), batch_size=None if batch == preset.batch_size else batch,
                       learning_rate=float(chosen["learning_rate"]), seed=int(chosen["seed"]),
                       device=chosen["device"], max_minutes=float(chosen["max_minutes"]) or None,
                       **read_options(chosen))


def settings_controls() -> dict:
    """The run's settings beyond the data and the task, by TrainConfig's names; the task's preset to start. The
    preset's numbers and the time budget in view, the rest folded."""
    preset = preset_for_this_machine(TrainConfig.task)
    with gr.Row():
        shown = {
            "epochs": gr.Slider(1, 200, value=preset.epochs, step=1, label="Epochs", info="the task's preset",
                                elem_id="epochs"),
            "batch_size": gr.Slider(2, 1024, value=preset.batch_size, step=1, label="Batch size",
                                    elem_id="batch-size"),
            "learning_rate": gr.Number(preset.learning_rate, label="Learning rate (peak)", minimum=1e-6, maximum=1,
                                       elem_id="learning-rate"),
            "max_minutes": gr.Number(0, label="Time budget (minutes)", minimum=0, elem_id="max-minutes",
                                     info="0: none. The run stops there with a checkpoint; the schedule fits it"),
        }
    with gr.Accordion("More settings: encoder, seed, device", open=False, elem_id="more-settings"):
        with gr.Row():
            folded = {
                "encoder": gr.Dropdown([("auto", "auto")] + [(label, name) for name, label in ENCODERS.items()],
                                       value=TrainConfig.encoder, label="Encoder",
                                       info="auto: the task's own, else a small CNN on a CPU, ResNet-18 on a GPU"),
                "seed": gr.Number(TrainConfig.seed, label="Seed", precision=0),
                "device": gr.Dropdown(["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else []),
                                      value=TrainConfig.device, label="Device"),
            }
    order = ("encoder", "epochs", "batch_size", "learning_rate", "seed", "device", "max_minutes")  # the API's
    return {name: {**shown, **folded}[name] for name in order}


def show_preset(task_name, data):
    chosen = preset_for_this_machine(task_name, data)
    return chosen.epochs, chosen.batch_size, chosen.learning_rate


def how_to_repeat(state: PageState, name: str | None) -> str:
    """The picked run's command line and Python call (`engine.repeat`); empty while no saved run is picked."""
    try:
        config = RunFolder(find_run(state.runs_root, name)).read_config()
    except RunNotFound:
        return ""
    return f"{repeat_command(config)}\n\n# or, from Python:\n{repeat_call(config, f'runs/{name}-again')}"


def pick_row(event: gr.SelectData):
    return event.row_value[0]


def wire_run_controls(state: PageState, buttons: dict, start_inputs: dict, go_on_inputs: list, outputs: list):
    """Start a run (from `start_inputs`, by TrainConfig's names), go on with a saved one (`go_on_inputs`: its
    name, the epochs in all, the time budget), pause, resume, stop; `outputs`: the message box and the poll
    timer. A refused start shows why and leaves the page as it was; a name that is no saved run is an error."""
    manager = state.manager

    def start(**chosen):
        try:
            run = manager.start(train_config(state, chosen))
        except USER_ERRORS as error:
            return warning(error), polling(manager)
        warm_baselines(run.config.to_json())  # while it trains: its first measurement need not wait for them
        return " ".join(["Training started.", *(f"{note[0].upper()}{note[1:]}." for note in run.notes)]), \
            gr.Timer(active=True)

    @shows_user_errors
    def go_on(name, n_epochs, budget):
        run_dir = find_run(state.runs_root, name)  # no saved run of that name: the page's error, not a warning
        try:
            manager.go_on(run_dir, epochs=int(n_epochs) or None, max_minutes=float(budget) or None)
        except USER_ERRORS as error:
            return warning(error), polling(manager)
        return f"Going on with {name}.", gr.Timer(active=True)

    def control(action, request):
        def handler():
            if manager.current is None:
                return "Nothing is training."
            request(manager.current)
            return f"{action} requested."
        return handler

    buttons["start"].click(start, inputs_kwargs=start_inputs, outputs=outputs, api_name="start")
    buttons["go_on"].click(go_on, go_on_inputs, outputs, api_name="resume_run")
    for action, request in (("stop", TrainingRun.stop), ("pause", TrainingRun.pause), ("resume", TrainingRun.unpause)):
        buttons[action].click(control(action, request), None, outputs[0], api_name=action)


@dataclass
class Training:
    """What the later steps use of step 4: the saved run picked in its table, the poll timer, which a run
    started elsewhere (the quick demo, the queue) turns on, and the runs table, which changes as runs start and
    end."""
    saved_run: gr.Dropdown
    timer: gr.Timer
    runs: gr.Dataframe


def build_training_section(demo: gr.Blocks, state: PageState, data: DataControls, task: TaskControls,
                           live_line: gr.Markdown, timer: gr.Timer) -> Training:
    """Lay out step 4 and wire it; `live_line` is the status line above every step, which the poll `timer`
    keeps (both outside the steps' tabs: a timer inside a tab that is not shown does not tick)."""
    settings = settings_controls()
    with gr.Row():
        buttons = {"start": gr.Button("Start", variant="primary", elem_id="start"),
                   "pause": gr.Button("Pause", elem_id="pause"),
                   "resume": gr.Button("Resume", elem_id="resume"),
                   "stop": gr.Button("Stop", variant="stop", elem_id="stop")}
    message = gr.Markdown(elem_id="message")
    status = gr.Markdown(status_markdown(None), elem_id="status")
    progress = gr.HTML(progress_html(None), elem_id="progress")
    with gr.Row():
        loss_plot = gr.Plot(plots.loss_figure([], 0), label="Loss", elem_id="loss-plot")
        knn_plot = gr.Plot(plots.knn_figure([], 0), label="k-NN", elem_id="knn-plot")

    with gr.Accordion("Runs of this app: go on with one, or repeat it", open=False, elem_id="runs-of-this-app"):
        runs = gr.Dataframe(runs_table(state.runs_root), headers=RUN_COLUMNS, interactive=False, elem_id="runs",
                            max_height=260, label="Runs of this app")
        with gr.Row():
            run_name = gr.Dropdown(run_names(state.runs_root), label="Run", scale=3,
                                   allow_custom_value=True, elem_id="run-name", info="pick one, or click its row")
            more_epochs = gr.Number(0, precision=0, minimum=0, label="Epochs in all", elem_id="resume-epochs",
                                    info="0: as many as it asked for")
            go_on_button = gr.Button("Go on with this run", elem_id="go-on", scale=1)
        repeat = gr.Code(language="shell", elem_id="repeat", interactive=False,
                         label="Repeat this run: its command line and its Python call (the same settings and seed "
                               "give the same k-NN on this machine)")
    start_inputs = {"data": data.data, "task": task.task, "task_params": task.params, **settings, **data.options}
    wire_run_controls(state, {**buttons, "go_on": go_on_button}, start_inputs,
                      [run_name, more_epochs, settings["max_minutes"]], [message, timer])
    preset_shown = [settings[name] for name in ("epochs", "batch_size", "learning_rate")]
    for chosen in (task.task, data.data):  # the preset depends on both: real data may have its own (`run_preset`)
        chosen.change(show_preset, [task.task, data.data], preset_shown, api_name=False)
    drawn = gr.State(None)  # what this page shows: (run folder, steps, evals, state, when the loss was drawn)
    checkpoint = gr.Textbox(visible=False)  # changes with every epoch's checkpoint
    task.redraw_preview(checkpoint.change)
    poll = LivePoll(state.manager).poll
    poll_outputs = [status, progress, loss_plot, knn_plot, runs, drawn, checkpoint, timer, live_line]
    # Off the queue: a queued event sends the page a stream of status messages, each of which Gradio's front end
    # matches against the whole component tree — a fifth of the browser's cost of a poll.
    timer.tick(poll, drawn, poll_outputs, api_name="status", show_progress="hidden", queue=False)
    runs.change(lambda: gr.Dropdown(choices=run_names(state.runs_root)), None, run_name, api_name=False,
                show_progress="hidden")  # the names to pick from follow the table
    runs.select(pick_row, None, run_name, api_name=False)
    run_name.change(lambda name: how_to_repeat(state, name), run_name, repeat, api_name="repeat",
                    show_progress="hidden")
    demo.load(poll, drawn, poll_outputs, api_name=False)  # a reload re-attaches to a running job
    return Training(run_name, timer, runs)
