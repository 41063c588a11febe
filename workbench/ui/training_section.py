"""Section 4 of the page — pretrain: settings (the task's preset until changed, a time budget), Start / Pause /
Resume / Stop, the live view (status, progress, loss, k-NN and the collapse monitor), and the runs of this app,
each of which can go on where it stopped.

Training belongs to the server (`PageState.manager`), never to a page: a `gr.Timer` polls its status, and a
reload re-attaches through `demo.load`.
"""

import math
import time
from pathlib import Path

import gradio as gr
import torch

from ..engine.checkpoints import RunFolder, list_runs
from ..data import DataError
from ..models import ENCODERS
from ..tasks import task_class
from ..engine.settings import TrainConfig
from ..inspection import plots
from .data_section import DataControls, checked_spec
from .state import PageState
from .task_section import TaskControls, preset_for_this_machine

RUN_COLUMNS = ["run", "task", "data", "epochs", "seconds", "k-NN", "started", "state"]
# How often the page asks for the live status, and redraws the loss plot. Every poll costs the browser far more
# than the server (Gradio's front end walks its whole component tree for each output), on the cores the
# training needs: polled every second, with the loss redrawn each time, headless Chromium used 9 – 10 s of CPU
# in 30 s of rotation's preset, and the run trained at ~500 images/s; every 2 s, off the queue, with the loss
# every 4 s: 3.9 s and ~700 images/s (benchmarks/README.md).
POLL_EVERY, LOSS_PLOT_EVERY = 2.0, 4.0


def status_markdown(status) -> str:
    if status is None:
        return "No training run yet. Choose data and a task, then press **Start**."
    done = f"step {status.step:,} / {status.total_steps:,} · epoch {status.epoch} / {status.epochs}"
    speed = f"{status.images_per_second:,.0f} images/s" if status.images_per_second else ""
    eta = f"ETA {status.eta_seconds:,.0f} s" if status.eta_seconds and status.state == "running" else ""
    knn = "" if not status.evals else ("k-NN: no labels" if math.isnan(status.evals[-1]["knn_top1"])
                                       else f"k-NN top-1 {status.evals[-1]['knn_top1']:.3f}")
    spread = (f"collapse monitor: spread {status.evals[-1]['feature_spread']:.2f} × 1/√d (≈1 healthy, → 0 "
              f"collapsed), effective rank {status.evals[-1]['effective_rank']:.1f}" if status.evals else "")
    memory = f"GPU memory {status.gpu_memory_gb:.1f} GiB at most" if status.gpu_memory_gb is not None else ""
    line = " · ".join(part for part in (done, speed, eta, knn, spread, memory) if part)
    message = f"\n\n{status.message}" if status.message else ""
    return (f"**{status.state.upper()}** — {line}  \n`{status.out_dir}` on {status.device} "
            f"({status.encoder}){message}\n\n*What to look for:* {task_class(status.task).info.look_for}")


def progress_html(status) -> str:
    fraction = status.step / status.total_steps if status and status.total_steps else 0.0
    return (f'<div class="wb-progress"><div class="wb-progress-bar" style="width:{100 * fraction:.1f}%"></div>'
            f'<span>{100 * fraction:.0f} %</span></div>')


def runs_table(runs_root) -> list[list]:
    """The app's runs, newest first: the rows of the runs table."""
    return [[Path(run["run"]).name, run["task"], Path(run["data"]).name, f"{run['epoch']} / {run['epochs']}",
             round(run["seconds"]), "" if run["knn_top1"] is None or math.isnan(run["knn_top1"])
             else round(run["knn_top1"], 3), run["started"],
             run["state"]] for run in list_runs(runs_root)]


def saved_run(state: PageState, name: str) -> Path:
    """The run folder called `name` in the app's runs folder — nothing outside it."""
    path = (state.runs_root / (name or "")).resolve()
    if not name or path.parent != state.runs_root.resolve() or not RunFolder(path).checkpoint_file.is_file():
        raise gr.Error(f"{name!r} is not a run with a checkpoint in {state.runs_root}: pick one from the table.")
    return path


