"""The training loop, top to bottom: build the task and its optimiser, then epoch after epoch, step after step.

A step leaves its loss and metrics on the device; every `LOG_EVERY` steps (and where an epoch or the run ends)
the loop reads them all at once — the only time it waits for the device — and hands them to its job
(`training.TrainingRun`), which keeps the status, the listeners and the run folder. The job's pause and stop
are looked at before every step. After every epoch: the online k-NN and the collapse monitor, then a checkpoint.

Under torchrun (see `distributed`) every process runs this same loop on its share of each batch; only rank 0
evaluates and writes.
"""

import math
import time
from dataclasses import dataclass

import torch

from .checkpoints import TrainingState, load_into
from ..data import ImageDataset
from .distributed import World
from ..evaluation.metrics import embed
from ..evaluation.online import OnlineEvaluation
from ..tasks import Progress, StepOutput, build_task

LOG_EVERY = 10  # steps between reads of the device's numbers; the time budget is looked at then too



@dataclass
class Ending:
    """How the loop ended: the run's state and message, and where to checkpoint (None: keep the last one — it
    was just written at an epoch's end, or the weights may be broken)."""
    state: str
    message: str
    task: torch.nn.Module | None = None
    checkpoint: TrainingState | None = None


# What a random generator is for. Training draws from these two alone, never from torch's global generator,
# which the page's threads share (see `models.seeded`): every random number of a step comes from `gen`.
ORDER, AUGMENT = range(2)


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


def train(cfg, data: ImageDataset, device: torch.device, job, world: World = World(),
          resumed: TrainingState | None = None, weights: dict[str, torch.Tensor] | None = None,
          elapsed_before: float = 0.0) -> Ending:
    """Train `cfg` (a resolved `TrainConfig`) on `data`, reporting to `job`; or go on from a checkpoint, its
    `resumed` state and its task's `weights`."""
    budget = None if cfg.max_minutes is None else 60 * cfg.max_minutes  # seconds, pauses not counted
    began, paused = time.perf_counter(), 0.0

    # The same task in every process: same seed, then rank 0's weights copied to all.
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
        optimizer = torch.optim.SGD(groups, lr=cfg.learning_rate, momentum=0.9)
    else:
        optimizer = torch.optim.AdamW(groups, lr=cfg.learning_rate)
    order_gen = torch.Generator(device=device).manual_seed(seed_for(cfg.seed, ORDER))  # the same in every process
    augment_gen = torch.Generator(device=device).manual_seed(seed_for(cfg.seed, AUGMENT, world.rank))  # its own

    images = data.pretrain_images.to(device)  # uint8, the whole set: batches are cut on the device
    batch_size, steps_per_epoch = cfg.batch_size, len(images) // cfg.batch_size
    total = steps_per_epoch * cfg.epochs
    evaluate = OnlineEvaluation(data, cfg.seed, device) if world.main else None

    def report_evaluation(epoch, step, last=False):
        if evaluate is not None:
            job.evaluated(evaluate(task, epoch, step, last))

    if resumed is None:
        step, first_epoch, first_batch, order = 0, 1, 0, None
        report_evaluation(0, 0)
    else:
        load_into(task, weights, "the checkpoint")
        step, first_epoch, first_batch, order = restore(resumed, optimizer, augment_gen, order_gen,
                                                        steps_per_epoch, world, cfg.seed)
    evaluated_at = step if resumed is None or resumed.batch == steps_per_epoch else None

    def checkpoint(batches_done):  # where the run stands now: everything a resume needs
        return TrainingState(step, epoch, batches_done, order, optimizer.state_dict()["state"],
                             generator_states(augment_gen, order_gen))

    def embed_dataset(transform=None):
        return embed(task, images, device, batch_size=256, normalize=False, transform=transform)

    pending: list[tuple[dict, list[str], torch.Tensor]] = []  # steps whose numbers are still on the device
    first_step, schedule_total, images_seen = step, total, 0
    setup_seconds = time.perf_counter() - began

    def log() -> str | None:
        """Hand the pending steps to the job; a message if a loss was not finite."""
        if not pending:
            return None
        seconds = time.perf_counter() - began - paused - setup_seconds
        speed = images_seen / max(seconds, 1e-9)
        records, broken = read_numbers(pending, world, speed)
        pending.clear()
        eta = (total - step) * batch_size / speed if speed else None
        if budget is not None and eta is not None:
            eta = min(eta, budget - (time.perf_counter() - began - paused))
        job.logged(records, step=step, epoch=epoch, images_per_second=speed, eta_seconds=eta,
                   elapsed_seconds=elapsed_before + seconds, gpu_memory_gb=gpu_memory_gb(device))
        return broken

    for epoch in range(first_epoch, cfg.epochs + 1):
        if order is None:  # a new epoch; a resumed one goes on in its own order
            task.on_epoch_start(Progress(step, total, epoch, cfg.epochs), embed_dataset)
            world.copy_from_main(task)  # what the hook computed may differ between processes: rank 0's for all
            order = torch.randperm(len(images), generator=order_gen, device=device)
        for batch in range(first_batch, steps_per_epoch):
            paused += job.wait_while_paused()
            if job.stop_requested():
                if broken := log():
                    return Ending("failed", broken)
                return Ending("stopped", f"stopped at step {step} of {total}", task, checkpoint(batch))
            if budget is not None and step > first_step and step % LOG_EVERY == 0:
                # Rank 0's clock for all processes: they must end, and set the learning rate, alike.
                used, evaluation = world.from_main([time.perf_counter() - began - paused,
                                                    evaluate.last_seconds() if evaluate else 0.0], device)
                left = budget - used - evaluation  # the last evaluation must fit too
                if left <= 0:
                    if broken := log():
                        return Ending("failed", broken)
                    if evaluated_at != step:
                        report_evaluation(epoch, step, last=True)
                    return Ending("finished", f"the {cfg.max_minutes:g}-minute time budget ended the run at "
                                  f"step {step} of {total}", task, checkpoint(batch))
                pace = (used - setup_seconds) / (step - first_step)  # the schedule shrinks to the steps that fit
                schedule_total = min(total, step + 1 + int(left / pace))

            progress = Progress(step, total, epoch, cfg.epochs)
            lr = learning_rate_at(step, schedule_total, cfg.learning_rate)
            for group in optimizer.param_groups:
                group["lr"] = lr
            indices = world.share(order[batch * batch_size:(batch + 1) * batch_size])
            batch_images = images[indices].float().div_(255).contiguous(memory_format=torch.channels_last)
            out = task.training_step(batch_images, augment_gen, progress, indices)
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            world.average_gradients(task)
            task.before_optimizer_step(progress)
            optimizer.step()
            task.after_optimizer_step(progress)
            step += 1
            images_seen += batch_size
            pending.append(({"step": step, "epoch": epoch, "lr": lr}, list(out.metrics), numbers_of(out)))
            if step % LOG_EVERY == 0 and (broken := log()):
                return Ending("failed", broken)

        if broken := log():  # before the checkpoint: it must hold finite weights
            return Ending("failed", broken)
        report_evaluation(epoch, step, last=epoch == cfg.epochs)
        evaluated_at = step
        job.save(task, checkpoint(steps_per_epoch), epoch_end=True)
        first_batch, order = 0, None
    return Ending("finished", f"finished {cfg.epochs} epochs in {elapsed_before + time.perf_counter() - began:.0f} s")


