"""The page: a thin Gradio layer over the engine. Handlers first, then the layout in visual order, then wiring.

Training belongs to the server (a `JobManager` passed in), never to a page: a `gr.Timer` polls its status, and
a reload re-attaches through `demo.load`. Every task's controls are built from the registry, so a new task
module appears here without touching this file.
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home

from dataclasses import fields  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402
import torch  # noqa: E402

from .. import plots  # noqa: E402
from ..pictures import picture as _picture, task_preview  # noqa: E402
from ..data import BUILTIN, DataError, load_dataset  # noqa: E402
from ..evaluation import warm_up_umap  # noqa: E402
from ..models import ENCODERS  # noqa: E402
from ..tasks import explanation, list_tasks, task_class  # noqa: E402
from ..training import JobManager, TrainConfig, task_defaults  # noqa: E402
from .inspect import build_inspection  # noqa: E402

DEFAULTS = TrainConfig()  # the page starts where the CLI does
ASSETS = Path(__file__).resolve().parents[2] / "assets"


def _task_params(task_name, names, values):
    """The values of the controls that belong to `task_name`, as a dict for TrainConfig.task_params."""
    return {field: value for (task, field), value in zip(names, values) if task == task_name}


def _status_markdown(status) -> str:
    if status is None:
        return "No training run yet. Choose data and a task, then press **Start**."
    done = f"step {status.step:,} / {status.total_steps:,} · epoch {status.epoch} / {status.epochs}"
    speed = f"{status.images_per_second:,.0f} images/s" if status.images_per_second else ""
    eta = f"ETA {status.eta_seconds:,.0f} s" if status.eta_seconds and status.state == "running" else ""
    knn = f"k-NN top-1 {status.evals[-1]['knn_top1']:.3f}" if status.evals else ""
    spread = (f"collapse monitor: spread {status.evals[-1]['feature_spread']:.2f} × 1/√d (≈1 healthy, → 0 "
              f"collapsed), effective rank {status.evals[-1]['effective_rank']:.1f}" if status.evals else "")
    line = " · ".join(part for part in (done, speed, eta, knn, spread) if part)
    message = f"\n\n{status.message}" if status.message else ""
    return (f"**{status.state.upper()}** — {line}  \n`{status.out_dir}` on {status.device} "
            f"({status.encoder}){message}\n\n*What to look for:* {task_class(status.task).info.look_for}")


def _progress_html(status) -> str:
    fraction = status.step / status.total_steps if status and status.total_steps else 0.0
    return (f'<div class="wb-progress"><div class="wb-progress-bar" style="width:{100 * fraction:.1f}%"></div>'
            f'<span>{100 * fraction:.0f} %</span></div>')


def build_app(manager: JobManager) -> gr.Blocks:
    tasks = list_tasks()

    # --- handlers --------------------------------------------------------------------------------------------
    def show_data(spec):
        try:
            data = load_dataset(spec)
        except DataError as error:
            gr.Warning(str(error))
            return f"⚠️ {error}", []
        gallery = []
        for c, name in enumerate(data.class_names[:20]):
            rows = (data.train_labels == c).nonzero().flatten()[:2]
            gallery += [(_picture(data.train_images[i]), name) for i in rows.tolist()]
        notes = "".join(f"\n- {note}" for note in data.notes[:10])
        return data.describe() + notes, gallery

    def show_task(task_name, spec):
        """The task's card and controls (at its defaults on this data), and its preset in the training
        settings."""
        cls = task_class(task_name)
        card = f"{explanation(task_name)}\n\n**Family:** {cls.info.family}"
        if cls.info.knn_weak:
            card += (" · *k-NN is known to be weak for this method's features: read the linear probe and "
                     "fine-tuning numbers too.*")
        preset = cls.preset_for("cuda" if torch.cuda.is_available() else "cpu")
        groups = [gr.Group(visible=t.name == task_name) for t in tasks]
        defaults = task_defaults(task_name, spec)
        values = [defaults[name] if owner == task_name else gr.skip() for owner, name in param_names]
        return [card, preset.epochs, preset.batch_size, preset.learning_rate, *groups, *values]

    def draw_preview(spec, task_name, seed, *values):
        """What training feeds the model — and, once the current run of this task has a checkpoint, what
        the model answers (redrawn at each epoch's checkpoint while it trains)."""
        run = manager.current
        trained = (run is not None and run.config.task == task_name
                   and (run.out_dir / "model.safetensors").exists())
        try:
            params = _task_params(task_name, param_names, values)
            return task_preview(spec, task_name, params, seed, run.out_dir if trained else None)
        except (DataError, ValueError) as error:
            gr.Warning(str(error))
            return None

    def start(spec, task_name, encoder, epochs, batch_size, lr, seed, device, *values):
        try:
            config = TrainConfig(data=spec, task=task_name, task_params=_task_params(task_name, param_names, values),
                                 encoder=encoder, epochs=int(epochs), batch_size=int(batch_size),
                                 learning_rate=float(lr), seed=int(seed), device=device)
            manager.start(config)
        except (ValueError, DataError, RuntimeError) as error:
            gr.Warning(str(error))
            return f"⚠️ {error}", gr.Timer(active=manager.current is not None and manager.current.status().active)
        return "Training started.", gr.Timer(active=True)

    def poll(drawn):
        """Status for the page. Plots are re-sent only when they have new points: redrawing a Plotly figure
        costs the browser far more than building it costs the server, and both share the training's CPU."""
        run = manager.current
        status = run.status() if run else None
        run_dir, n_steps, n_evals = (status.out_dir, len(status.steps), len(status.evals)) if status else ("", 0, 0)
        shown_dir, shown_steps, shown_evals = drawn or (None, None, None)
        fresh_steps = (run_dir, n_steps) != (shown_dir, shown_steps)
        fresh_evals = (run_dir, n_evals) != (shown_dir, shown_evals)
        return (
            _status_markdown(status),
            _progress_html(status),
            plots.loss_figure(status.steps if status else [], status.total_steps if status else 0)
            if fresh_steps else gr.skip(),
            plots.knn_figure(status.evals if status else [], status.epochs if status else 0)
            if fresh_evals else gr.skip(),
            (run_dir, n_steps, n_evals),
            f"{run_dir}:{n_evals}" if fresh_evals else gr.skip(),  # a new checkpoint: redraw predictions
            gr.Timer(active=bool(status and status.active)),
        )

    def control(action):
        def handler():
            run = manager.current
            if run is None:
                return "Nothing is training."
            getattr(run, action)()
            return f"{action} requested."
        return handler

    # --- layout ----------------------------------------------------------------------------------------------
    with gr.Blocks(title="SSL Workbench") as demo:
        gr.Markdown("# SSL Workbench\nInvent a pretext task whose labels come from the data itself, learn a "
                    "representation by solving it, then see how well it serves with few labels.")

        gr.Markdown("## 1 · Data")
        with gr.Row():
            data = gr.Dropdown([(label, name) for name, label in BUILTIN.items()], value=DEFAULTS.data,
                               allow_custom_value=True, label="Data set", scale=2, elem_id="data",
                               info="A built-in set, or type the path of a folder with one sub-folder per class.")
            data_info = gr.Markdown(elem_id="data-info")
        samples = gr.Gallery(label="Samples, two per class", columns=10, height=260, elem_id="samples",
                             allow_preview=False)

        gr.Markdown("## 2 · Pretext task")
        with gr.Row():
            with gr.Column(scale=1):
                task = gr.Dropdown([(t.title, t.name) for t in tasks], value=DEFAULTS.task, label="Task",
                                   elem_id="task")
                param_names, param_inputs, groups = [], [], []
                for info in tasks:
                    defaults = task_defaults(info.name, DEFAULTS.data)  # API clients get these too
                    with gr.Group(visible=info.name == DEFAULTS.task) as group:
                        for spec in fields(task_class(info.name).Params):
                            param_names.append((info.name, spec.name))
                            param_inputs.append(_control(spec, defaults[spec.name]))
                    groups.append(group)
            task_card = gr.Markdown(elem_id="task-card")

        gr.Markdown("## 3 · What the model sees")
        with gr.Row():
            preview_seed = gr.Number(0, label="Preview seed", precision=0, minimum=0, scale=1)
            redraw = gr.Button("Redraw", scale=1, elem_id="redraw")
        preview = gr.Image(label="Inputs and targets, drawn by the training code", type="numpy",
                           format="png", interactive=False, elem_id="preview", buttons=["download"])

        gr.Markdown("## 4 · Pretrain")
        with gr.Row():
            encoder = gr.Dropdown([("auto", "auto")] + [(label, name) for name, label in ENCODERS.items()],
                                  value=DEFAULTS.encoder, label="Encoder",
                                  info="auto: small CNN on a CPU, ResNet-18 on a GPU")
            preset = task_class(DEFAULTS.task).preset_for("cuda" if torch.cuda.is_available() else "cpu")
            epochs = gr.Slider(1, 200, value=preset.epochs, step=1, label="Epochs", info="the task's preset")
            batch_size = gr.Slider(16, 1024, value=preset.batch_size, step=16, label="Batch size")
            lr = gr.Number(preset.learning_rate, label="Learning rate (peak)", minimum=1e-6, maximum=1)
            seed = gr.Number(DEFAULTS.seed, label="Seed", precision=0)
            device = gr.Dropdown(["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else []),
                                 value=DEFAULTS.device, label="Device")
        with gr.Row():
            start_button = gr.Button("Start", variant="primary", elem_id="start")
            pause_button = gr.Button("Pause", elem_id="pause")
            resume_button = gr.Button("Resume", elem_id="resume")
            stop_button = gr.Button("Stop", variant="stop", elem_id="stop")
        message = gr.Markdown(elem_id="message")
        status = gr.Markdown(_status_markdown(None), elem_id="status")
        progress = gr.HTML(_progress_html(None), elem_id="progress")
        with gr.Row():
            loss_plot = gr.Plot(plots.loss_figure([], 0), label="Loss", elem_id="loss-plot")
            knn_plot = gr.Plot(plots.knn_figure([], 0), label="k-NN", elem_id="knn-plot")

        gr.Markdown("## 5 · Inspect the representation")
        build_inspection(manager)
        timer = gr.Timer(1.0, active=False)

        # --- wiring ----------------------------------------------------------------------------------------
        data.change(show_data, data, [data_info, samples], api_name="data")
        task_outputs = [task_card, epochs, batch_size, lr, *groups, *param_inputs]
        preview_inputs = [data, task, preview_seed, *param_inputs]
        # A new task or data set sets the controls to their defaults there, then redraws the preview once;
        # a control the user moves redraws it at once (.input: not fired by the programmatic updates).
        task.change(show_task, [task, data], task_outputs, api_name="task").then(
            draw_preview, preview_inputs, preview, api_name=False)
        data.change(show_task, [task, data], task_outputs, api_name=False).then(
            draw_preview, preview_inputs, preview, api_name=False)
        redraw.click(draw_preview, preview_inputs, preview, api_name="preview")
        for control_input in param_inputs:
            control_input.input(draw_preview, preview_inputs, preview, api_name=False)
        start_button.click(start, [data, task, encoder, epochs, batch_size, lr, seed, device, *param_inputs],
                           [message, timer], api_name="start")
        drawn = gr.State(None)  # what this page's plots show: (run folder, steps, evals)
        checkpoint = gr.Textbox(visible=False)  # changes with every epoch's checkpoint
        checkpoint.change(draw_preview, preview_inputs, preview, api_name=False, show_progress="hidden")
        poll_outputs = [status, progress, loss_plot, knn_plot, drawn, checkpoint, timer]
        timer.tick(poll, drawn, poll_outputs, api_name="status", concurrency_limit=None, show_progress="hidden")
        stop_button.click(control("stop"), None, message, api_name="stop")
        pause_button.click(control("pause"), None, message, api_name="pause")
        resume_button.click(control("resume"), None, message, api_name="resume")
        demo.load(show_data, data, [data_info, samples], api_name=False)
        demo.load(show_task, [task, data], task_outputs, api_name=False).then(
            draw_preview, preview_inputs, preview, api_name=False)
        demo.load(poll, drawn, poll_outputs, api_name=False)  # a reload re-attaches to a running job
    return demo


def _control(spec, value):
    """A Gradio control for one task parameter, from its dataclass field, showing `value`."""
    meta, label = spec.metadata, spec.name.replace("_", " ")
    if meta["lab"]:
        label, meta = f"🧪 {label} (collapse lab)", {**meta, "help": f"{meta['help']} Collapse lab: {meta['lab']}"}
    if meta["choices"] is not None:
        return gr.Dropdown(list(meta["choices"]), value=value, label=label, info=meta["help"])
    if isinstance(spec.default, bool):
        return gr.Checkbox(value, label=label, info=meta["help"])
    if meta["low"] is not None and meta["high"] is not None:
        return gr.Slider(meta["low"], meta["high"], value=value, step=meta["step"], label=label, info=meta["help"])
    precision = 0 if isinstance(spec.default, int) else None
    return gr.Number(value, label=label, info=meta["help"], precision=precision)


def serve(host="127.0.0.1", port=7860, runs_root="runs", block=True):
    """Start the page. Returns the running app when `block` is False (tests)."""
    warm_up_umap()  # pay numba's compile time now, in the background, not when someone asks for a map
    demo = build_app(JobManager(runs_root))
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=host, server_port=port, prevent_thread_lock=not block, quiet=not block,
                show_error=True, enable_monitoring=False, run_history=False,
                css_paths=[ASSETS / "style.css"], theme=gr.themes.Soft())
    return demo
