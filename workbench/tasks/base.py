"""What every pretext task provides, so that the engine, the page and the command line can use any of them.

A task is an `nn.Module` that owns the encoder and every network of its method (heads, decoders, a target
network, a generator). The engine calls it in this order (solo-learn and lightly have the same seams):

    on_epoch_start(progress, embed_dataset)      once an epoch: DeepCluster's k-means over all features
    make_inputs(images, gen, indices)           every step: views, masked inputs, targets
    loss(inputs, progress) -> StepOutput        every step
    before_optimizer_step(progress)             gradient clipping, frozen layers
    after_optimizer_step(progress)              EMA / momentum targets, DINO's centre, prototype normalisation
    features(images)                            every probe, k-NN, UMAP: what the representation is

`preview` draws what the model is fed with the same `make_inputs`, so the preview is exactly what training
draws; with `predict=True` it adds the model's answers (a predicted turn, a reconstruction).
Every random number of a step comes from `gen` (or a generator of the task's own), never from torch's global
generator: the page's threads share that one, and a run must repeat its seed however busy the page is.
State that lives across steps (a queue of negatives, a centre) is a registered buffer: it travels with the
state dict, so a checkpoint keeps it.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

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
    knn_weak: bool = False  # features known to be weak under k-NN (MAE, VAE, GAN): read the linear probe


@dataclass(frozen=True)
class Preset:
    """A recipe with which the task learns; the engine uses it for every value the user does not set."""
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float = 1e-4
    optimizer: str = "adamw"  # "adamw", or "sgd" with momentum 0.9
    data: str | None = None   # the built-in set the method is shown on where the user names none (None: Shapes)
    tokens_per_step: int | None = None  # text: a batch of as many texts as fill this many tokens, not batch_size


@dataclass(frozen=True)
class Progress:
    """Where training is: what schedules (momentum, temperature warm-up) depend on."""
    step: int = 0
    total_steps: int = 1
    epoch: int = 1
    epochs: int = 1

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / max(1, self.total_steps))


def param(default, help: str, low=None, high=None, step=None, choices=None, lab: str | None = None):
    """A task hyper-parameter: its default, a coaching help text, its valid range or choices (UI and CLI).

    `lab` marks a switch of the collapse lab — a setting that breaks the method on purpose — and says what
    breaks."""
    return field(default=default, metadata={"help": help, "low": low, "high": high, "step": step,
                                            "choices": choices, "lab": lab})


@dataclass
class PreviewRow:
    """One source image and what the task makes of it: images (3, h, w) in [0, 1], a caption each. Sizes
    may differ within a row (multi-crop)."""
    images: list[torch.Tensor]
    captions: list[str]


@dataclass
class TextPreviewRow:
    """One text and what the task makes of it: named lines with one cell per token position — "input" (what
    the model reads), "target" (what it must predict there, empty where nothing), "model" (its guesses)."""
    lines: list[tuple[str, list[str]]]


@dataclass
class StepOutput:
    loss: torch.Tensor                                       # scalar to minimise
    metrics: dict[str, Any] = field(default_factory=dict)  # numbers (or 0-d tensors) to plot, e.g. accuracy


class PretextTask(nn.Module):
    info: ClassVar[TaskInfo]
    Params: ClassVar[type]  # a dataclass of `param(...)` fields
    preset: ClassVar[Preset] = Preset(epochs=12, batch_size=64, learning_rate=4e-3)  # generated data, a CPU
    real_data_preset: ClassVar[Preset | None] = None  # a CPU, data not generated (`data.GENERATED`); None: `preset`
    # Parameter defaults on data not generated (photos, real text), on any device; the card says why.
    real_data_params: ClassVar[dict[str, Any]] = {}
    gpu_preset: ClassVar[Preset] = Preset(epochs=200, batch_size=512, learning_rate=1e-3)  # CIFAR-sized, GPU
    encoders: ClassVar[tuple[str, ...] | None] = None  # encoders it can train (first: default); None: any CNN
    kind: ClassVar[str] = "image"  # the kind of item it trains on (see `data.kinds`)
    # True for methods whose loss compares the items of a batch with each other: under torchrun on GPUs their
    # batch-norm statistics are taken over the global batch (SyncBatchNorm), as in their papers; a process's
    # smaller share would make them easier to game (SimCLR's "information leakage" through BN). Methods that
    # look at one item at a time keep per-process statistics.
    sync_batchnorm: ClassVar[bool] = False

    def __init__(self, encoder: nn.Module, params=None):
        super().__init__()
        self.encoder = encoder
        self.params = params if params is not None else self.Params()

    # --- every step --------------------------------------------------------------------------------------
    def make_inputs(self, images: torch.Tensor, gen: torch.Generator, indices: torch.Tensor | None = None) -> Any:
        """Images (B, 3, H, W) in [0, 1] (and their indices in the data set) → what `loss` needs."""
        raise NotImplementedError

    def loss(self, inputs: Any, progress: Progress) -> StepOutput:
        raise NotImplementedError

    def training_step(self, images, gen, progress: Progress | None = None, indices=None) -> StepOutput:
        return self.loss(self.make_inputs(images, gen, indices), progress or Progress())

    # --- what the probes see -----------------------------------------------------------------------------
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The representation (B, D) that k-NN, probes and maps measure."""
        return self.encoder(images)

    def held_out_metrics(self, items: torch.Tensor, gen: torch.Generator) -> dict[str, torch.Tensor]:
        """Numbers on held-out items at every evaluation, in eval mode: a language model's "val_loss"."""
        return {}

    def embedding(self, images: torch.Tensor) -> torch.Tensor:
        """The output (B, P) that the loss compares, which the collapse monitor watches: a method collapses
        there first (the SimSiam paper measures the std of its L2-normalised z). Default: the features."""
        return self.features(images)

    # --- hooks the engine calls; no-ops unless a method needs them -----------------------------------------
    def param_groups(self, weight_decay: float) -> list[dict]:
        """Weight decay on weights only, never on biases and norms (as in BYOL, DINO, MAE)."""
        decay, no_decay = [], []
        for parameter in self.parameters():
            if parameter.requires_grad:
                (decay if parameter.ndim > 1 else no_decay).append(parameter)
        return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]

    def on_epoch_start(self, progress: Progress, embed_dataset: Callable[..., torch.Tensor]) -> None:
        """`embed_dataset()` gives `features` of every training image (N, D), in data-set order;
        `embed_dataset(transform)` those of each image passed through `transform` (a batch of [0, 1] images on
        the training device → the same) first."""

    def before_optimizer_step(self, progress: Progress) -> None:
        pass

    def after_optimizer_step(self, progress: Progress) -> None:
        pass

    # --- for students ------------------------------------------------------------------------------------
    def preview(self, images: torch.Tensor, gen: torch.Generator,
                predict: bool = False) -> list[PreviewRow] | list[TextPreviewRow]:
        """One row per item: what training feeds the model, and with `predict`, what the model answers."""
        raise NotImplementedError

    @classmethod
    def preset_for(cls, device_type: str, generated: bool = True) -> Preset:
        if device_type == "cuda":
            return cls.gpu_preset
        return cls.preset if generated or cls.real_data_preset is None else cls.real_data_preset


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
        low, high, choices = spec.metadata["low"], spec.metadata["high"], spec.metadata["choices"]
        if choices is not None and value not in choices:
            raise ValueError(f"{name} = {value!r} is not one of {', '.join(map(str, choices))}")
        if kind not in (bool, str) and ((low is not None and value < low) or (high is not None and value > high)):
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
