"""SSL Workbench: see self-supervised learning work.

The Python API is the engine that the page and the command line use:

    from workbench import TrainConfig, TrainingRun, probe_run
    run = TrainingRun(TrainConfig(data="shapes", task="rotation", epochs=3), "runs/api")
    run.run()                       # or run.start() for a background thread, then run.status()
    print(probe_run("runs/api"))    # k-NN of the trained encoder, random init and raw pixels
"""

from .data import load_dataset
from .evaluation import knn_accuracy, map_run, probe_run
from .tasks import create_task, list_tasks
from .training import JobManager, TrainConfig, TrainingRun

__all__ = ["JobManager", "TrainConfig", "TrainingRun", "create_task", "knn_accuracy", "list_tasks", "load_dataset",
           "map_run", "probe_run"]
