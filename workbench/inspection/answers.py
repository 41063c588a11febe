"""Which answers the preview of a task draws: those of the app's latest run, and only on the images it trained
on, read as it read them, with the task's parameters it trained with (a preview asked with other parameters draws
the inputs and targets they make, without answers).

A run on other data answers nothing here: a model trained on Painted shapes would paint digits in its shapes'
colours, and MAE's ViT cannot read images of another size.
"""

from pathlib import Path

from ..engine.checkpoints import RunFolder
from ..engine.job import TrainingRun
from ..engine.settings import task_defaults


def answering_run(run: TrainingRun | None, task: str, data: str, image_size: int, grayscale: bool,
                  params: dict | None = None) -> Path | None:
    """The folder of `run` when it trains `task` on `data` read at `image_size` (in grey or not) — with the
    task's parameters `params` (those not named: their defaults), unless None — and has a checkpoint to answer
    with; else None (the preview shows inputs and targets only)."""
    trained = (run is not None and run.config.task == task and run.config.data == data
               and (run.config.image_size, run.config.grayscale) == (image_size, grayscale)
               and (params is None or _with_defaults(task, data, params) == _with_defaults(task, data,
                                                                                          run.config.task_params))
               and RunFolder(run.out_dir).checkpoint_file.exists())
    return run.out_dir if trained else None


def _with_defaults(task: str, data: str, params: dict) -> dict:
    return {**task_defaults(task, data), **params}
