"""A run's settings: `TrainConfig`, every value a run depends on, filled in from the task's preset for the device
(`resolved`) and checked (`validate`) before anything starts."""

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch

from ..data import DEFAULT_DATA, TEST_FRACTION, VIEW_PRESETS, check_options, is_generated, resolve_data_path
from ..data.kinds import KINDS
from ..models import ENCODERS
from ..tasks import make_params, task_class
from ..tasks.parts.views import ViewParams


@dataclass
class TrainConfig:
    # A built-in name, "cifar10:ROOT" and the like, or a folder (see workbench.data); None: the task's preset's
    # data set, which is Shapes for every task but colorization.
    data: str | None = None
    task: str = "rotation"
    task_params: dict[str, Any] = field(default_factory=dict)  # overrides of the task's Params
    encoder: str = "auto"           # "auto": the task's own, else small_cnn on a CPU and resnet18 on a GPU
    # None: the task's preset for the device (see `tasks --json`); a value overrides it.
    epochs: int | None = None
    batch_size: int | None = None   # images a step; under torchrun the global batch, each process its share
    learning_rate: float | None = None  # peak, after a linear warm-up, then a cosine decay to zero
    weight_decay: float | None = None
    optimizer: str | None = None    # "adamw" or "sgd"
    device: str = "auto"            # "auto", "cpu" or "cuda"
    seed: int = 0
    max_minutes: float | None = None  # a time budget: the run ends there with a checkpoint; the schedule fits it
    image_size: int = 32            # the resolution the images are read at, in pixels
    grayscale: bool = False         # every image in grey
    test_fraction: float = TEST_FRACTION  # held out for the k-NN where the data has no test split of its own
    compile: bool = False           # torch.compile the encoder: slower to start, maybe faster after; off unless
                                    # measured to pay on the machine (a GPU, a large encoder)
    precision: str = "auto"         # "auto": the encoder in bfloat16 where the chip computes it natively (see
                                    # `resolve_precision`), else "float32"

    def resolved(self) -> "TrainConfig":
        """Every value filled in: the task's preset for the device where the user set none; params typed."""
        task_cls = task_class(self.task)
        device = resolve_device(self.device)
        encoder = self.encoder
        if encoder == "auto":
            encoder = default_encoder(self.task, device)
        data = self.data or preset_data(self.task, self.device)
        preset = run_preset(self.task, self.device, data)
        params = dataclasses.asdict(make_params(task_cls, {**task_defaults(self.task, data), **self.task_params}))
        filled = {name: getattr(preset, name) if getattr(self, name) is None else getattr(self, name)
                  for name in ("epochs", "batch_size", "learning_rate", "weight_decay", "optimizer")}
        return dataclasses.replace(self, data=resolve_data_path(data), task_params=params, encoder=encoder,
                                   precision=resolve_precision(self.precision, device), **filled)

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
        if self.encoder == "vit_tiny" and self.image_size != 32:  # its patch grid and positions are for 32 px
            raise ValueError(f"{self.encoder} reads 32×32 images only: use image size 32 with {self.task}, not "
                             f"{self.image_size}")
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
        resolve_precision(self.precision, resolve_device(self.device))
        check_options(self.image_size, self.test_fraction)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, saved: dict) -> "TrainConfig":
        """The settings a run folder's config.json holds (besides them, what the run resolved: its encoder)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in saved.items() if name in names})


def default_encoder(task: str, device: torch.device) -> str:
    """The encoder a task trains where the user names none: its own (MAE's ViT), else its data kind's."""
    task_cls = task_class(task)
    return task_cls.encoders[0] if task_cls.encoders else KINDS[task_cls.kind].default_encoder(device)


def preset_data(task: str, device: str = "auto") -> str:
    """The data a task is shown on where the user names none: its preset's, else Shapes."""
    return task_class(task).preset_for(resolve_device(device).type).data or DEFAULT_DATA


def run_preset(task: str, device: str, data: str):
    """The preset a run on `data` takes every value the user leaves unset from: on a GPU the task's GPU preset;
    on a CPU its preset for real data where the data is not generated and the task has one, else its preset."""
    return task_class(task).preset_for(resolve_device(device).type, generated=is_generated(data))


def preset_note(config: "TrainConfig") -> str | None:
    """One line where a run (its config resolved) takes its task's preset or parameters for real data: which
    values, and that the card says why."""
    task_cls, parts = task_class(config.task), []
    preset = task_cls.real_data_preset
    if preset is not None and run_preset(config.task, config.device, config.data) is preset:
        batch = f"{preset.tokens_per_step:,} tokens" if preset.tokens_per_step else f"{preset.batch_size} items"
        parts.append(f"{preset.epochs} epochs of {batch} a step, learning rate {preset.learning_rate:g}")
    if not is_generated(config.data):
        parts += [f"{name} {value}" for name, value in task_cls.real_data_params.items()
                  if config.task_params.get(name) == value]
    if not parts:
        return None
    return f"{config.task}'s preset for real data, not generated: {', '.join(parts)} (its card says why)"


def task_defaults(task: str, data: str) -> dict[str, Any]:
    """A task's parameter defaults on a data set: its paper's, with the data set's own strengths for the
    joint-embedding views where it has any (`VIEW_PRESETS`) and the task's own for data not generated
    (`real_data_params`). What the user sets overrides them all."""
    task_cls = task_class(task)
    params = dataclasses.asdict(task_cls.Params())
    if issubclass(task_cls.Params, ViewParams):
        params.update(VIEW_PRESETS.get(str(data).strip().lower(), {}))
    if not is_generated(data):
        params.update(task_cls.real_data_params)
    return params


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was asked for but no GPU is available here; use device 'cpu' or 'auto'")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; choose from auto, cpu, cuda")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> str:
    """"auto": "bfloat16" (the encoder under autocast, see `loop.encode_in_bfloat16`) on a GPU and on a CPU with
    native bfloat16 arithmetic (AVX512-BF16 or AMX), where its convolutions run ~1.5x faster than in float32
    (benchmarks/engine_speed.py); "float32" on other CPUs, where bfloat16 is emulated and slower."""
    if name == "auto":
        native = device.type == "cuda" or cpu_has_native_bfloat16()
        return "bfloat16" if native else "float32"
    if name not in ("float32", "bfloat16"):
        raise ValueError(f"unknown precision {name!r}; choose from auto, float32, bfloat16")
    return name


