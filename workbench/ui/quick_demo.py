"""The quick demo on step 1: one click trains a task that teaches well on the chosen data for one minute, then
measures it against its random init and the no-learning baseline and maps it coloured by class — a whole lesson's
result without touching another control. Its button sits with the data; it is wired once section 5, whose table
and map it fills, exists (`wire_quick_demo`)."""

import time
from typing import Callable

import gradio as gr

from ..data import is_generated, load_dataset
from ..engine.settings import TrainConfig
from ..inspection.probe_run import warm_baselines
from ..tasks import task_class
from .data_section import checked_spec, read_options
from .errors import USER_ERRORS, warning
from .state import PageState

DEMO_MINUTES = 1.0
# A task that shows learning within the minute, by the data's kind and whether it is generated: rotation on any
# images (Shapes: k-NN 0.35 → 0.9 in its preset's first epochs); on text, BERT's blanks on Roles, whose labels
# need word order, and GPT's next token on real text, where a character BERT first sits on a plateau (its card).
DEMO_TASKS = {("image", True): "rotation", ("image", False): "rotation",
              ("text", True): "mlm", ("text", False): "next_token"}


def demo_task(kind: str, generated: bool) -> str:
    return DEMO_TASKS[kind, generated]


def build_quick_demo() -> tuple[gr.Button, gr.Markdown]:
    """The button and the line that says what the demo does and did."""
    button = gr.Button(f"Quick demo: train {DEMO_MINUTES:g} minute, then measure and map", variant="primary",
                       elem_id="quick-demo")
    message = gr.Markdown("One click picks a task that suits the data, trains it for a minute, then shows its "
                          "k-NN against its random init and no learning at all, and the map of the held-out "
                          "items, coloured by class (section 5).", elem_id="quick-demo-message")
    return button, message


def wire_quick_demo(state: PageState, button: gr.Button, message: gr.Markdown, data_inputs: dict,
                    analysed: Callable[[dict], tuple], analyse_inputs: dict, analyse_outputs: list, timer: gr.Timer,
                    steps: gr.Tabs) -> None:
    """Clicking `button` starts the run and turns on the poll `timer` (the line above every step follows it),
    then waits for it, measures and maps it with step 5's `analysed` (the probes' numbers, then
    `analyse_outputs`), the map coloured by class, and turns the page (`steps`) to step 5; `message` says which
    task ran and what it reached."""
    started = gr.State(None)  # the demo's run folder, once it started; None if it did not

    def start_demo(**chosen):
        try:
            spec, options = checked_spec(state, chosen["data"]), read_options(chosen)
            dataset = load_dataset(spec, **options)
            if not dataset.labelled:
                return warning(f"{dataset.name} has no labels: the demo's k-NN and map colours need one "
                               "sub-folder per class — or pick a built-in set"), None, gr.skip()
            task = demo_task(dataset.kind.name, is_generated(spec))
            run = state.manager.start(TrainConfig(data=spec, task=task, max_minutes=DEMO_MINUTES, **options))
        except USER_ERRORS as error:
            return warning(error), None, gr.skip()
        warm_baselines(run.config.to_json())
        return (f"**Quick demo:** *{task_class(task).info.title}* trains on {dataset.name} for "
                f"{DEMO_MINUTES:g} minute; then it is measured and mapped."), str(run.out_dir), gr.Timer(active=True)

    def finish_demo(run_dir, progress=gr.Progress(), **chosen):
        skip = [gr.skip()] * (len(analyse_outputs) + 1)
        run = state.manager.current
        if run_dir is None or run is None or str(run.out_dir) != run_dir:
            return gr.skip(), *skip
        title, dataset = task_class(run.config.task).info.title, run.dataset
        while (status := run.status()).active:
            progress(min(1.0, status.elapsed_seconds / (60 * DEMO_MINUTES)),
                     desc=f"{title}: {status.elapsed_seconds:.0f} s of {60 * DEMO_MINUTES:.0f}")
            time.sleep(1)
        if status.state != "finished":
            return warning(f"the demo's run {status.state}: {status.message}"), *skip
        progress(1.0, desc="measuring and mapping")
        try:
            result, *shown = analysed({**chosen, "run": run_dir, "data": None, "representation": "trained",
                                       "colour": "label"})
        except USER_ERRORS as error:
            return warning(error), *skip
        return (f"**Quick demo:** *{title}* trained on {dataset.name} for {status.elapsed_seconds:.0f} s. k-NN "
                f"top-1 on the held-out {dataset.kind.items}: **{result['knn_top1']:.3f}**, where the same network "
                f"at random init scores {result['random_init_knn_top1']:.3f} and {result['baseline_label']} "
                f"{result[result['baseline'] + '_knn_top1']:.3f}. The table and the map, coloured by class, are in "
                "step 5."), *shown, gr.Tabs(selected="inspect")

    button.click(start_demo, inputs_kwargs=data_inputs, outputs=[message, started, timer],
                 api_name="quick_demo").then(
        finish_demo, inputs_kwargs={"run_dir": started, **analyse_inputs}, outputs=[message, *analyse_outputs, steps],
        api_name="quick_demo_result")