def build_training(demo: gr.Blocks, state: PageState, data: DataControls, task: TaskControls) -> gr.Dropdown:
    """Lay out section 4 and wire it; returns the chosen saved run (the inspection section can open it)."""
    manager = state.manager
    gr.Markdown("## 4 · Pretrain")
    preset = preset_for_this_machine(TrainConfig.task)
    with gr.Row():
        encoder = gr.Dropdown([("auto", "auto")] + [(label, name) for name, label in ENCODERS.items()],
                              value=TrainConfig.encoder, label="Encoder",
                              info="auto: the task's own, else a small CNN on a CPU, ResNet-18 on a GPU")
        epochs = gr.Slider(1, 200, value=preset.epochs, step=1, label="Epochs", info="the task's preset")
        batch_size = gr.Slider(16, 1024, value=preset.batch_size, step=16, label="Batch size")
        lr = gr.Number(preset.learning_rate, label="Learning rate (peak)", minimum=1e-6, maximum=1)
        seed = gr.Number(TrainConfig.seed, label="Seed", precision=0)
        device = gr.Dropdown(["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else []),
                             value=TrainConfig.device, label="Device")
        max_minutes = gr.Number(0, label="Time budget (minutes)", minimum=0, elem_id="max-minutes",
                                info="0: none. The run stops there with a checkpoint; the schedule fits it")
    with gr.Row():
        start_button = gr.Button("Start", variant="primary", elem_id="start")
        pause_button = gr.Button("Pause", elem_id="pause")
        resume_button = gr.Button("Resume", elem_id="resume")
        stop_button = gr.Button("Stop", variant="stop", elem_id="stop")
    message = gr.Markdown(elem_id="message")
    status = gr.Markdown(status_markdown(None), elem_id="status")
    progress = gr.HTML(progress_html(None), elem_id="progress")
    with gr.Row():
        loss_plot = gr.Plot(plots.loss_figure([], 0), label="Loss", elem_id="loss-plot")
        knn_plot = gr.Plot(plots.knn_figure([], 0), label="k-NN", elem_id="knn-plot")

    gr.Markdown("### Runs of this app")
    runs = gr.Dataframe(runs_table(state.runs_root), headers=RUN_COLUMNS, interactive=False, elem_id="runs",
                        max_height=260)
    with gr.Row():
        run_name = gr.Dropdown([row[0] for row in runs_table(state.runs_root)], label="Run", scale=3,
                               allow_custom_value=True, elem_id="run-name", info="pick one, or click its row")
        more_epochs = gr.Number(0, precision=0, minimum=0, label="Epochs in all", elem_id="resume-epochs",
                                info="0: as many as it asked for")
        go_on_button = gr.Button("Go on with this run", elem_id="go-on", scale=1)
    timer = gr.Timer(POLL_EVERY, active=False)

    def start(spec, task_name, params, encoder_name, n_epochs, batch, peak_lr, seed_value, device_name, budget,
              size, grey, held_out):
        try:
            config = TrainConfig(data=checked_spec(state, spec), image_size=int(size), grayscale=bool(grey),
                                 test_fraction=float(held_out), task=task_name, task_params=dict(params or {}),
                                 encoder=encoder_name, epochs=int(n_epochs), batch_size=int(batch),
                                 learning_rate=float(peak_lr), seed=int(seed_value), device=device_name,
                                 max_minutes=float(budget) or None)
            manager.start(config)
        except (ValueError, DataError, RuntimeError) as error:
            gr.Warning(str(error))
            return f"⚠️ {error}", gr.Timer(active=manager.current is not None and manager.current.status().active)
        return "Training started.", gr.Timer(active=True)

    def go_on(name, n_epochs, budget):
        run_dir = saved_run(state, name)
        try:
            manager.resume(run_dir, epochs=int(n_epochs) or None, max_minutes=float(budget) or None)
        except (ValueError, DataError, RuntimeError, FileNotFoundError) as error:
            gr.Warning(str(error))
            return f"⚠️ {error}", gr.Timer(active=manager.current is not None and manager.current.status().active)
        return f"Going on with {name}.", gr.Timer(active=True)

    latest = {}  # the newest plot of each kind, with what it shows: built once for all the pages polling

    def figure(kind, shows, build):
        if latest.get(kind, (None,))[0] != shows:
            latest[kind] = (shows, build())
        return latest[kind][1]

    def poll(drawn):
        """Status for the page. Plots are re-sent only when they have new points, the loss at most every
        LOSS_PLOT_EVERY seconds while a run goes on: redrawing a Plotly figure costs the browser far more than
        building it costs the server, and both share the training's CPU."""
        run = manager.current
        now = run.status() if run else None
        seen = (now.out_dir, len(now.steps), len(now.evals), now.state) if now else ("", 0, 0, "")
        shown = drawn or (None, None, None, None, 0.0)
        fresh_evals = (seen[0], seen[2]) != (shown[0], shown[2])
        fresh_runs = fresh_evals or seen[3] != shown[3]  # a new run, epoch or state
        fresh_steps = seen[:2] != tuple(shown[:2]) and (
            fresh_runs or time.monotonic() - shown[4] >= LOSS_PLOT_EVERY - POLL_EVERY / 2)
        shows = (seen[0], seen[1] if fresh_steps else shown[1], seen[2], seen[3],
                 time.monotonic() if fresh_steps else shown[4])
        return (
            status_markdown(now),
            progress_html(now),
            figure("loss", seen[:2], lambda: plots.loss_figure(now.steps if now else [],
                                                               now.total_steps if now else 0))
            if fresh_steps else gr.skip(),
            figure("knn", (seen[0], seen[2]), lambda: plots.knn_figure(now.evals if now else [],
                                                                       now.epochs if now else 0))
            if fresh_evals else gr.skip(),
            runs_table(state.runs_root) if fresh_runs else gr.skip(),
            shows,
            f"{seen[0]}:{seen[2]}" if fresh_evals else gr.skip(),  # a new checkpoint: redraw the predictions
            gr.Timer(active=bool(now and now.active)),
        )

    def control(action):
        def handler():
            if manager.current is None:
                return "Nothing is training."
            getattr(manager.current, action)()
            return f"{action} requested."
        return handler

    def show_preset(task_name):
        chosen = preset_for_this_machine(task_name)
        return chosen.epochs, chosen.batch_size, chosen.learning_rate

    def pick_row(event: gr.SelectData):
        return event.row_value[0]

    def run_names():
        return gr.Dropdown(choices=[row[0] for row in runs_table(state.runs_root)])

    task.task.change(show_preset, task.task, [epochs, batch_size, lr], api_name=False)
    start_button.click(start, [data.data, task.task, task.params, encoder, epochs, batch_size, lr, seed, device,
                               max_minutes, data.image_size, data.grayscale, data.test_fraction], [message, timer],
                       api_name="start")
    go_on_button.click(go_on, [run_name, more_epochs, max_minutes], [message, timer], api_name="resume_run")
    drawn = gr.State(None)  # what this page shows: (run folder, steps, evals, state, when the loss was drawn)
    checkpoint = gr.Textbox(visible=False)  # changes with every epoch's checkpoint
    task.redraw_preview(checkpoint.change)
    poll_outputs = [status, progress, loss_plot, knn_plot, runs, drawn, checkpoint, timer]
    # Off the queue: a queued event sends the page a stream of status messages, each of which Gradio's front end
    # matches against the whole component tree — a fifth of the browser's cost of a poll.
    timer.tick(poll, drawn, poll_outputs, api_name="status", show_progress="hidden", queue=False)
    runs.change(run_names, None, run_name, api_name=False, show_progress="hidden")
    runs.select(pick_row, None, run_name, api_name=False)
    stop_button.click(control("stop"), None, message, api_name="stop")
    pause_button.click(control("pause"), None, message, api_name="pause")
    resume_button.click(control("resume"), None, message, api_name="resume")
    demo.load(poll, drawn, poll_outputs, api_name=False)  # a reload re-attaches to a running job
    return run_name
