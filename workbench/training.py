"""The training engine: one pretraining run, in the foreground (CLI) or a background thread (the page).

A `TrainingRun` loads its data, builds encoder and task, and loops over epochs. After every step it updates a
`RunStatus` snapshot under a lock; after every epoch it measures k-NN accuracy and the collapse monitor on a
fixed subset and writes a checkpoint. Whoever watches (the page's timer, the CLI's progress bar, a test)
reads snapshots or listens to events; nobody reaches into the loop.

The run folder (see `checkpoints.RunFolder`) gets a checkpoint at every epoch's end and when the run stops, only
from finite weights. A checkpoint holds everything training depends on — optimiser state, counters, random
generators — so `TrainingRun.resume_from` goes on along the very curve the run would have followed.
"""

import dataclasses
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from .checkpoints import RunFolder, TrainingState
from .data import TEST_FRACTION, VIEW_PRESETS, check_options, load_dataset, resolve_data_path
from .evaluation import effective_rank, embed, feature_spread, knn_accuracy, stratified_sample
from .models import ENCODERS, create_encoder, default_encoder
from .tasks import PretextTask, Progress, create_task, make_params, task_class
from .tasks.parts.views import ViewParams

EVAL_BANK, EVAL_QUERIES = 2000, 1000  # images used by the online k-NN after each epoch


@dataclass
class TrainConfig:
    data: str = "shapes"            # a built-in name, "cifar10:ROOT" and the like, or a folder (see workbench.data)
    task: str = "rotation"
    task_params: dict[str, Any] = field(default_factory=dict)  # overrides of the task's Params
    encoder: str = "auto"           # "auto": the task's own, else small_cnn on a CPU and resnet18 on a GPU
    # None: the task's preset for the device (see `tasks --json`); a value overrides it.
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None  # peak, after a linear warm-up, then a cosine decay to zero
    weight_decay: float | None = None
    optimizer: str | None = None    # "adamw" or "sgd"
    device: str = "auto"            # "auto", "cpu" or "cuda"
    seed: int = 0
    max_minutes: float | None = None  # a time budget: the run ends there with a checkpoint; the schedule fits it
    image_size: int = 32            # the resolution the images are read at, in pixels
    grayscale: bool = False         # every image in grey
    test_fraction: float = TEST_FRACTION  # held out for the k-NN where the data has no test split of its own

    def resolved(self) -> "TrainConfig":
        """Every value filled in: the task's preset for the device where the user set none; params typed."""
        task_cls = task_class(self.task)
        device = resolve_device(self.device)
        preset = task_cls.preset_for(device.type)
        encoder = self.encoder
        if encoder == "auto":
            encoder = task_cls.encoders[0] if task_cls.encoders else default_encoder(device)
        params = dataclasses.asdict(make_params(task_cls, {**task_defaults(self.task, self.data), **self.task_params}))
        filled = {name: getattr(preset, name) if getattr(self, name) is None else getattr(self, name)
                  for name in ("epochs", "batch_size", "learning_rate", "weight_decay", "optimizer")}
        return dataclasses.replace(self, data=resolve_data_path(self.data), task_params=params, encoder=encoder,
                                   **filled)

    def validate(self) -> None:
        """Raise ValueError with a message a user can act on (call on a resolved config)."""
        task_cls = task_class(self.task)
        make_params(task_cls, self.task_params)
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {self.encoder!r}; choose from auto, {', '.join(ENCODERS)}")
        if task_cls.encoders and self.encoder not in task_cls.encoders:
            raise ValueError(f"{self.task} trains only {', '.join(task_cls.encoders)}, not {self.encoder}")
        if not task_cls.encoders and self.encoder not in ("small_cnn", "resnet18"):
            raise ValueError(f"{self.task} trains a CNN encoder (small_cnn or resnet18), not {self.encoder}")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose from adamw, sgd")
        if not 1 <= self.epochs <= 10_000:
            raise ValueError(f"epochs must be between 1 and 10000, got {self.epochs}")
        if not 2 <= self.batch_size <= 8192:
            raise ValueError(f"batch size must be between 2 and 8192, got {self.batch_size}")
        if not (0 < self.learning_rate <= 1):
            raise ValueError(f"learning rate must be in (0, 1], got {self.learning_rate}")
        if not (0 <= self.weight_decay <= 1):
            raise ValueError(f"weight decay must be in [0, 1], got {self.weight_decay}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max minutes must be more than 0 (or unset: no time limit), got {self.max_minutes}")
        resolve_device(self.device)
        check_options(self.image_size, self.test_fraction)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def task_defaults(task: str, data: str) -> dict[str, Any]:
    """A task's parameter defaults on a data set: its paper's, with the data set's own strengths for the
    joint-embedding views where it has any (`VIEW_PRESETS`). What the user sets overrides both."""
    task_cls = task_class(task)
    params = dataclasses.asdict(task_cls.Params())
    if issubclass(task_cls.Params, ViewParams):
        params.update(VIEW_PRESETS.get(str(data).strip().lower(), {}))
    return params


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was asked for but no GPU is available here; use device 'cpu' or 'auto'")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; choose from auto, cpu, cuda")
    return torch.device(name)