def cpu_has_native_bfloat16() -> bool:
    capabilities = torch.cpu.get_capabilities()
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))


def check_fits(config: TrainConfig, dataset, world_size: int = 1) -> None:
    """Raise ValueError where the data does not fit the task, or the batch the data or the processes."""
    kind = task_class(config.task).kind
    if dataset.kind.name != kind:
        raise ValueError(f"{config.task} trains on {kind} data, and {dataset.name} holds {dataset.kind.items}")
    items = len(dataset.pretrain_items)
    if config.batch_size > items:
        raise ValueError(f"batch size must be between 2 and {items} (the training {dataset.kind.items} of "
                         f"{dataset.name}), got {config.batch_size}")
    if config.batch_size % world_size:
        raise ValueError(f"batch size must be a multiple of the {world_size} processes, each of which trains on "
                         f"its share of it, got {config.batch_size}")


def fit_preset_batch(config: TrainConfig, dataset, world_size: int, notes: list[str]) -> TrainConfig:
    """The preset's batch for this data: as many texts as fill the preset's tokens a step (a text task's), and
    at most half the training items (two steps an epoch), a multiple of the processes, at least 2. `notes` says
    why in one line where it differs from the preset's. A batch the user set is never changed: `check_fits`
    refuses one too large."""
    preset, items = run_preset(config.task, config.device, config.data), len(dataset.pretrain_items)
    batch, why = config.batch_size, ""
    if preset.tokens_per_step and dataset.kind.name == "text":
        batch = max(2, round(preset.tokens_per_step / dataset.length))
        why = f"{preset.tokens_per_step:,} tokens a step, in texts of {dataset.length} tokens"
    if batch > items // 2:
        batch = items // 2
        why = (f"{dataset.name} has {items} training {dataset.kind.items}, and a batch of at most half of them "
               "leaves two steps an epoch")
    batch = max(2, batch // world_size * world_size)
    if batch != config.batch_size:
        notes.append(f"batch size {batch}, not the preset's {config.batch_size}: {why}")
    return dataclasses.replace(config, batch_size=batch)
