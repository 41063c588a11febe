"""Sections 2 and 3 of the page — the pretext task (its card and its controls, built from the registry) and what
the model sees (the preview, drawn by the task's own training code, with a trained run's answers: a picture of
images, a table of a text's tokens; and, for a task whose model writes, the prompt it continues).

The task's parameters travel as one dict (`TaskControls.params`), whatever the task: each control writes its
value into it, and the preview and Start read it. A new task module appears here without touching this file.
"""

from dataclasses import dataclass, fields
from typing import Callable

import gradio as gr

from ..data import DEFAULT_DATA, available_builtins
from ..data.kinds import IMAGE, TEXT
from ..engine.settings import TrainConfig, preset_data, run_preset, task_defaults
from ..inspection.answers import answering_run
from ..inspection.preview import task_preview
from ..tasks import card, list_tasks, task_class
from .data_section import DataControls, checked_spec, read_options
from .errors import USER_ERRORS, warning
from .kinds import kind_shown, kind_values
from .state import PageState
from .writing import build_writing_panel


@dataclass
class TaskControls:
    """What the training section reads, and how it asks for the preview to be redrawn."""
    task: gr.Dropdown
    params: gr.JSON                # {parameter: value} of the chosen task
    redraw_preview: Callable       # redraw_preview(event): that event redraws the preview


PREVIEW_HEIGHT = 520  # px: the preview and its section's heading inside a 1280 × 720 screen
PREVIEW_HELP = ("Each row is one item as training feeds it to the model, with what the model must answer. Once a "
                "run of this task on this data has a checkpoint, the model's answers appear beside the targets. "
                "A new seed draws new items and new random choices.")

# The cards' formulas: $$…$$ on a line of their own, $…$ inside a sentence (Gradio renders only $$ unless told).
CARD_MATH = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]


def preset_for_this_machine(task_name: str, data: str | None = None):
    """The preset a run of the task on `data` (None: the task's own data) starts from on this machine."""
    return run_preset(task_name, "auto", data or preset_data(task_name))


def control_for(spec, value):
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


def parameter_controls(tasks) -> tuple[dict, list]:
    """Every task's controls at its defaults on its preset's data, in a group of its own shown only while that
    task is chosen: ({(task, parameter): control}, the groups in the order of `tasks`)."""
    controls, groups = {}, []
    for info in tasks:
        defaults = task_defaults(info.name, preset_data(info.name))
        with gr.Group(visible=info.name == TrainConfig.task) as group:
            for spec in fields(task_class(info.name).Params):
                controls[info.name, spec.name] = control_for(spec, defaults[spec.name])
        groups.append(group)
    return controls, groups


def follow_preset_data(task_name, spec, last_task):
    """A task whose preset names its data (colorization: Painted shapes) takes the data box from Shapes; the
    next task gives it back. Any other choice of data stays the user's."""
    wanted, before = preset_data(task_name), preset_data(last_task)
    if spec == before and wanted != spec and DEFAULT_DATA in (spec, wanted):
        title = {name: label.split(" — ")[0] for name, label in available_builtins().items()}
        gr.Info(f"Data: {title[wanted]}, which {task_class(task_name).info.title.split(' — ')[0]} trains on"
                if wanted != DEFAULT_DATA else f"Data: back to {title[wanted]}")
        return wanted, task_name
    return gr.skip(), task_name


def task_shown(task_name, spec, tasks, controls) -> list:
    """The card, the task's controls at their defaults on this data (the other tasks' left alone), its group
    alone visible, and the same values as the dict."""
    defaults = task_defaults(task_name, spec)
    values = [defaults[name] if owner == task_name else gr.skip() for owner, name in controls]
    visible = [gr.Group(visible=t.name == task_name) for t in tasks]
    return [card(task_name), defaults, *visible, *values]


