"""The runs of a runs folder: a new run's folder name, the one format for the page and the command line, and
the lookup of a saved run, which opens only folders inside the runs folder that hold a checkpoint."""

import time
from pathlib import Path

from .checkpoints import RunFolder, list_runs


class RunNotFound(ValueError):
    """A run name or path that is not a run with a checkpoint in the runs folder: the message says so."""


def new_run_dir(task: str, root: str | Path = "runs") -> Path:
    """ROOT/TASK-YYYYMMDD-HHMMSS, with -2, -3, … where two runs start in the same second. (Runs named in the
    page's older format, YYYYMMDD-HHMMSS-TASK, still open: a run is found by its folder, not by its name.)"""
    base = Path(root) / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 2
    while path.exists():
        path, n = base.with_name(f"{base.name}-{n}"), n + 1
    return path


def saved_runs(root: str | Path) -> list[dict]:
    """The summaries (`RunFolder.summary`) of the runs in `root` that have a checkpoint, newest first."""
    return [run for run in list_runs(root) if RunFolder(run["run"]).checkpoint_file.is_file()]


def find_run(root: str | Path, name: str | Path | None) -> Path:
    """The run folder `name` (a folder name in `root`, or a path) — only one directly inside `root` that holds a
    checkpoint; else RunNotFound."""
    root = Path(root).resolve()
    path = (root / (name or "")).resolve()  # an absolute `name` stays itself
    if not name or path.parent != root or not RunFolder(path).checkpoint_file.is_file():
        raise RunNotFound(f"{name!r} is not a run with a checkpoint in {root}: pick one from the list.")
    return path
