"""The job that runs a run: `TrainingRun` (a thread, pause and stop, a status snapshot under a lock, events for
listeners, the run folder's metrics and checkpoints); one job at a time per app, and a queue of them, is
`manager.JobManager`. A run's settings are `settings.TrainConfig`; the loop itself is `loop.train`; the run folder's files are `checkpoints.RunFolder`;
several processes under torchrun are `distributed.World`.

Whoever watches (the page's timer, the CLI's progress bar, a test) reads `status()` snapshots or listens to
events; nobody reaches into the loop. The loop asks for a checkpoint at every epoch's end and where the run stops
within one, only from finite weights. A checkpoint holds everything training depends on — optimiser state,
counters, random generators — so `TrainingRun.go_on_from` goes on along the very curve the run would have
followed.
"""

import dataclasses
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ..data import ImageDataset, TextDataset, load_dataset
from ..tasks import PretextTask
from .checkpoints import RunFolder, TrainingState
from .distributed import World
from .loop import Ending, train
from .settings import TrainConfig, check_fits, fit_preset_batch, preset_note, resolve_device


BACKGROUND_NICENESS = 10  # CFS gives a thread at nice 10 about a tenth of a nice-0 thread's share


def yield_cpu_to_other_threads() -> None:
    """Lower the calling thread's CPU priority, on Linux, where a thread's nice value is its own: a page must
    answer while it trains (benchmarks/page_latency.py). torch's worker threads, which this thread starts at its
    first parallel operation, inherit it. The training loses nothing when nobody else wants the CPU."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
        except OSError:
            pass  # not allowed here: train at the usual priority


@dataclass
class RunStatus:
    state: str = "starting"         # starting, running, paused, finished, stopped, failed
    message: str = ""
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    total_steps: int = 0
    images_per_second: float = 0.0
    eta_seconds: float | None = None
    elapsed_seconds: float = 0.0
    task: str = ""
    device: str = ""
    encoder: str = ""
    out_dir: str = ""
    gpu_memory_gb: float | None = None  # the most GPU memory the run has held, in GiB (2**30 bytes); None on a CPU
    # From `status()`: the whole history. In an event a listener gets: the records new since the last event.
    steps: list[dict] = field(default_factory=list)   # {"step", "epoch", "loss", "lr", "images_per_second", ...}
    evals: list[dict] = field(default_factory=list)   # {"epoch", "step", "knn_top1", "feature_spread", ...}

    @property
    def active(self) -> bool:
        return self.state in ("starting", "running", "paused")


def prepare_run(config: TrainConfig, world_size: int) -> tuple[TrainConfig, ImageDataset | TextDataset, list[str]]:
    """What a run trains with: `config` resolved and checked, its data loaded, the preset's batch fitted to the data
    where the user set none, and the notes — what the run sets otherwise than its preset says, and why, one line
    each. Raises ValueError (DataError for the data) with a message a user can act on."""
    batch_asked = config.batch_size
    config = config.resolved()
    config.validate()
    dataset = load_dataset(config.data, config.image_size, config.grayscale, config.test_fraction)
    notes = [note] if (note := preset_note(config)) else []
    if batch_asked is None:
        config = fit_preset_batch(config, dataset, world_size, notes)
    check_fits(config, dataset, world_size)
    return config, dataset, notes


class TrainingRun:
    """One pretraining run. `run()` blocks; `start()` runs it in a daemon thread. With `go_on=True` it goes on
    from the checkpoint in `out_dir` (see `go_on_from`).

    `listeners` are called `listener(event, status)` from the training thread: event "step" (every few steps),
    "eval" (after each evaluation) or "end"; `status` holds only the records new since the previous event."""

    def __init__(self, config: TrainConfig, out_dir: str | Path, go_on: bool = False):
        self.out_dir = Path(out_dir)
        self.folder = RunFolder(self.out_dir)
        self.world = World.from_environment()  # one process, or one of torchrun's
        # raises ValueError or DataError with a clear message before anything starts; notes: one line each on what
        # the run sets otherwise than its preset says, and why
        config, self.dataset, self.notes = prepare_run(config, self.world.size)
        self.device = self.world.device(resolve_device(config.device))
        self.config = config
        self.steps_per_epoch = len(self.dataset.pretrain_items) // config.batch_size
        self.encoder_name = config.encoder
        self.listeners: list[Callable[[str, RunStatus], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self._thread: threading.Thread | None = None
        self._status = RunStatus(epochs=config.epochs, total_steps=self.steps_per_epoch * config.epochs,
                                 task=config.task, device=f"{self.device} ({config.precision})",
                                 encoder=self.encoder_name, out_dir=str(self.out_dir))
        self._started = time.strftime("%Y-%m-%d %H:%M:%S")
        self._saved = self.folder.load_training_state() if go_on else None  # the checkpoint it goes on from
        if self._saved is not None:
            self._restore_history()

    @classmethod
    def go_on_from(cls, run_dir: str | Path, epochs: int | None = None,
                   max_minutes: float | None = None) -> "TrainingRun":
        """Go on with a run from its last checkpoint, with its own settings, `epochs` in all (default: as many
        as it asked for) and a new time budget if given. Weights, optimiser state, counters and random
        generators come back as they were, so the losses go on as if the run had never been cut."""
        config = TrainConfig.from_json(RunFolder(run_dir).read_config())
        config = dataclasses.replace(config, epochs=config.epochs if epochs is None else epochs,
                                     max_minutes=max_minutes)
        return cls(config, run_dir, go_on=True)

    def _restore_history(self):
        """The status as the checkpoint left it. metrics.json is written just before each checkpoint, so it may
        hold records past it: those are dropped."""
        saved, metrics, s = self._saved, self.folder.read_metrics(), self._status
        if saved.step >= s.total_steps:
            raise ValueError(f"{self.out_dir} has trained {saved.step} steps, all that {s.epochs} epochs make: "
                             "ask for more epochs to go on")
        s.steps = [record for record in metrics.get("steps", []) if record["step"] <= saved.step]
        s.evals = [record for record in metrics.get("evals", []) if record["step"] <= saved.step]
        s.step, s.epoch, s.elapsed_seconds = saved.step, saved.epoch, metrics.get("elapsed_seconds", 0.0)
        self._started = metrics.get("started", self._started)

    # --- control, safe to call from any thread -----------------------------------------------------------
    def start(self) -> "TrainingRun":
        self._thread = threading.Thread(target=self._run_in_background, name="training", daemon=True)
        self._thread.start()
        return self

    def _run_in_background(self):
        yield_cpu_to_other_threads()
        self.run()

    def stop(self) -> None:
        self._stop.set()
        self._unpaused.set()

    def pause(self) -> None:
        with self._lock:
            if self._status.state in ("starting", "running"):
                self._unpaused.clear()
                self._status.state, self._status.message = "paused", "paused"

    def unpause(self) -> None:
        with self._lock:
            if self._status.state == "paused":
                self._status.state, self._status.message = "running", ""
                self._unpaused.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def status(self) -> RunStatus:
        """A snapshot. History records are never changed once appended, so copying the lists is enough."""
        with self._lock:
            return dataclasses.replace(self._status, steps=list(self._status.steps),
                                       evals=list(self._status.evals))

    # --- the run -------------------------------------------------------------------------------------------
    def run(self) -> RunStatus:
        try:
            self.world.start(self.device)
            if self.world.main:
                self.folder.write_config({**self.config.to_json(), "encoder_resolved": self.encoder_name})
            with self._lock:
                if self._status.state == "starting":  # it may have been paused already
                    self._status.state = "running"
            weights = self.folder.load_weights() if self._saved is not None else None
            ending = train(self.config, self.dataset, self.device, self, self.world, self._saved, weights,
                           self._status.elapsed_seconds)
            self._finish(ending)
        except torch.cuda.OutOfMemoryError:  # the run fails, the app goes on: say what to change
            batch = self.config.batch_size
            self._fail(f"the GPU ran out of memory at batch size {batch}: try a smaller batch size, e.g. "
                       f"{max(2, batch // 2)}")
        except Exception as error:
            self._fail(f"training failed: {type(error).__name__}: {error}")
        finally:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()  # what the run held goes back to the app and the next run
            self.world.end()
            self._emit("end")
        return self.status()

    # --- what the loop calls (`loop.Job`) ------------------------------------------------------------------
    def wait_while_paused(self) -> float:
        """Block while paused; the seconds waited (neither training time nor budget)."""
        if self._unpaused.is_set():
            return 0.0
        began = time.perf_counter()
        self._unpaused.wait()
        return time.perf_counter() - began

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def logged(self, records: list[dict], **where) -> None:
        """New step records and where the run stands (step, epoch, speed, ETA, …)."""
        self._update(records, **where)
        self._emit("step", steps=records)

    def evaluated(self, record: dict) -> None:
        with self._lock:
            self._status.evals.append(record)
        self._emit("eval", evals=[record])

    def save_checkpoint(self, task: PretextTask, state: TrainingState, epoch_end: bool = False) -> None:
        """metrics.json, then the checkpoint: going on from it keeps the history up to its step. Only the main
        process writes."""
        if self.world.main:
            self._write_metrics()
            self.folder.save_checkpoint(task, state, epoch_end)
            if epoch_end and self._best_held_out_loss():
                self.folder.save_best(task, state)

    def _best_held_out_loss(self) -> bool:
        """Whether the last held-out loss is the run's lowest (on small text it turns up once the model learns
        the training text by heart: a language model's best checkpoint is kept apart)."""
        with self._lock:
            losses = [e["val_loss"] for e in self._status.evals if "val_loss" in e]
        return bool(losses) and losses[-1] <= min(losses)

    # --- the end -----------------------------------------------------------------------------------------
    def _finish(self, ending: Ending):
        """metrics.json as the run ended, then its status."""
        if self.world.main:
            self._write_metrics(state=ending.state, message=ending.message)
        self._update(state=ending.state, message=ending.message,
                     eta_seconds=0.0 if ending.state == "finished" else None)

    def _fail(self, message: str):
        self._update(state="failed", message=message)
        if self.world.main and self.folder.config_file.is_file():
            self._write_metrics()

    def _write_metrics(self, **final):
        self.folder.write_metrics({**self._metrics(), **final})

    def _metrics(self) -> dict:
        with self._lock:
            s = self._status
            return {"state": s.state, "message": s.message, "started": self._started, "epoch": s.epoch,
                    "epochs": s.epochs, "step": s.step, "elapsed_seconds": s.elapsed_seconds,
                    "steps": list(s.steps), "evals": list(s.evals)}

    def _update(self, new_steps: list[dict] = (), **changes):
        with self._lock:
            self._status.steps.extend(new_steps)
            for key, value in changes.items():
                setattr(self._status, key, value)

    def _emit(self, event: str, steps: list[dict] = (), evals: list[dict] = ()):
        """Tell the listeners what is new: a snapshot of the counters with only the new records."""
        if self.listeners:
            with self._lock:
                status = dataclasses.replace(self._status, steps=list(steps), evals=list(evals))
            for listener in self.listeners:
                listener(event, status)