def preview_drawing(state: PageState, chosen: dict):
    """What training feeds the model — and, once the current run of this task on this data, read as it reads
    it and with these parameters, has a checkpoint, what the model answers (`answering_run`; redrawn at each epoch's checkpoint while it
    trains): a picture of images, an HTML table of texts. None, with a warning, for data or parameters it
    cannot draw."""
    try:
        spec, options = checked_spec(state, chosen["data"]), read_options(chosen)
        run_dir = answering_run(state.manager.current, chosen["task"], spec, options["image_size"],
                                options["grayscale"], chosen["params"] or {})
        return task_preview(spec, chosen["task"], chosen["params"] or {}, chosen["seed"], run_dir, **options)
    except USER_ERRORS as error:
        warning(error)
        return None


def build_task_section(demo: gr.Blocks, state: PageState, read: DataControls,
                       step: Callable[[str], gr.Tab]) -> TaskControls:
    """Lay out steps 2 and 3, each in its `step` tab, and wire them; `read` is step 1's data choice and how it
    is read."""
    tasks = list_tasks()
    with step("task"), gr.Row():  # the card beside the controls it explains
        with gr.Column(scale=2):
            task = gr.Dropdown([(t.title, t.name) for t in tasks], value=TrainConfig.task, label="Task",
                               elem_id="task")
            controls, groups = parameter_controls(tasks)
            # The chosen task's parameters; {} (an API call that names none) means the task's defaults.
            params = gr.JSON({}, visible=False, elem_id="params")
            last_task = gr.State(TrainConfig.task)  # inside the tab: a component between two tabs confuses Gradio
        task_card = gr.Markdown(elem_id="task-card", latex_delimiters=CARD_MATH)

    with step("preview"):
        with gr.Row():  # the controls beside the preview, which is held to a screen's height, not the page's width
            with gr.Column(scale=1, min_width=220):
                gr.Markdown(PREVIEW_HELP)
                preview_seed = gr.Number(0, label="Preview seed", precision=0, minimum=0)
                redraw_button = gr.Button("Redraw", elem_id="redraw")
            with gr.Column(scale=3):
                # One component per kind of item; the chosen task's kind is shown.
                previews = {IMAGE.name: gr.Image(label="Inputs and targets, drawn by the training code",
                                                 type="numpy", format="png", interactive=False, elem_id="preview",
                                                 height=PREVIEW_HEIGHT, buttons=["download"]),
                            TEXT.name: gr.HTML(visible=False, elem_id="text-preview", js_on_load=None)}
        preview_inputs = {"data": read.data, "task": task, "seed": preview_seed, "params": params, **read.options}
        build_writing_panel(state, {name: preview_inputs[name] for name in ("data", "task", *read.options)}, task)

    def show_task(task_name, spec):
        return task_shown(task_name, spec, tasks, controls)

    def draw_preview(**chosen):
        return kind_values(previews, task_class(chosen["task"]).kind, preview_drawing(state, chosen))

    def set_param(name):
        return lambda values, value: {**(values or {}), name: value}

    card_outputs = [task_card, params, *groups, *controls.values()]
    preview = list(previews.values())
    redraw = dict(fn=draw_preview, inputs_kwargs=preview_inputs, outputs=preview, api_name=False)  # off the API
    # A new task or data set sets the controls to their defaults there, then redraws the preview once; a
    # control the user moves writes its value into the dict and redraws at once (.input: not fired by the
    # programmatic updates of show_task).
    task.change(lambda name: kind_shown(previews, task_class(name).kind), task, preview, api_name=False,
                show_progress="hidden")  # the preview of the task's kind
    task.change(follow_preset_data, [task, read.data, last_task], [read.data, last_task], api_name=False).then(
        show_task, [task, read.data], card_outputs, api_name="task").then(**redraw)
    read.data.change(show_task, [task, read.data], card_outputs, api_name=False).then(**redraw)
    demo.load(show_task, [task, read.data], card_outputs, api_name=False).then(**redraw)
    redraw_button.click(draw_preview, inputs_kwargs=preview_inputs, outputs=preview, api_name="preview")
    for option in (read.image_size, read.grayscale):  # the preview shows the images as training will read them
        option.change(**redraw)
    for (_, name), control in controls.items():
        control.input(set_param(name), [params, control], params, api_name=False).then(**redraw)
    return TaskControls(task, params, lambda event: event(**redraw, show_progress="hidden"))
