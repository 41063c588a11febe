"""Training on several processes at once, as `torchrun --nproc_per_node=N` starts them.

torchrun sets WORLD_SIZE, RANK and LOCAL_RANK in every process it starts; `World.from_environment()` reads them
(a plain `python` start is a world of one, where every method here does nothing). Every process builds the same
task from the same seed, and rank 0's weights are copied to the others before the first step, so they start equal.
Each step, every process trains on its own share of the global batch (`share`) with its own augmentations, then
`average_gradients` makes their gradients equal, so their optimiser steps — and their weights — stay equal.

Why an all-reduce of the gradients and not `DistributedDataParallel`: DDP synchronises only the parameters used
by a forward call through its wrapper, but the tasks call `self.encoder(...)`, target networks and heads from
inside `task.loss`, some with the weights detached (the GAN), some not at all in a step (DINO's frozen last
layer). Averaging every gradient after `backward()` is what DDP computes, for every task alike, and the task's
hooks (EMA targets, clipping) go on working on the task itself, not on a wrapper.

What stays per process: batch-norm statistics on CPUs (see `PretextTask.sync_batchnorm`), MoCo's queue, DINO's
centre (each from its own share). Pause and stop act on one process: stop a distributed run with Ctrl-C, which
torchrun passes to all; `train --resume` goes on from its last checkpoint, with rank 0's random generators (the
others draw new augmentations, so only a run of one process repeats its losses step for step).
"""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    size: int = 1
    rank: int = 0        # this process among all
    local_rank: int = 0  # this process on its machine: which GPU it drives

    @classmethod
    def from_environment(cls) -> "World":
        env = os.environ
        return cls(int(env.get("WORLD_SIZE", 1)), int(env.get("RANK", 0)), int(env.get("LOCAL_RANK", 0)))

    @property
    def main(self) -> bool:
        """The process that evaluates and writes the run folder."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """The device this process trains on: its own GPU on a machine with several."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" and self.size > 1 else device

    def start(self, device: torch.device) -> None:
        """Join the other processes: NCCL between GPUs, gloo between CPUs."""
        if self.size > 1 and not dist.is_initialized():
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")

    def end(self) -> None:
        if self.size > 1 and dist.is_initialized():
            dist.destroy_process_group()

    def share(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's slice of the global batch's image indices (the batch size is a multiple of the world
        size): together the processes train on exactly the images one process would."""
        per_process = len(batch) // self.size
        return batch[self.rank * per_process:(self.rank + 1) * per_process]

    def copy_from_main(self, module: torch.nn.Module) -> None:
        """Rank 0's parameters and buffers in every process: at the start, and after a hook that may have drawn
        its own (DeepCluster's clusters and re-initialised head)."""
        if self.size > 1:
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)

    def average_gradients(self, module: torch.nn.Module) -> None:
        """Every gradient averaged over the processes, in one all-reduce. The parameters without a gradient are
        the same in every process, as all run the same code."""
        if self.size == 1:
            return
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.size
        for grad, averaged in zip(grads, flat.split([g.numel() for g in grads])):
            grad.copy_(averaged.view_as(grad))

    def average(self, values: torch.Tensor) -> torch.Tensor:
        """The mean over the processes (the logged loss of the global batch)."""
        if self.size > 1:
            dist.all_reduce(values)
            values /= self.size
        return values

    def from_main(self, values: list[float], device: torch.device) -> list[float]:
        """Rank 0's numbers in every process: decisions that must be the same everywhere (the time budget)."""
        if self.size == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.broadcast(tensor, src=0)
        return tensor.tolist()
