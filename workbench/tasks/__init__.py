"""The catalogue of pretext tasks. One module per task registers itself with `@register_task`.

    >>> "simclr" in [info.name for info in list_tasks()]
    True
    >>> task_class("nonsense")
    Traceback (most recent call last):
    ...
    ValueError: unknown task 'nonsense'; choose from: rotation, simclr
"""

from pathlib import Path

from .base import PreviewRow, PretextTask, StepOutput, TaskInfo, make_params, param

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


def explanation(name: str) -> str:
    """The task's explanation card (Markdown) for students."""
    card = EXPLANATIONS / f"{name}.md"
    return card.read_text(encoding="utf-8") if card.exists() else task_class(name).info.summary


# Importing a task module registers it. Listed by hand so that what is in the catalogue is plain to see.
from . import rotation, simclr  # noqa: E402,F401

__all__ = ["PreviewRow", "PretextTask", "StepOutput", "TaskInfo", "create_task", "explanation", "list_tasks",
           "make_params", "param", "register_task", "task_class"]
