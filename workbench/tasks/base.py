"""What every pretext task provides, so that the engine, the page and the command line can use any of them.

A task is an `nn.Module` that owns the encoder and its own heads. It turns a batch of images into the
inputs and targets of its pretext problem (`make_inputs`), scores them (`loss`), and shows a student what
the model is fed (`preview`) — with the same `make_inputs`, so the preview is exactly what training draws.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn


@dataclass(frozen=True)
class TaskInfo:
    name: str       # registry key, module name and CLI value: "simclr"
    family: str     # "transformation prediction", "contrastive", ...
    title: str      # "SimCLR — contrast two augmented views"
    summary: str    # one sentence: what is predicted from what
    paper: str      # "Chen et al., A Simple Framework for Contrastive Learning..., ICML 2020"
    paper_url: str
    look_for: str   # what a student should watch while it trains


def param(default, help: str, low=None, high=None, step=None):
    """A task hyper-parameter: its default, a coaching help text and its valid range (used by UI and CLI)."""
    return field(default=default, metadata={"help": help, "low": low, "high": high, "step": step})


@dataclass
class PreviewRow:
    """One source image and what the task makes of it: images (K, 3, H, W) in [0, 1] with a caption each."""
    images: torch.Tensor
    captions: list[str]


@dataclass
class StepOutput:
    loss: torch.Tensor                                       # scalar to minimise
    metrics: dict[str, float] = field(default_factory=dict)  # extra numbers to plot, e.g. pretext accuracy


class PretextTask(nn.Module):
    info: ClassVar[TaskInfo]
    Params: ClassVar[type]  # a dataclass of `param(...)` fields

    def __init__(self, encoder: nn.Module, params=None):
        super().__init__()
        self.encoder = encoder
        self.params = params if params is not None else self.Params()

    def make_inputs(self, images: torch.Tensor, gen: torch.Generator) -> Any:
        """Images (B, 3, H, W) in [0, 1] → whatever `loss` needs: views, masked inputs, targets."""
        raise NotImplementedError

    def loss(self, inputs: Any) -> StepOutput:
        raise NotImplementedError

    def preview(self, images: torch.Tensor, gen: torch.Generator) -> list[PreviewRow]:
        raise NotImplementedError

    def training_step(self, images: torch.Tensor, gen: torch.Generator) -> StepOutput:
        return self.loss(self.make_inputs(images, gen))


def make_params(task_cls: type[PretextTask], overrides: dict[str, Any] | None = None):
    """Build a task's Params from strings or numbers, refusing unknown names and out-of-range values."""
    fields = {f.name: f for f in dataclasses.fields(task_cls.Params)}
    values = {}
    for name, raw in (overrides or {}).items():
        if name not in fields:
            known = ", ".join(fields) or "none"
            raise ValueError(f"{task_cls.info.name} has no parameter {name!r} (its parameters: {known})")
        spec = fields[name]
        kind = type(spec.default)
        try:
            value = _parse_bool(raw) if kind is bool else kind(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
        low, high = spec.metadata.get("low"), spec.metadata.get("high")
        if kind is not bool and ((low is not None and value < low) or (high is not None and value > high)):
            raise ValueError(f"{name} = {value} is outside its range [{low}, {high}]: {spec.metadata['help']}")
        values[name] = value
    return task_cls.Params(**values)


def _parse_bool(raw):
    if isinstance(raw, bool):
        return raw
    if str(raw).lower() in ("1", "true", "yes", "on"):
        return True
    if str(raw).lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)