def learning_rate_at(step: int, total: int, peak: float) -> float:
    """Linear warm-up over the first 5 % of steps, then cosine decay to zero."""
    warmup = max(1, total // 20)
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def generator_states(gen: torch.Generator) -> dict[str, torch.Tensor]:
    """The states of every random generator training draws from: its own and torch's global ones."""
    states = {"augment": gen.get_state(), "torch": torch.get_rng_state()}
    if gen.device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(gen.device)
    return states


def restore_generators(gen: torch.Generator, states: dict[str, torch.Tensor]) -> None:
    gen.set_state(states["augment"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], gen.device)


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
    steps: list[dict] = field(default_factory=list)   # {"step", "epoch", "loss", "lr", "images_per_second", ...}
    evals: list[dict] = field(default_factory=list)   # {"epoch", "step", "knn_top1", "feature_spread"}

    @property
    def active(self) -> bool:
        return self.state in ("starting", "running", "paused")


class TrainingRun:
    """One pretraining run. `run()` blocks; `start()` runs it in a daemon thread. With `resume=True` it goes on
    from the checkpoint in `out_dir` (see `resume_from`)."""

    def __init__(self, config: TrainConfig, out_dir: str | Path, resume: bool = False):
        config = config.resolved()
        config.validate()
        self.config = config
        self.out_dir = Path(out_dir)
        self.folder = RunFolder(self.out_dir)
        self.device = resolve_device(config.device)
        # raises DataError with a clear message before anything starts
        self.dataset = load_dataset(config.data, config.image_size, config.grayscale, config.test_fraction)
        images = len(self.dataset.pretrain_images)
        if config.batch_size > images:
            raise ValueError(f"batch size must be between 2 and {images} (the training images of "
                             f"{self.dataset.name}), got {config.batch_size}")
        self.steps_per_epoch = images // config.batch_size
        self.encoder_name = config.encoder
        self.listeners: list[Callable[[str, RunStatus], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self._thread: threading.Thread | None = None
        self._status = RunStatus(epochs=config.epochs, total_steps=self.steps_per_epoch * config.epochs,
                                 task=config.task, device=str(self.device), encoder=self.encoder_name,
                                 out_dir=str(self.out_dir))
        self._started = time.strftime("%Y-%m-%d %H:%M:%S")
        self._eval_seconds = 0.0  # how long the last evaluation took: a time budget keeps that much for the last
        self._resumed = self.folder.load_training_state() if resume else None
        if self._resumed is not None:
            self._restore_history()

    @classmethod
    def resume_from(cls, run_dir: str | Path, epochs: int | None = None,
                    max_minutes: float | None = None) -> "TrainingRun":
        """Go on with a run from its last checkpoint, with its own settings, `epochs` in all (default: as many
        as it asked for) and a new time budget if given. Weights, optimiser state, counters and random
        generators come back as they were, so the losses go on as if the run had never been cut."""
        saved = RunFolder(run_dir).read_config()
        names = {f.name for f in dataclasses.fields(TrainConfig)}
        config = TrainConfig(**{name: value for name, value in saved.items() if name in names})
        config = dataclasses.replace(config, epochs=config.epochs if epochs is None else epochs,
                                     max_minutes=max_minutes)
        return cls(config, run_dir, resume=True)

    def _restore_history(self):
        """The status as the checkpoint left it. metrics.json is written just before each checkpoint, so it may
        hold records past it: those are dropped."""
        resumed, metrics, s = self._resumed, self.folder.read_metrics(), self._status
        if resumed.step >= s.total_steps:
            raise ValueError(f"{self.out_dir} has trained {resumed.step} steps, all that {s.epochs} epochs make: "
                             "ask for more epochs to go on")
        s.steps = [record for record in metrics.get("steps", []) if record["step"] <= resumed.step]
        s.evals = [record for record in metrics.get("evals", []) if record["step"] <= resumed.step]
        s.step, s.epoch, s.elapsed_seconds = resumed.step, resumed.epoch, metrics.get("elapsed_seconds", 0.0)
        self._started = metrics.get("started", self._started)

    # --- control, safe to call from any thread -----------------------------------------------------------
    def start(self) -> "TrainingRun":
        self._thread = threading.Thread(target=self.run, name="training", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._unpaused.set()

    def pause(self) -> None:
        with self._lock:
            if self._status.state in ("starting", "running"):
                self._unpaused.clear()
                self._status.state, self._status.message = "paused", "paused"

    def resume(self) -> None:
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

    # --- the loop ------------------------------------------------------------------------------------------
    def run(self) -> RunStatus:
        try:
            self._train()
        except Exception as error:  # the run fails, the app goes on: say what happened
            self._update(state="failed", message=f"training failed: {type(error).__name__}: {error}")
            if self.folder.config_file.is_file():
                self._save()
        finally:
            self._emit("end")
        return self.status()

    def _train(self):
        cfg, device = self.config, self.device
        budget = None if cfg.max_minutes is None else 60 * cfg.max_minutes  # seconds, pauses not counted
        begin, paused = time.perf_counter(), 0.0
        torch.manual_seed(cfg.seed)
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        encoder = create_encoder(self.encoder_name, seed=cfg.seed)
        task = create_task(cfg.task, encoder, **cfg.task_params).to(device)
        task = task.to(memory_format=torch.channels_last)  # ~1.5x faster convolutions on a CPU
        groups = task.param_groups(cfg.weight_decay)
        if cfg.optimizer == "sgd":
            optimizer = torch.optim.SGD(groups, lr=cfg.learning_rate, momentum=0.9)
        else:
            optimizer = torch.optim.AdamW(groups, lr=cfg.learning_rate)

        images = self.dataset.pretrain_images.to(device)  # uint8, the whole set: batches are cut on the device
        batch_size, steps_per_epoch, total = cfg.batch_size, self.steps_per_epoch, self._status.total_steps
        self.folder.write_config({**cfg.to_json(), "encoder_resolved": self.encoder_name})
        with self._lock:
            if self._status.state == "starting":  # it may have been paused already
                self._status.state = "running"
        self._pick_eval_subset()
        if self._resumed is None:
            step, first_epoch, first_batch, order = 0, 1, 0, None
            self._evaluate(task, epoch=0, step=0)
        else:
            step, first_epoch, first_batch, order = self._restore(task, optimizer, gen)

        def embed_dataset():
            return embed(task, images, device, normalize=False)

        def checkpoint(batches_done):  # where the run stands now: everything a resume needs
            return TrainingState(step, epoch, batches_done, order, optimizer.state_dict()["state"],
                                 generator_states(gen))

        use_amp = device.type == "cuda"  # bfloat16 autocast on GPUs; a CPU runs float32
        first_step, previous_seconds = step, self._status.elapsed_seconds
        clock, images_seen, busy_seconds = time.perf_counter(), 0, 0.0
        setup_seconds = clock - begin
        for epoch in range(first_epoch, cfg.epochs + 1):
            if order is None:  # a new epoch; a resumed one goes on in its own order
                task.on_epoch_start(Progress(step, total, epoch, cfg.epochs), embed_dataset)
                order = torch.randperm(len(images), generator=gen, device=device)
            for batch in range(first_batch, steps_per_epoch):
                if not self._unpaused.is_set():
                    paused_at = time.perf_counter()
                    self._unpaused.wait()
                    clock = time.perf_counter()  # paused time is neither training time nor budget
                    paused += clock - paused_at
                if self._stop.is_set():
                    return self._finish("stopped", f"stopped at step {step} of {total}", task, checkpoint(batch))
                schedule_total = total
                if budget is not None:
                    used = time.perf_counter() - begin - paused
                    left = budget - used - self._eval_seconds  # the last evaluation must fit too
                    if left <= 0:
                        if self._status.evals[-1]["step"] != step:
                            self._evaluate(task, epoch, step)
                        return self._finish("finished", f"the {cfg.max_minutes:g}-minute time budget ended the "
                                            f"run at step {step} of {total}", task, checkpoint(batch))
                    if step > first_step:  # the schedule shrinks to the steps that fit at the pace so far
                        pace = (used - setup_seconds) / (step - first_step)
                        schedule_total = min(total, step + 1 + int(left / pace))
                progress = Progress(step, total, epoch, cfg.epochs)
                lr = learning_rate_at(step, schedule_total, cfg.learning_rate)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                indices = order[batch * batch_size:(batch + 1) * batch_size]
                batch_images = images[indices].float().div_(255)
                batch_images = batch_images.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                    out = task.training_step(batch_images, gen, progress, indices)
                loss = out.loss.item()
                if not math.isfinite(loss):
                    return self._finish("failed", f"the loss became {loss} at step {step}: training stopped "
                                        "and the last good checkpoint was kept. Try a lower learning rate.")
                optimizer.zero_grad(set_to_none=True)
                out.loss.backward()
                task.before_optimizer_step(progress)
                optimizer.step()
                task.after_optimizer_step(progress)
                step += 1
                now = time.perf_counter()
                busy_seconds += now - clock
                clock = now
                images_seen += batch_size
                speed = images_seen / busy_seconds
                metrics = {name: float(value) for name, value in out.metrics.items()}
                record = {"step": step, "epoch": epoch, "loss": loss, "lr": lr, "images_per_second": speed,
                          **metrics}
                eta = (total - step) * batch_size / speed
                if budget is not None:
                    eta = min(eta, budget - (now - begin - paused))
                with self._lock:
                    s = self._status
                    s.steps.append(record)
                    s.step, s.epoch, s.images_per_second = step, epoch, speed
                    s.elapsed_seconds = previous_seconds + busy_seconds
                    s.eta_seconds = eta
                self._emit("step")
            self._evaluate(task, epoch, step)
            self._save(task, checkpoint(steps_per_epoch), epoch_end=True)
            first_batch, order = 0, None
        self._finish("finished", f"finished {cfg.epochs} epochs in {previous_seconds + busy_seconds:.0f} s")

    def _restore(self, task, optimizer, gen):
        """Weights, optimiser state and random generators as the checkpoint left them; the step, epoch, batch
        and image order to go on from."""
        resumed = self._resumed
        task.load_state_dict(self.folder.load_weights())
        optimizer.load_state_dict({"state": resumed.optimizer, "param_groups": optimizer.state_dict()["param_groups"]})
        restore_generators(gen, resumed.generators)
        if resumed.batch == self.steps_per_epoch:  # saved at an epoch's end: the next one starts afresh
            return resumed.step, resumed.epoch + 1, 0, None
        return resumed.step, resumed.epoch, resumed.batch, resumed.order.to(self.device)

    def _pick_eval_subset(self):
        """A bank and queries drawn at random, stratified by class, once per run: a folder is stored in class
        order, so its first 2,000 images may hold only a few of its classes."""
        data, gen = self.dataset, torch.Generator().manual_seed(self.config.seed)
        self._bank = stratified_sample(data.train_labels, EVAL_BANK, gen)
        self._queries = stratified_sample(data.test_labels, EVAL_QUERIES, gen)

    def _evaluate(self, task, epoch, step):
        """Online k-NN accuracy and the collapse monitor on a fixed subset of the data."""
        began, data = time.perf_counter(), self.dataset
        queries = embed(task, data.test_images[self._queries], self.device)
        accuracy = float("nan")  # not measured without labels; NaN keeps every reader's number formatting working
        if data.labelled:
            bank = embed(task, data.train_images[self._bank], self.device)
            accuracy = knn_accuracy(bank, data.train_labels[self._bank], queries, data.test_labels[self._queries])
        watched = queries  # what the loss compares, where a task's differs from its features (see embedding)
        if type(task).embedding is not PretextTask.embedding:
            watched = embed(task, data.test_images[self._queries], self.device, output="embedding")
        with self._lock:
            self._status.evals.append({"epoch": epoch, "step": step, "knn_top1": accuracy,
                                       "feature_spread": feature_spread(watched),
                                       "effective_rank": effective_rank(watched)})
        self._eval_seconds = time.perf_counter() - began
        self._emit("eval")

    def _save(self, task=None, checkpoint: TrainingState | None = None, epoch_end=False, **final):
        """metrics.json, then the checkpoint: a resume keeps the history up to its checkpoint's step."""
        self.folder.write_metrics({**self._metrics(), **final})
        if checkpoint is not None:
            self.folder.save_checkpoint(task, checkpoint, epoch_end)

    def _finish(self, state, message, task=None, checkpoint: TrainingState | None = None):
        """End the run: its files, then its status. No checkpoint where the weights may be broken (a NaN) or
        were just saved (an epoch's end)."""
        self._save(task, checkpoint, state=state, message=message)
        self._update(state=state, message=message, eta_seconds=0.0 if state == "finished" else None)

    def _metrics(self) -> dict:
        with self._lock:
            s = self._status
            return {"state": s.state, "message": s.message, "started": self._started, "epoch": s.epoch,
                    "epochs": s.epochs, "step": s.step, "elapsed_seconds": s.elapsed_seconds,
                    "steps": list(s.steps), "evals": list(s.evals)}

    def _update(self, **changes):
        with self._lock:
            for key, value in changes.items():
                setattr(self._status, key, value)

    def _emit(self, event: str):
        if self.listeners:
            status = self.status()
            for listener in self.listeners:
                listener(event, status)


class JobManager:
    """At most one training run at a time per app; the run belongs to the server, not to a page."""

    def __init__(self, runs_root: str | Path = "runs"):
        self.runs_root = Path(runs_root)
        self._lock = threading.Lock()
        self.current: TrainingRun | None = None

    def start(self, config: TrainConfig) -> TrainingRun:
        with self._lock:
            self._refuse_if_busy()
            base = self.runs_root / f"{time.strftime('%Y%m%d-%H%M%S')}-{config.task}"
            out_dir, n = base, 2
            while out_dir.exists():
                out_dir, n = base.with_name(f"{base.name}-{n}"), n + 1
            self.current = TrainingRun(config, out_dir).start()
            return self.current

    def resume(self, run_dir: str | Path, epochs: int | None = None, max_minutes: float | None = None) -> TrainingRun:
        """Go on with a saved run in the background (see `TrainingRun.resume_from`)."""
        with self._lock:
            self._refuse_if_busy()
            self.current = TrainingRun.resume_from(run_dir, epochs, max_minutes).start()
            return self.current

    def _refuse_if_busy(self):
        if self.current is not None and self.current.status().active:
            raise RuntimeError("a training run is already going: stop it first, or wait until it ends")
