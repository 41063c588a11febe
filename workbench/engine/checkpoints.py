"""Run folders on disk: JSON and safetensors (no pickle is ever loaded), every file written atomically.

`RunFolder` is the one place that knows a run folder's files:

    config.json                     what was asked, every value resolved
    metrics.json                    where the run stands (state, epoch, seconds) and its loss and k-NN history
    model.safetensors               the last checkpoint: the whole task, plus under "training/" what going on
                                    from it needs (optimiser state, random generators, the epoch's image order)
    history/epoch-NNNN.safetensors  the task's weights at the end of epochs 1, 2, 4, 8, … and of the last five
                                    (the embedding-evolution view: early epochs change the most)
    best.safetensors                a language model's weights where its held-out loss was lowest
"""

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..tasks import build_task

TRAINING = "training/"  # prefix of the training state's tensors in a checkpoint; a module name never holds a "/"
HISTORY_EPOCHS = 5      # the last epochs' checkpoints kept in history/, besides those of epochs 1, 2, 4, 8, …


def load_into(task, weights: dict[str, torch.Tensor], source) -> None:
    """`task.load_state_dict(weights)`, or a ValueError naming `source` when the weights are another model's
    (a run saved by an older version whose encoder was built otherwise)."""
    try:
        result = task.load_state_dict(weights, strict=False)
        wrong = result.missing_keys + result.unexpected_keys
    except RuntimeError as error:  # a tensor of another shape
        wrong = [str(error).splitlines()[-1].strip()]
    if wrong:
        raise ValueError(f"{source}: its weights do not fit this version's {type(task).__name__} (saved by an "
                         f"older version of the workbench?): {', '.join(wrong[:3])}")


