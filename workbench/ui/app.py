"""The page: a thin Gradio layer over the engine, one module per section. A lesson's steps are tabs, in order,
under one line that says how the run in the background goes, whatever the step shown:

    data_section      1 · Data (and the quick demo: one click to a result, quick_demo.py)
    task_section      2 · Pretext task, 3 · What the model sees
    training_section  4 · Pretrain (and the runs of this app; live_view.py: its status, plots and runs table)
    inspect/          5 · Inspect the representation, one module per panel
    compare_section   6 · Compare runs (and a queue of runs that trains one after another; a hand-out)

Each section lays out and wires its own components; what they share is a `PageState` (state.py) and the few
components one section hands the next (the data choice, the task and its parameters). A handler takes its
inputs as one dict, by the name of the setting each holds, and a user's error reaches the page as a message
(errors.py).
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home

import contextvars  # noqa: E402
import functools  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402

from ..evaluation.umap import warm_up_umap  # noqa: E402
from ..engine.manager import JobManager  # noqa: E402
from .data_section import build_data_section  # noqa: E402
from .compare_section import build_compare_section  # noqa: E402
from .inspect import build_inspection_section  # noqa: E402
from .live_view import POLL_EVERY, status_line  # noqa: E402
from .quick_demo import build_quick_demo  # noqa: E402
from .state import PageState  # noqa: E402
from .task_section import build_task_section  # noqa: E402
from .training_section import build_training_section  # noqa: E402

ASSETS = Path(__file__).resolve().parents[2] / "assets"


# The steps' tabs: (id, label); a tab's elem_id is "step-" + its id, and its button's "step-ID-button".
STEPS = [("data", "1 · Data"), ("task", "2 · Task"), ("preview", "3 · What the model sees"), ("pretrain", "4 · Pretrain"),
         ("inspect", "5 · Inspect"), ("compare", "6 · Compare runs")]
# The projector setting: larger type for the back of a lecture room (a class on the page, style.css).
PROJECTOR_JS = "(on) => { document.body.classList.toggle('wb-projector', on); }"


def step(step_id: str) -> gr.Tab:
    """The tab of one step of the lesson, laid out when the page loads, not when first opened: what a step holds
    works while another is shown (step 4's poll timer keeps the line above every step). Every component of a
    section lies inside its tab: Gradio 6.31 counts a component made between two tabs (a gr.State, say) as a
    tab, and opening a later tab then gave a button the wrong label and id."""
    return gr.Tab(dict(STEPS)[step_id], id=step_id, elem_id=f"step-{step_id}", render_children=True)


def build_app(state: PageState) -> gr.Blocks:
    with gr.Blocks(title="SSL Workbench") as demo:
        with gr.Row(elem_id="header", equal_height=True):
            gr.Markdown("**SSL Workbench** — invent a pretext task whose labels come from the data itself, learn a "
                        "representation by solving it, then see how well it serves with few labels.", scale=5)
            projector = gr.Checkbox(False, label="Projector: larger type", scale=1, elem_id="projector",
                                    container=False)
        live_line = gr.Markdown(status_line(None), elem_id="live-status")
        poll_timer = gr.Timer(POLL_EVERY, active=False)  # keeps the line, whatever the step shown
        with gr.Tabs(elem_id="steps") as steps:
            with step("data"):  # with the quick demo, step 1's one click to a result, which fills step 5
                data, quick_demo = build_data_section(demo, state, beside=build_quick_demo)
            task = build_task_section(demo, state, data, step)
            with step("pretrain"):
                training = build_training_section(demo, state, data, task, live_line, poll_timer)
            with step("inspect"):
                build_inspection_section(demo, state, training, data, quick_demo, steps)
            with step("compare"):
                build_compare_section(demo, state, data, training)
        projector.change(None, projector, None, js=PROJECTOR_JS)
    for event in demo.fns.values():
        if event.fn is not None:  # None: an event that runs only in the browser (js)
            event.fn = in_a_thread_of_its_own(event.fn)
    return demo


def in_a_thread_of_its_own(handler):
    """`handler`, run in a new thread that ends with it, in Gradio's context (progress, warnings, errors).

    Why: every thread that computes with torch keeps an OpenMP pool of worker threads for as long as it
    lives, and Gradio's worker threads live on. Once the process holds more pooled threads than the machine
    has cores, libgomp stops letting idle workers spin and puts them to sleep after every parallel operation,
    so the training thread waits for a wake-up at each of its many small operations: a run started from the
    page took 1.4x the time of the same run from the command line on 2 cores (89 s against 63 s)."""
    @functools.wraps(handler)
    def run(*args, **kwargs):
        context, outcome = contextvars.copy_context(), {}

        def target():
            try:
                outcome["value"] = context.run(handler, *args, **kwargs)
            except BaseException as error:  # raised again in Gradio's thread, which reports it
                outcome["error"] = error

        thread = threading.Thread(target=target, name=f"page: {handler.__name__}")
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]
    return run


def serve(host="127.0.0.1", port=7860, runs_root="runs", block=True, data_roots=None, auth=None):
    """Start the page. `data_roots`: the folders a path typed in the page may lie in (default: the working and
    home folders). `auth`: (user, password) that the page asks for. Returns the running app when `block` is
    False (tests)."""
    warm_up_umap()  # pay numba's compile time now, in the background, not when someone asks for a map
    uploads = Path(tempfile.gettempdir()) / "ssl-workbench-uploads"
    roots = tuple(Path(root).expanduser().resolve() for root in (data_roots or (Path.cwd(), Path.home())))
    demo = build_app(PageState(JobManager(runs_root), roots, uploads))
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=host, server_port=port, prevent_thread_lock=not block, quiet=not block,
                show_error=True, enable_monitoring=False, run_history=False, auth=auth,
                css_paths=[ASSETS / "style.css"], head_paths=[ASSETS / "names.html"], theme=gr.themes.Soft())
    return demo
