"""The training engine: a run's settings, the job that runs it in a thread, the loop and what it measures,
checkpoints and run folders, torchrun."""

from .job import RunStatus, TrainingRun
from .manager import JobManager
from .settings import TrainConfig

__all__ = ["JobManager", "RunStatus", "TrainConfig", "TrainingRun"]
