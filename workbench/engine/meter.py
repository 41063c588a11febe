"""What a run measures as it goes: its clock, pauses not counted, against its time budget; and its steps' loss
and metrics, which stay on the device until they are read, all at once, every few steps."""

import math
import time

import torch

from ..tasks import StepOutput
from .distributed import World


class Clock:
    """A run's seconds, its pauses not counted, and its time budget."""

    def __init__(self, max_minutes: float | None, elapsed_before: float):
        self.budget = None if max_minutes is None else 60 * max_minutes  # seconds, pauses not counted
        self.before = elapsed_before  # the seconds of the run this one goes on from
        self.began, self.paused = time.perf_counter(), 0.0
        self.setup = 0.0  # the seconds before the first step: building the task, the first evaluation

    def running(self) -> float:
        """Seconds since this process began the run, pauses not counted."""
        return time.perf_counter() - self.began - self.paused

    def training(self) -> float:
        """Seconds since the first step, pauses not counted."""
        return self.running() - self.setup

    def wall(self) -> float:
        """Seconds since the run began, pauses and the runs it goes on from counted."""
        return self.before + time.perf_counter() - self.began


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