def replace_atomically(path: Path, write) -> None:
    """`write(temporary_path)`, then rename it over `path`: a reader, or a run killed mid-write, finds the old
    file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data) -> None:
    replace_atomically(path, lambda tmp: tmp.write_text(json.dumps(data, indent=1), encoding="utf-8"))


def save_tensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    tensors = {name: tensor.detach().contiguous().cpu() for name, tensor in tensors.items()}
    replace_atomically(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def save_weights(module: torch.nn.Module, path: Path, metadata: dict[str, str]) -> None:
    save_tensors(module.state_dict(), path, metadata)


@dataclass
class TrainingState:
    """Where a run stands beyond its weights: what going on from it needs to follow the same curve."""
    step: int
    epoch: int
    batch: int                            # batches of `epoch` done
    order: torch.Tensor                   # the epoch's order of the training images
    optimizer: dict                       # the "state" part of `optimizer.state_dict()`
    generators: dict[str, torch.Tensor]   # `get_state()` of every random generator training draws from


class RunFolder:
    """A run's folder: its files' names, and how each is written, read and listed (see above)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.config_file = self.path / "config.json"
        self.metrics_file = self.path / "metrics.json"
        self.checkpoint_file = self.path / "model.safetensors"
        self.history_dir = self.path / "history"

    def write_config(self, config: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.config_file, config)

    def read_config(self) -> dict:
        if not self.config_file.is_file():
            raise FileNotFoundError(f"{self.path} is not a run folder: it has no config.json")
        return json.loads(self.config_file.read_text(encoding="utf-8"))

    def write_metrics(self, metrics: dict) -> None:
        write_json(self.metrics_file, metrics)

    def read_metrics(self) -> dict:
        return json.loads(self.metrics_file.read_text(encoding="utf-8")) if self.metrics_file.is_file() else {}

    def save_checkpoint(self, task: torch.nn.Module, state: TrainingState, epoch_end: bool = False) -> None:
        """The task and the training state in one file (so they always match); at an epoch's end the weights
        also go to history/ (first), of which those of the last `HISTORY_EPOCHS` epochs and of epochs 1, 2, 4,
        8, … are kept."""
        metadata = {"step": str(state.step), "epoch": str(state.epoch), "batch": str(state.batch)}
        if epoch_end:
            self.history_dir.mkdir(exist_ok=True)
            save_weights(task, self.history_dir / f"epoch-{state.epoch:04d}.safetensors", metadata)
        training = {"order": state.order, **{f"generator/{name}": s for name, s in state.generators.items()},
                    **{f"optimizer/{index}/{name}": torch.as_tensor(value)
                       for index, values in state.optimizer.items() for name, value in values.items()}}
        save_tensors({**task.state_dict(), **{TRAINING + name: t for name, t in training.items()}},
                     self.checkpoint_file, metadata)
        kept = self.history()
        old = [self.history_dir / f"epoch-{epoch:04d}.safetensors" for epoch in kept[:-HISTORY_EPOCHS]
               if epoch & (epoch - 1)]  # not a power of two
        for path in old + list(self.history_dir.glob(".*.tmp")):  # and what a killed run was writing
            path.unlink()

    def save_best(self, task: torch.nn.Module, state: TrainingState) -> None:
        save_weights(task, self.path / "best.safetensors", {"step": str(state.step), "epoch": str(state.epoch)})

    def history(self) -> list[int]:
        """The epochs whose weights history/ holds, oldest first."""
        return sorted(int(path.stem.removeprefix("epoch-")) for path in self.history_dir.glob("epoch-*.safetensors"))

    def history_step(self, epoch: int) -> int:
        """The training step at which history/ saved `epoch`'s weights."""
        with safe_open(self.history_dir / f"epoch-{epoch:04d}.safetensors", framework="pt") as f:
            return int((f.metadata() or {})["step"])

    def load_task(self, device="cpu", trained: bool = True, epoch: int | None = None):
        """The whole task (encoder, heads, target networks, state) rebuilt from config.json, and the config:
        with the last checkpoint's weights, those of an `epoch` in history/, or (`trained=False`) the seed's
        random initialisation."""
        config = self.read_config()
        task = build_task(config["task"], config["encoder_resolved"], config["seed"], **config["task_params"])
        if trained:
            load_into(task, self.load_weights(epoch), self.path)
        return task.to(device).eval(), config

    def load_weights(self, epoch: int | None = None) -> dict[str, torch.Tensor]:
        """The task's state dict from the last checkpoint or from an `epoch` in history/."""
        path = self.checkpoint_file if epoch is None else self.history_dir / f"epoch-{epoch:04d}.safetensors"
        if not path.is_file():
            raise FileNotFoundError(f"{self.path} is not a run folder with a checkpoint: it has no {path.name}")
        with safe_open(path, framework="pt") as f:
            return {name: f.get_tensor(name) for name in f.keys() if not name.startswith(TRAINING)}

    def load_training_state(self) -> TrainingState:
        if not self.checkpoint_file.is_file():
            raise FileNotFoundError(f"{self.path} has no checkpoint to resume from")
        with safe_open(self.checkpoint_file, framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {name[len(TRAINING):]: f.get_tensor(name) for name in f.keys() if name.startswith(TRAINING)}
        if "order" not in tensors:
            raise ValueError(f"{self.path} holds no training state to resume from (an older run folder)")
        optimizer, generators = {}, {}
        for name, tensor in tensors.items():
            kind, _, rest = name.partition("/")
            if kind == "optimizer":
                index, _, key = rest.partition("/")
                optimizer.setdefault(int(index), {})[key] = tensor
            elif kind == "generator":
                generators[rest] = tensor
        return TrainingState(int(metadata["step"]), int(metadata["epoch"]), int(metadata["batch"]), tensors["order"],
                             optimizer, generators)

    def summary(self) -> dict:
        """One line of the runs list: what was trained, how far, how well, when, and how it ended."""
        config, metrics = self.read_config(), self.read_metrics()
        evals = metrics.get("evals", [])
        started = metrics.get("started") or time.strftime("%Y-%m-%d %H:%M:%S",
                                                          time.localtime(self.config_file.stat().st_mtime))
        return {"run": str(self.path), "task": config["task"], "data": config["data"],
                "epoch": metrics.get("epoch", 0), "epochs": config["epochs"],
                "seconds": metrics.get("elapsed_seconds", 0.0),
                "knn_top1": evals[-1]["knn_top1"] if evals else None, "started": started,
                "state": metrics.get("state", "unknown")}


def load_task(run_dir: str | Path, device="cpu", trained: bool = True):
    """`RunFolder(run_dir).load_task(device, trained)`: the task of a run's last checkpoint, and its config."""
    return RunFolder(run_dir).load_task(device, trained)


def list_runs(root: str | Path = "runs") -> list[dict]:
    """A summary of every run folder directly in `root`, newest first."""
    runs = [RunFolder(config.parent).summary() for config in Path(root).glob("*/config.json")]
    return sorted(runs, key=lambda run: run["started"], reverse=True)
