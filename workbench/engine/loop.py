"""The training loop, top to bottom: build the task and its optimiser, then step after step until one place
(`Training.why_stop`) says why to stop — a stop asked for, the time budget, a loss that is not finite, the end —
and one `return` says how the run ended.

A step leaves its loss and metrics on the device; every `LOG_EVERY` steps (and where an epoch or the run ends)
the loop reads them all at once — the only time it waits for the device — and hands them to its `Job`
(`job.TrainingRun`), which keeps the status, the listeners and the run folder. The job's pause and stop are
looked at before every step. After every epoch: the online k-NN and the collapse monitor, then a checkpoint;
only the loop asks for checkpoints.

Under torchrun (see `distributed`) every process runs this same loop on its share of each batch; only rank 0
evaluates and writes.
"""

import math
from dataclasses import dataclass
from typing import Protocol

import torch

from ..data import ImageDataset
from ..evaluation.metrics import embed
from ..evaluation.online import OnlineEvaluation
from ..tasks import PretextTask, Progress, StepOutput, build_task
from .checkpoints import TrainingState, load_into
from .distributed import World
from .meter import Clock, gpu_memory_gb, numbers_of, read_numbers

LOG_EVERY = 10  # steps between reads of the device's numbers; the time budget is looked at then too

# Why a run stops (`Training.why_stop`).
NOT_FINITE, THE_END, STOP_ASKED, OUT_OF_TIME = "a loss not finite", "the end", "a stop asked", "the time budget"

# What a random generator is for. Training draws from these two alone, never from torch's global generator,
# which the page's threads share (see `models.seeded`): every random number of a step comes from `gen`.
ORDER, AUGMENT = range(2)


class Job(Protocol):
    """The loop's side of the job that runs it (`job.TrainingRun`)."""

    def wait_while_paused(self) -> float:
        """Block while paused; the seconds waited (neither training time nor budget)."""

    def stop_requested(self) -> bool: ...

    def logged(self, records: list[dict], **where) -> None:
        """New step records and where the run stands (step, epoch, speed, ETA, …)."""

    def evaluated(self, record: dict) -> None: ...

    def save_checkpoint(self, task: PretextTask, state: TrainingState, epoch_end: bool = False) -> None:
        """metrics.json, then the checkpoint."""


@dataclass
class Ending:
    """How the loop ended: the run's state and message."""
    state: str
    message: str


@dataclass
class Position:
    """Where the run stands: steps done, the epoch, its batches done and its order of the training images (None
    until the epoch starts)."""
    step: int
    epoch: int
    batch: int
    order: torch.Tensor | None


def seed_for(seed: int, *purpose: int) -> int:
    """A seed of its own for every purpose and process, derived from the run's: generators seeded alike would
    draw the same numbers. (The hash of a tuple of ints is the same in every process.)"""
    return hash((seed, *purpose)) % 2**63


