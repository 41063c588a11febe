"""Section 3's writing box, shown for a task whose model writes (next_token): a prompt the user types, continued by
the model of the run that trains the task on the chosen data — its latest checkpoint while it trains — or else by
the newest saved run of the task on that data."""

from pathlib import Path

import gradio as gr

from ..engine.runs import saved_runs
from ..inspection.answers import answering_run
from ..inspection.text import MAX_NEW_TOKENS, continue_text
from ..tasks import task_class
from .data_section import checked_spec, read_options
from .errors import shows_user_errors
from .state import PageState

TEMPERATURE_HELP = ("How each next token is drawn: near 0 always the likeliest one (greedy: the same text every "
                    "time, often repeating itself); 1 as likely as the model says; above 1 flatter, stranger.")


def writes(task_name: str) -> bool:
    """Whether the task's model can continue a text."""
    return hasattr(task_class(task_name), "generate")


def writing_run(state: PageState, chosen: dict) -> Path:
    """The run whose model writes: the one training the chosen task on the chosen data, read as the page reads
    it, once it has a checkpoint; else the newest saved run of that task on that data."""
    spec, options = checked_spec(state, chosen["data"]), read_options(chosen)
    training = answering_run(state.manager.current, chosen["task"], spec, options["image_size"], options["grayscale"])
    if training is not None:
        return Path(training)
    for run in saved_runs(state.runs_root):
        if (run["task"], run["data"]) == (chosen["task"], spec):
            return Path(run["run"])
    raise ValueError(f"No {chosen['task']} run on {spec} has a checkpoint yet: press Start, and the model writes "
                     "once its first epoch ends.")


def build_writing_panel(state: PageState, inputs: dict, task: gr.Dropdown) -> None:
    """Lay out the prompt, the temperature and the written text; `inputs`: the data choice, how it is read and
    the task, by name. Shown only while the chosen task writes."""
    with gr.Group(visible=writes(task.value)) as panel:
        gr.Markdown("**Let the model write.** It continues your prompt one token at a time, each drawn from its "
                    "guesses for the next token. Words the data set does not know read as [UNK].")
        with gr.Row():
            prompt = gr.Textbox("the big dog", label="Prompt", scale=3, elem_id="prompt")
            temperature = gr.Slider(0, 2, value=0.8, step=0.05, label="Temperature", info=TEMPERATURE_HELP,
                                    scale=2, elem_id="temperature")
            new_tokens = gr.Slider(1, MAX_NEW_TOKENS // 4, value=40, step=1, label="New tokens", scale=1)
            seed = gr.Number(0, precision=0, minimum=0, label="Seed", scale=1, info="the same seed, the same text")
        button = gr.Button("Continue the prompt", elem_id="write")
        written = gr.Textbox(label="Your prompt, continued by the model (of the run training this task on this "
                                   "data, else the newest saved one)", lines=3, interactive=False, elem_id="written")

    @shows_user_errors
    def write(**chosen):
        return continue_text(writing_run(state, chosen), chosen["prompt"], int(chosen["new_tokens"]),
                             float(chosen["temperature"]), int(chosen["seed"] or 0))

    task.change(lambda name: gr.Group(visible=writes(name)), task, panel, api_name=False)
    # The data and the task first, then what the user types, then how the data is read: the API's order.
    button.click(write, inputs_kwargs={"data": inputs["data"], "task": inputs["task"], "prompt": prompt,
                                       "temperature": temperature, "new_tokens": new_tokens, "seed": seed, **inputs},
                 outputs=written, api_name="continue_text")
