"""The live view of section 4: the status line, the progress bar, the loss and k-NN plots and the runs table,
polled by every open page from the server's one training job."""

import math
import time
from pathlib import Path

import gradio as gr

from ..data.kinds import KINDS
from ..engine.checkpoints import list_runs
from ..engine.job import RunStatus
from ..engine.manager import JobManager
from ..inspection import plots
from ..tasks import task_class

RUN_COLUMNS = ["run", "task", "data", "epochs", "seconds", "k-NN", "started", "state"]
# How often the page asks for the live status, and redraws the loss plot. Every poll costs the browser far more
# than the server (Gradio's front end walks its whole component tree for each output), on the cores the
# training needs: polled every second, with the loss redrawn each time, headless Chromium used 9 – 10 s of CPU
# in 30 s of rotation's preset, and the run trained at ~500 images/s; every 2 s, off the queue, with the loss
# every 4 s: 3.9 s and ~700 images/s (benchmarks/JOURNAL.md; benchmarks/page_training.py measures it).
POLL_EVERY, LOSS_PLOT_EVERY = 2.0, 4.0


# What a language model's records measure beyond the loss, in words: the key of its step records (its held-out
# twin in the eval records is "val_" + key) and how to say it.
TASK_MEASURES = {"masked_accuracy": "masked-token accuracy", "bits_per_token": "bits per token"}


def task_measures(status) -> str:
    """"masked-token accuracy 0.41 (held out 0.39)" where the run's records hold such a measure; else ""."""
    step = status.steps[-1] if status.steps else {}
    held_out = status.evals[-1] if status.evals else {}
    words = []
    for key, name in TASK_MEASURES.items():
        if key in step:
            twin = f" (held out {held_out[f'val_{key}']:.3f})" if f"val_{key}" in held_out else ""
            words.append(f"{name} {step[key]:.3f}{twin}")
    if "val_loss" in held_out:
        words.append(f"held-out loss {held_out['val_loss']:.3f}")
    return " · ".join(words)


def status_markdown(status) -> str:
    if status is None:
        return "No training run yet. Choose data and a task, then press **Start**."
    done = f"step {status.step:,} / {status.total_steps:,} · epoch {status.epoch} / {status.epochs}"
    items = KINDS[task_class(status.task).kind].items
    speed = f"{status.images_per_second:,.0f} {items}/s" if status.images_per_second else ""
    eta = f"ETA {status.eta_seconds:,.0f} s" if status.eta_seconds and status.state == "running" else ""
    knn = "" if not status.evals else ("k-NN: no labels" if math.isnan(status.evals[-1]["knn_top1"])
                                       else f"k-NN top-1 {status.evals[-1]['knn_top1']:.3f}")
    spread = (f"collapse monitor: spread {status.evals[-1]['feature_spread']:.2f} × 1/√d (≈1 healthy, → 0 "
              f"collapsed), effective rank {status.evals[-1]['effective_rank']:.1f}" if status.evals else "")
    memory = f"GPU memory {status.gpu_memory_gb:.1f} GiB at most" if status.gpu_memory_gb is not None else ""
    line = " · ".join(part for part in (done, speed, eta, task_measures(status), knn, spread, memory) if part)
    message = f"\n\n{status.message}" if status.message else ""
    return (f"**{status.state.upper()}** — {line}  \n`{status.out_dir}` on {status.device} "
            f"({status.encoder}){message}\n\n*What to look for:* {task_class(status.task).info.look_for}")


def status_line(status, waiting: int = 0, skipped: list[str] = ()) -> str:
    """The one line above every step of the page: what trains, how far, how well — what waits after it, and why
    the last of the queue's runs that did not start did not (`skipped`)."""
    queued = (f" · {waiting} more queued" if waiting else "") + (f" · {skipped[-1]}" if skipped else "")
    if status is None:
        return "No run is training." + queued
    knn = next((e["knn_top1"] for e in reversed(status.evals) if not math.isnan(e.get("knn_top1", math.nan))), None)
    parts = [f"**{status.state.upper()}** {task_class(status.task).info.title.split(' — ')[0]}",
             f"{100 * status.step / max(status.total_steps, 1):.0f} %", f"epoch {status.epoch} / {status.epochs}",
             f"k-NN {knn:.3f}" if knn is not None else "",
             f"ETA {status.eta_seconds:,.0f} s" if status.eta_seconds and status.state == "running" else "",
             Path(status.out_dir).name]
    return " · ".join(part for part in parts if part) + queued


