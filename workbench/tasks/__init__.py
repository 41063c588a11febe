"""The catalogue of pretext tasks. One module per task registers itself with `@register_task`.

    >>> "simclr" in [info.name for info in list_tasks()]
    True
    >>> task_class("nonsense")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown task 'nonsense'; choose from: barlow_twins, byol, colorization, ..., vae, vicreg
"""

import importlib
import pkgutil
from pathlib import Path

from ..models import create_encoder, seeded
from .base import (PreviewRow, PretextTask, Preset, Progress, StepOutput, TaskInfo, TextPreviewRow, make_params,
                   param)

_REGISTRY: dict[str, type[PretextTask]] = {}
# Explanation cards live with the other assets at the repository's top (the app runs from a checkout).
EXPLANATIONS = Path(__file__).resolve().parents[2] / "assets" / "explanations"


def register_task(cls: type[PretextTask]) -> type[PretextTask]:
    name = cls.info.name
    if name in _REGISTRY:
        raise ValueError(f"a task called {name!r} is already registered ({_REGISTRY[name].__module__})")
    _REGISTRY[name] = cls
    return cls


def list_tasks() -> list[TaskInfo]:
    return [_REGISTRY[name].info for name in sorted(_REGISTRY)]


def task_class(name: str) -> type[PretextTask]:
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; choose from: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def create_task(name: str, encoder, **overrides) -> PretextTask:
    cls = task_class(name)
    return cls(encoder, make_params(cls, overrides))


def build_task(name: str, encoder: str, seed: int, **overrides) -> PretextTask:
    """The task `name` on a new encoder called `encoder`, every first weight drawn from `seed` alone: a run, its
    checkpoint and its random-init baseline get the same network whatever other threads draw meanwhile."""
    with seeded(seed):
        return create_task(name, create_encoder(encoder), **overrides)


# Every card has these sections, in bold at the start of a paragraph, and its loss as a $$ formula.
CARD_SECTIONS = ("The pretext task", "The loss", "Why it learns", "What to look for", "How it fails")


def explanation(name: str) -> str:
    """The task's explanation card (Markdown) for students, ending with its paper and a link."""
    info = task_class(name).info
    card = EXPLANATIONS / f"{name}.md"
    text = card.read_text(encoding="utf-8") if card.exists() else info.summary
    return f"{text.rstrip()}\n\n**Paper:** [{info.paper}]({info.paper_url})"


def card(name: str) -> str:
    """The task's card as the page and the hand-out show it: its explanation, its family, and a warning where
    k-NN reads its features badly."""
    info = task_class(name).info
    text = f"{explanation(name)}\n\n**Family:** {info.family}"
    if info.knn_weak:
        text += (" · *k-NN is known to be weak for this method's features: read the linear probe and "
                 "fine-tuning numbers too.*")
    return text


# Importing a task module registers it: every module of this package but the contract and the shared parts is
# a task, so adding one is writing its file (the README's table shows the catalogue by family).
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("base", "parts"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["CARD_SECTIONS", "PreviewRow", "PretextTask", "Preset", "Progress", "StepOutput", "TaskInfo",
           "TextPreviewRow", "build_task", "create_task", "explanation", "list_tasks", "make_params", "param", "register_task",
           "task_class"]
