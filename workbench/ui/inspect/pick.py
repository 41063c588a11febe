"""The run and the data that every panel of section 5 measures: the pick, and what it opens."""

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ...data import available_builtins
from ...engine.checkpoints import RunFolder
from ...engine.manager import JobManager
from ...engine.runs import RunNotFound, find_run, saved_runs
from ..data_section import checked_spec
from ..state import PageState

OWN_DATA = "(the run's own data)"
LATEST = "the latest run (the one training now, if any)"


@dataclass
class RunPick:
    """The picked run (a run folder's path; "" for the latest run) and the data it is measured on."""
    run: gr.Dropdown
    data: gr.Dropdown

    @property
    def inputs(self) -> dict:
        return {"run": self.run, "data": self.data}


def run_choices(manager: JobManager) -> list[tuple[str, str]]:
    """The app's run folders with a checkpoint, newest first, as (label, path), after "the latest run"."""
    return [(LATEST, "")] + [(f"{Path(run['run']).name} · {run['task']} on {Path(run['data']).name} · epoch "
                              f"{run['epoch']}", run["run"]) for run in saved_runs(manager.runs_root)]


def chosen_run(manager: JobManager, choice: str | None) -> Path:
    """The picked run folder — only one with a checkpoint in the app's runs folder — or else the latest run:
    the one training now, or the newest saved one."""
    if not choice:
        saved = saved_runs(manager.runs_root)
        latest = manager.current.out_dir if manager.current else saved[0]["run"] if saved else None
        if latest is None:
            raise RunNotFound("No run yet: train one first, or pick a run from the list.")
        choice = latest
    return find_run(manager.runs_root, str(Path(choice).resolve()))


def chosen_data(state: PageState, choice: str | None) -> str | None:
    """None for the run's own data; another data set (transfer) only inside the app's data roots."""
    if not choice or choice == OWN_DATA:
        return None
    return checked_spec(state, choice)


def checkpoint_time(run_dir: Path) -> float:
    """When the run's checkpoint was written: part of every cache key, so that a new epoch is measured anew."""
    return RunFolder(run_dir).checkpoint_file.stat().st_mtime


def build_run_pick(state: PageState, saved_run: gr.Dropdown) -> RunPick:
    """Lay out the run and data pickers; a run picked in the training section's `saved_run` is picked here."""
    manager = state.manager
    with gr.Row():
        run = gr.Dropdown(run_choices(manager), value="", label="Run", scale=3, elem_id="inspect-run")
        refresh = gr.Button("↻ Runs", scale=0, elem_id="refresh-runs")
        data = gr.Dropdown([OWN_DATA] + list(available_builtins()), value=OWN_DATA, allow_custom_value=True, scale=2,
                           label="Measure on", elem_id="inspect-data",
                           info="Another data set than the run's own tests transfer (a folder path works too).")

    def open_saved(name):
        choices = run_choices(manager)
        path = (manager.runs_root / name).resolve() if name else None
        found = [value for _, value in choices[1:] if Path(value).resolve() == path]
        return gr.Dropdown(choices=choices, value=found[0]) if found else gr.skip()

    refresh.click(lambda: gr.Dropdown(choices=run_choices(manager)), None, run, api_name="runs")
    saved_run.change(open_saved, saved_run, run, api_name=False)
    return RunPick(run, data)