def encode_in_bfloat16(encoder: torch.nn.Module, device: torch.device) -> None:
    """The encoder's forward, in place, under bfloat16 autocast, its output in float32: the convolutions, where
    the time goes, run ~1.5x faster; the heads and losses stay float32 (with them in bfloat16 too, BYOL and SwAV
    lost 4-5 k-NN points on Shapes). Other entry points (MAE's `forward_visible`) stay float32."""
    forward = encoder.forward

    def forward_in_bfloat16(*args, **kwargs):
        with torch.autocast(device.type, dtype=torch.bfloat16):
            return forward(*args, **kwargs).float()

    encoder.forward = forward_in_bfloat16


def numbers_of(out: StepOutput) -> torch.Tensor:
    """A step's loss and metrics in one tensor on the device, where they stay until the next log."""
    device = out.loss.device
    return torch.stack([out.loss.detach().float(),
                        *(torch.as_tensor(value, device=device).detach().float() for value in out.metrics.values())])


def read_numbers(pending: list[tuple[dict, list[str], torch.Tensor]], world: World,
                 speed: float) -> tuple[list[dict], str | None]:
    """The pending steps' records with their loss and metrics, read from the device in one go (averaged over the
    processes: the global batch's), up to the first loss that is not finite; and then a message saying so."""
    numbers = world.average(torch.cat([row for _, _, row in pending])).tolist()  # the one wait for the device
    records = []
    for (record, names, _), row in zip(pending, split(numbers, [len(row) for _, _, row in pending])):
        loss = row[0]
        if not math.isfinite(loss):
            return records, (f"the loss became {loss} at step {record['step'] - 1}: training stopped and the last "
                             "good checkpoint was kept. Try a lower learning rate.")
        records.append({**record, "loss": loss, "images_per_second": speed, **dict(zip(names, row[1:]))})
    return records, None


def split(values: list, lengths: list[int]) -> list[list]:
    starts = [sum(lengths[:i]) for i in range(len(lengths))]
    return [values[start:start + length] for start, length in zip(starts, lengths)]


def gpu_memory_gb(device: torch.device) -> float | None:
    """The most GPU memory the run has held so far, in GiB; None on a CPU."""
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def generator_states(augment: torch.Generator, order: torch.Generator) -> dict[str, torch.Tensor]:
    """The states of the random generators training draws from."""
    return {"augment": augment.get_state(), "order": order.get_state()}


def restore(resumed: TrainingState, optimizer, augment_gen, order_gen, steps_per_epoch, world: World, seed: int):
    """Optimiser state and random generators as the checkpoint left them; the step, epoch, batch and image order
    to go on from. The checkpoint holds rank 0's generators: the other processes of a distributed run draw new
    augmentations, seeded by the seed, their rank and the step."""
    optimizer.load_state_dict({"state": resumed.optimizer, "param_groups": optimizer.state_dict()["param_groups"]})
    states = resumed.generators
    order_gen.set_state(states["order"])
    if world.main:
        augment_gen.set_state(states["augment"])
    else:
        augment_gen.manual_seed(seed_for(seed, AUGMENT, world.rank, resumed.step))
    if resumed.batch == steps_per_epoch:  # saved at an epoch's end: the next one starts afresh
        return resumed.step, resumed.epoch + 1, 0, None
    return resumed.step, resumed.epoch, resumed.batch, resumed.order.to(augment_gen.device)