def learning_rate_at(step: int, total: int, peak: float) -> float:
    """Linear warm-up over the first 5 % of steps, then cosine decay to zero."""
    warmup = max(1, total // 20)
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def train(cfg, data: ImageDataset, device: torch.device, job: Job, world: World = World(),
          saved: TrainingState | None = None, weights: dict[str, torch.Tensor] | None = None,
          elapsed_before: float = 0.0) -> Ending:
    """Train `cfg` (a resolved `TrainConfig`) on `data`, reporting to `job`; or go on from a checkpoint, its
    `saved` training state and its task's `weights`."""
    run = Training(cfg, data, device, job, world, elapsed_before)
    at = run.begin(saved, weights)
    task, optimizer, images, batch_size = run.task, run.optimizer, run.images, cfg.batch_size
    while (reason := run.why_stop(at)) is None:
        progress = Progress(at.step, run.total, at.epoch, cfg.epochs)
        lr = learning_rate_at(at.step, run.schedule_total, cfg.learning_rate)
        for group in optimizer.param_groups:
            group["lr"] = lr
        indices = world.share(at.order[at.batch * batch_size:(at.batch + 1) * batch_size])
        out = task.training_step(run.model_input(images[indices]), run.augment_gen, progress, indices)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        world.average_gradients(task)
        task.before_optimizer_step(progress)
        optimizer.step()
        task.after_optimizer_step(progress)
        at.step, at.batch = at.step + 1, at.batch + 1
        run.keep_numbers(at, lr, out)
        epoch_done = at.batch == run.steps_per_epoch
        if at.step % LOG_EVERY == 0 or epoch_done:
            run.log(at)
        if epoch_done and not run.broken:  # the checkpoint must hold finite weights
            run.end_epoch(at)
    return run.ending(reason, at)


class Training:
    """A run in progress: its task, optimiser, generators and clock, the steps whose numbers are still on the
    device, and the decisions the loop leaves to it: why to stop, an epoch's start and end, the run's end."""

    def __init__(self, cfg, data: ImageDataset, device: torch.device, job: Job, world: World,
                 elapsed_before: float):
        self.cfg, self.device, self.job, self.world = cfg, device, job, world
        self.clock = Clock(cfg.max_minutes, elapsed_before)
        self.task, self.optimizer = build(cfg, device, world)
        self.order_gen = torch.Generator(device=device).manual_seed(seed_for(cfg.seed, ORDER))  # alike everywhere
        self.augment_gen = torch.Generator(device=device).manual_seed(seed_for(cfg.seed, AUGMENT, world.rank))
        self.images = data.pretrain_items.to(device)  # the whole set (uint8 images, token ids): batches are
        self.model_input = data.kind.model_input        # cut on the device, then made what the model reads
        self.steps_per_epoch = len(self.images) // cfg.batch_size
        self.total = self.schedule_total = self.steps_per_epoch * cfg.epochs
        self.evaluate = OnlineEvaluation(data, cfg.seed, device) if world.main else None
        self.pending: list[tuple[dict, list[str], torch.Tensor]] = []  # steps whose numbers are on the device
        self.images_seen, self.first_step = 0, 0
        self.broken: str | None = None  # what the numbers said when a loss was not finite

    def begin(self, saved: TrainingState | None, weights: dict[str, torch.Tensor] | None) -> Position:
        """Where the first step starts: a new run's evaluation at step 0, or the checkpoint's weights, optimiser
        and generators; then the clock's setup, and the epoch's start where it has not started."""
        if saved is None:
            at = Position(0, 1, 0, None)
            self.report_evaluation(at)
        else:
            load_into(self.task, weights, "the checkpoint")
            at = self.restore(saved)
        self.first_step, self.clock.setup = at.step, self.clock.running()
        if at.order is None:  # a new epoch; a checkpointed one goes on in its own order
            self.start_epoch(at)
        return at

    def restore(self, saved: TrainingState) -> Position:
        """Optimiser state and random generators as the checkpoint left them; where to go on from. The
        checkpoint holds rank 0's generators: the other processes of a distributed run draw new augmentations,
        seeded by the seed, their rank and the step."""
        self.optimizer.load_state_dict({"state": saved.optimizer,
                                        "param_groups": self.optimizer.state_dict()["param_groups"]})
        self.order_gen.set_state(saved.generators["order"])
        if self.world.main:
            self.augment_gen.set_state(saved.generators["augment"])
        else:
            self.augment_gen.manual_seed(seed_for(self.cfg.seed, AUGMENT, self.world.rank, saved.step))
        if saved.batch == self.steps_per_epoch:  # saved at an epoch's end: the next one starts afresh
            return Position(saved.step, saved.epoch + 1, 0, None)
        return Position(saved.step, saved.epoch, saved.batch, saved.order.to(self.device))

    def why_stop(self, at: Position) -> str | None:
        """Why the run stops before its next step, or None: it goes on (after any pause)."""
        if self.broken:
            return NOT_FINITE
        if at.step >= self.total:
            return THE_END
        self.clock.paused += self.job.wait_while_paused()
        if self.job.stop_requested():
            return STOP_ASKED
        budget_due = self.clock.budget is not None and at.step > self.first_step and at.step % LOG_EVERY == 0
        if budget_due and self.out_of_time(at):
            return OUT_OF_TIME
        return None

    def out_of_time(self, at: Position) -> bool:
        """Whether the time budget is spent; if not, the schedule shrinks to the steps that fit in it."""
        # Rank 0's clock for all processes: they must end, and set the learning rate, alike.
        used, evaluation = self.world.from_main(
            [self.clock.running(), self.evaluate.last_seconds() if self.evaluate else 0.0], self.device)
        left = self.clock.budget - used - evaluation  # the last evaluation must fit too
        if left > 0:
            pace = (used - self.clock.setup) / (at.step - self.first_step)
            self.schedule_total = min(self.total, at.step + 1 + int(left / pace))
        return left <= 0

    def start_epoch(self, at: Position) -> None:
        self.task.on_epoch_start(Progress(at.step, self.total, at.epoch, self.cfg.epochs), self.embed_dataset)
        self.world.copy_from_main(self.task)  # what the hook computed may differ between processes: rank 0's
        at.order = torch.randperm(len(self.images), generator=self.order_gen, device=self.device)

    def end_epoch(self, at: Position) -> None:
        """The online evaluation and a checkpoint; then the next epoch, unless this was the last."""
        self.report_evaluation(at, last=at.epoch == self.cfg.epochs)
        self.job.save_checkpoint(self.task, self.checkpoint(at), epoch_end=True)
        if at.step < self.total:
            at.epoch, at.batch, at.order = at.epoch + 1, 0, None
            self.start_epoch(at)

    def ending(self, reason: str, at: Position) -> Ending:
        """How the run ended; a checkpoint where it stopped within an epoch."""
        self.log(at)  # the steps since the last read: one of their losses may not be finite
        if self.broken:  # no checkpoint: the weights may be broken, and the last good one stays
            return Ending("failed", self.broken)
        if reason == THE_END:  # the last epoch's end has just written the checkpoint
            return Ending("finished", f"finished {self.cfg.epochs} epochs in {self.clock.wall():.0f} s")
        if reason == OUT_OF_TIME and at.batch:  # at batch 0 an epoch's end has just evaluated this very step
            self.report_evaluation(at, last=True)
        self.job.save_checkpoint(self.task, self.checkpoint(at))
        if reason == STOP_ASKED:
            return Ending("stopped", f"stopped at step {at.step} of {self.total}")
        return Ending("finished", f"the {self.cfg.max_minutes:g}-minute time budget ended the run at step "
                                  f"{at.step} of {self.total}")

    def log(self, at: Position) -> None:
        """Hand the pending steps to the job; `broken` says so if a loss was not finite."""
        if not self.pending:
            return
        seconds = self.clock.training()
        speed = self.images_seen / max(seconds, 1e-9)
        records, self.broken = read_numbers(self.pending, self.world, speed)
        self.pending.clear()
        eta = (self.total - at.step) * self.cfg.batch_size / speed if speed else None
        if self.clock.budget is not None and eta is not None:
            eta = min(eta, self.clock.budget - self.clock.running())
        self.job.logged(records, step=at.step, epoch=at.epoch, images_per_second=speed, eta_seconds=eta,
                        elapsed_seconds=self.clock.before + seconds, gpu_memory_gb=gpu_memory_gb(self.device))

    def keep_numbers(self, at: Position, lr: float, out: StepOutput) -> None:
        """A step's record and numbers, left on the device until the next log."""
        self.images_seen += self.cfg.batch_size
        record = {"step": at.step, "epoch": at.epoch, "lr": lr, "seconds": self.seconds()}
        self.pending.append((record, list(out.metrics), numbers_of(out)))

    def report_evaluation(self, at: Position, last: bool = False) -> None:
        if self.evaluate is not None:
            seconds = self.seconds()  # where the weights measured were reached: the evaluation's own time not yet
            self.job.evaluated({**self.evaluate(self.task, at.epoch, at.step, last), "seconds": seconds})

    def seconds(self) -> float:
        """The run's training seconds so far, on its step and evaluation records (curves against time): pauses
        not counted, the runs it goes on from counted; before the first step, only those."""
        return self.clock.before + (self.clock.training() if self.clock.setup else 0.0)

    def checkpoint(self, at: Position) -> TrainingState:
        """Where the run stands now: everything going on from it needs."""
        return TrainingState(at.step, at.epoch, at.batch, at.order, self.optimizer.state_dict()["state"],
                             generator_states(self.augment_gen, self.order_gen))

    def embed_dataset(self, transform=None) -> torch.Tensor:
        return embed(self.task, self.images, self.device, batch_size=256, normalize=False, transform=transform)


def build(cfg, device: torch.device, world: World) -> tuple[PretextTask, torch.optim.Optimizer]:
    """The task and its optimiser. The same task in every process: same seed, then rank 0's weights copied to
    all."""
    task = build_task(cfg.task, cfg.encoder, cfg.seed, **cfg.task_params).to(device)
    # torch's SyncBatchNorm runs on GPUs only: CPU processes normalise over their own share.
    if world.size > 1 and device.type == "cuda" and task.sync_batchnorm:
        task = torch.nn.SyncBatchNorm.convert_sync_batchnorm(task)
    task = task.to(memory_format=torch.channels_last)  # ~1.5x faster convolutions on a CPU
    if cfg.precision == "bfloat16":
        encode_in_bfloat16(task.encoder, device)
    world.copy_from_main(task)
    if cfg.compile:
        task.encoder.compile()  # in place: the state dict keeps its names
    groups = task.param_groups(cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return task, torch.optim.SGD(groups, lr=cfg.learning_rate, momentum=0.9)
    return task, torch.optim.AdamW(groups, lr=cfg.learning_rate)


def encode_in_bfloat16(encoder: torch.nn.Module, device: torch.device) -> None:
    """The encoder's forward, in place, under bfloat16 autocast, its output in float32: the convolutions, where
    the time goes, run ~1.5x faster; the heads and losses stay float32 (with them in bfloat16 too, BYOL and SwAV
    lost 4-5 k-NN points on Shapes). Other entry points (MAE's `forward_visible`) stay float32."""
    forward = encoder.forward

    def forward_in_bfloat16(*args, **kwargs):
        with torch.autocast(device.type, dtype=torch.bfloat16):
            return forward(*args, **kwargs).float()

    encoder.forward = forward_in_bfloat16


def generator_states(augment: torch.Generator, order: torch.Generator) -> dict[str, torch.Tensor]:
    """The states of the random generators training draws from."""
    return {"augment": augment.get_state(), "order": order.get_state()}
