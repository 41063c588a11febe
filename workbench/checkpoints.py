"""Run folders on disk: JSON written atomically, weights in safetensors only (no pickle is ever loaded)."""

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .models import create_encoder
from .tasks import create_task


def write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half of one


def save_weights(module: torch.nn.Module, path: Path, metadata: dict[str, str]) -> None:
    state = {name: tensor.detach().contiguous().cpu() for name, tensor in module.state_dict().items()}
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file(state, str(tmp), metadata=metadata)
    os.replace(tmp, path)


def load_task(run_dir: str | Path, device="cpu", trained: bool = True):
    """The whole task of a run folder (encoder, heads, target networks, state), rebuilt from its config, and
    the config (a dict). With `trained=False`: the same task at its random initialisation (the seed's)."""
    run_dir = Path(run_dir)
    config_file, weights_file = run_dir / "config.json", run_dir / "model.safetensors"
    if not config_file.is_file() or not weights_file.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder: it needs config.json and model.safetensors")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    task = create_task(config["task"], create_encoder(config["encoder_resolved"], seed=config["seed"]),
                       **config["task_params"])
    if trained:
        task.load_state_dict(load_file(str(weights_file), device="cpu"))
    return task.to(device).eval(), config
