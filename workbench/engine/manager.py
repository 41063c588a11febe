"""One training run at a time per app, and a queue of runs that train one after another (`JobManager`): what
the page and `python -m workbench queue` start runs with."""

import threading
from pathlib import Path

from ..data import DataError
from .distributed import World
from .job import RunStatus, TrainingRun, prepare_run
from .runs import new_run_dir
from .settings import TrainConfig


class JobManager:
    """At most one training run at a time per app; the run belongs to the server, not to a page. Configs queued
    with `enqueue` train one after another, each in a new run folder, starting as the run before ends — finished,
    failed or stopped: `TrainingRun.stop` ends the current run only, and the next queued one starts (`clear_queue`
    first to end them all)."""

    def __init__(self, runs_root: str | Path = "runs"):
        self.runs_root = Path(runs_root)
        self._lock = threading.Lock()
        self.current: TrainingRun | None = None
        self._waiting: list[TrainConfig] = []  # in order; the first starts as soon as no run is active
        self.queue_errors: list[str] = []      # why a config of the queue did not start, newest last

    def start(self, config: TrainConfig) -> TrainingRun:
        with self._lock:
            self._refuse_if_busy()
            return self._start_as_current(TrainingRun(config, new_run_dir(config.task, self.runs_root)))

    def go_on(self, run_dir: str | Path, epochs: int | None = None, max_minutes: float | None = None) -> TrainingRun:
        """Go on with a saved run in the background (see `TrainingRun.go_on_from`)."""
        with self._lock:
            self._refuse_if_busy()
            return self._start_as_current(TrainingRun.go_on_from(run_dir, epochs, max_minutes))

    def enqueue(self, configs: list[TrainConfig]) -> list[TrainConfig]:
        """Queue `configs` to train one after another, after the run going and the configs queued before; the first
        starts at once if no run is active. Each is checked as its run will check it (settings, data, batch) before
        any is queued, so that a lesson's plan is refused now, whole, not halfway through: ValueError (DataError for
        the data) naming the config. What was queued."""
        world_size = World.from_environment().size
        for number, config in enumerate(configs, 1):
            try:
                prepare_run(config, world_size)
            except ValueError as error:
                refusal = DataError if isinstance(error, DataError) else ValueError
                raise refusal(f"queued run {number} of {len(configs)} ({config.task}): {error}") from error
        with self._lock:
            if not self._waiting:
                self.queue_errors.clear()  # a new plan: what did not start of the last one is old news
            self._waiting.extend(configs)
            if not self._active():
                self._start_next()
        return list(configs)

    def queued(self) -> list[TrainConfig]:
        """The configs that wait, in the order they will train."""
        with self._lock:
            return list(self._waiting)

    def clear_queue(self) -> int:
        """Drop the configs that wait (the current run goes on); how many were dropped."""
        with self._lock:
            dropped = len(self._waiting)
            self._waiting.clear()
            return dropped

    def _start_as_current(self, run: TrainingRun) -> TrainingRun:
        """`run` started as the current one, with a listener that starts the next queued config as it ends."""
        def start_next_at_end(event: str, status: RunStatus):
            if event == "end":
                with self._lock:
                    if self.current is run:  # else a run has started since, and the queue waits for it
                        self._start_next()

        run.listeners.append(start_next_at_end)
        self.current = run.start()
        return run

    def _start_next(self) -> None:
        """Start the first waiting config that starts; skip one that does not (its data gone since it was
        checked, say), keeping why. Called under the lock, maybe in the training thread of the run that ended."""
        while self._waiting:
            config = self._waiting.pop(0)
            try:
                self._start_as_current(TrainingRun(config, new_run_dir(config.task, self.runs_root)))
                return
            except Exception as error:  # raised in a training thread nobody would hear it, and the queue would stall
                self.queue_errors.append(f"queued {config.task} did not start: {error}")

    def _active(self) -> bool:
        return self.current is not None and self.current.status().active

    def _refuse_if_busy(self):
        if self._waiting:
            raise RuntimeError(f"a training run is already going and the queue holds {len(self._waiting)} more: "
                               "clear the queue and stop the run first, or wait until they end")
        if self._active():
            raise RuntimeError("a training run is already going: stop it first, or wait until it ends")