def progress_html(status) -> str:
    fraction = status.step / status.total_steps if status and status.total_steps else 0.0
    return (f'<div class="wb-progress"><div class="wb-progress-bar" style="width:{100 * fraction:.1f}%"></div>'
            f'<span>{100 * fraction:.0f} %</span></div>')


def runs_table(runs_root, live: RunStatus | None = None) -> list[list]:
    """The app's runs, newest first: the rows of the runs table. The run going on (`live`) reads as the status
    line above says: its folder on disk lags behind (no state or k-NN written in its first seconds)."""
    rows = []
    for run in list_runs(runs_root):
        if live is not None and Path(run["run"]) == Path(live.out_dir):
            knn = next((e["knn_top1"] for e in reversed(live.evals) if "knn_top1" in e), None)
            run = {**run, "epoch": live.epoch, "epochs": live.epochs or run["epochs"],
                   "seconds": live.elapsed_seconds, "knn_top1": knn, "state": live.state}
        knn = run["knn_top1"]
        rows.append([Path(run["run"]).name, run["task"], Path(run["data"]).name, f"{run['epoch']} / {run['epochs']}",
                     round(run["seconds"]), "" if knn is None or math.isnan(knn) else round(knn, 3), run["started"],
                     run["state"]])
    return rows


def run_names(runs_root) -> list[str]:
    """The names of the app's runs, newest first: what the runs table's rows begin with."""
    return [Path(run["run"]).name for run in list_runs(runs_root)]


def busy(manager: JobManager) -> bool:
    """Whether a run goes on, or waits in the queue: the poll timer is on while it does."""
    return bool(manager.current is not None and manager.current.status().active or manager.queued())


def polling(manager: JobManager) -> gr.Timer:
    """The poll timer, on while a run goes on or waits."""
    return gr.Timer(active=busy(manager))


class LivePoll:
    """The poll of every open page: the status, and the plots and runs table only where they changed. The
    newest plot of each kind is built once, with what it shows, for all the pages polling."""

    def __init__(self, manager: JobManager):
        self.manager = manager
        self.latest = {}

    def figure(self, kind, shows, build):
        if self.latest.get(kind, (None,))[0] != shows:
            self.latest[kind] = (shows, build())
        return self.latest[kind][1]

    def poll(self, drawn):
        """Status for the page. Plots are re-sent only when they have new points, the loss at most every
        LOSS_PLOT_EVERY seconds while a run goes on: redrawing a Plotly figure costs the browser far more than
        building it costs the server, and both share the training's CPU. `drawn`: what this page shows, (run
        folder, steps, evals, state, when the loss was drawn)."""
        run, waiting = self.manager.current, len(self.manager.queued())
        now = run.status() if run else None
        seen = (now.out_dir, len(now.steps), len(now.evals), now.state) if now else ("", 0, 0, "")
        shown = drawn or (None, None, None, None, 0.0)
        fresh_evals = (seen[0], seen[2]) != (shown[0], shown[2])
        fresh_runs = fresh_evals or seen[3] != shown[3]  # a new run, epoch or state
        fresh_steps = fresh_evals or seen[:2] != tuple(shown[:2]) and (  # an eval: the held-out loss's new point
            fresh_runs or time.monotonic() - shown[4] >= LOSS_PLOT_EVERY - POLL_EVERY / 2)
        shows = (seen[0], seen[1] if fresh_steps else shown[1], seen[2], seen[3],
                 time.monotonic() if fresh_steps else shown[4])
        return (
            status_markdown(now),
            progress_html(now),
            self.figure("loss", seen[:3], lambda: plots.loss_figure(now.steps if now else [],
                                                                    now.total_steps if now else 0,
                                                                    now.evals if now else []))
            if fresh_steps else gr.skip(),
            self.figure("knn", (seen[0], seen[2]), lambda: plots.knn_figure(now.evals if now else [],
                                                                            now.epochs if now else 0))
            if fresh_evals else gr.skip(),
            runs_table(self.manager.runs_root, now) if fresh_runs else gr.skip(),
            shows,
            f"{seen[0]}:{seen[2]}" if fresh_evals else gr.skip(),  # a new checkpoint: redraw the predictions
            gr.Timer(active=bool(now and now.active or waiting)),
            status_line(now, waiting, self.manager.queue_errors),
        )
