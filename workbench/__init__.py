"""SSL Workbench: see self-supervised learning work.

The Python API is the engine that the page and the command line use:

    from workbench import TrainConfig, TrainingRun, probe_run
    run = TrainingRun(TrainConfig(data="shapes", task="rotation", epochs=3), "runs/api")
    run.run()                       # or run.start() for a background thread, then run.status()
    print(probe_run("runs/api"))    # k-NN and linear probe of the trained encoder, random init, raw pixels
    probe_run("runs/api", fractions=(0.01, 0.1, 1.0))["label_efficiency"]   # few labels: probe and fine-tune
    JobManager("runs").enqueue([TrainConfig(task=t, max_minutes=1) for t in ("rotation", "simclr")])  # a queue
    compare_runs(["runs/rotation-…", "runs/simclr-…"])   # side by side; handout_document(…): one offline HTML
"""

from .data import load_dataset
from .engine import JobManager, TrainConfig, TrainingRun
from .evaluation.metrics import knn_accuracy
from .inspection import compare_runs, handout_document, map_run, probe_run
from .tasks import build_task, create_task, list_tasks

__all__ = ["JobManager", "TrainConfig", "TrainingRun", "build_task", "compare_runs", "create_task",
           "handout_document", "knn_accuracy", "list_tasks", "load_dataset", "map_run", "probe_run"]
