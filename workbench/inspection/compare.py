"""Runs side by side — which family learns what, and how fast: one row of probes per run next to the same
network at random init and each data set's no-learning baseline, and each run's loss and k-NN curves against
epochs and training seconds.

    python -m workbench compare runs/simclr-… runs/rotation-… [--handout lesson.html]
"""

from pathlib import Path

from ..data import load_run_data, run_data_options
from ..engine.checkpoints import RunFolder
from ..tasks import task_class
from .probe_run import probe_run

# The few-label column: a linear probe on a stratified tenth of the training labels, the mean over three draws of
# which images keep their label (`label_efficiency` without fine-tuning: its cheapest honest form; one draw of a
# tenth of Shapes moves by about a point).
FEW_LABELS, FEW_LABEL_DRAWS = 0.1, 3


def compare_runs(run_dirs, device="cpu", progress=None) -> dict:
    """Probe each run (`probe_run`) and read its curves. Returns
    - "runs": one row per run, in the order given: "run" (the folder's name), "path", "task", "task_title", "data",
      "epoch" / "epochs" (done / asked), "seconds" (training), "state", "test_items" (how many held-out "items":
      "images" or "texts"), "classes", and the top-1 accuracies "knn_top1", "linear_top1", "linear_10pct_top1"
      (± "linear_10pct_std" over the draws, with "labels_10pct" labelled images), "random_init_knn_top1",
      "random_init_linear_top1";
    - "baselines": per data set and no-learning baseline (raw pixels; bags of words for text) — "data", "key",
      "label", "knn_top1", "linear_top1", "linear_10pct_top1", "linear_10pct_std";
    - "curves": per run, "run", "task", "task_title" and its records as {"step", "epoch", "seconds", …}: "loss"
      (each step: "loss") and "knn" (each online evaluation: "knn_top1", "all_images"). "epoch" is fractional
      (step / steps per epoch), "seconds" the run's training seconds there (see `run_curves`).
    `progress(done, total, what)` is told after each run."""
    run_dirs = [Path(run_dir) for run_dir in run_dirs]
    if not run_dirs:
        raise ValueError("name at least one run folder to compare")
    rows, baselines, curves = [], {}, []
    for done, run_dir in enumerate(run_dirs, 1):
        folder = RunFolder(run_dir)
        config = folder.read_config()
        probes = probe_run(run_dir, device=device, fractions=(FEW_LABELS,), draws=FEW_LABEL_DRAWS, fine_tuning=None)
        few = probes["label_efficiency"][f"{FEW_LABELS:g}"]["linear"]
        summary = folder.summary()
        rows.append({"run": run_dir.name, "path": str(run_dir), "task": config["task"],
                     "task_title": task_title(config["task"]), "data": config["data"], "epoch": summary["epoch"],
                     "epochs": summary["epochs"], "seconds": summary["seconds"], "state": summary["state"],
                     "test_items": probes["test_items"], "items": probes["items"],
                     "classes": len(probes["class_names"]),
                     "knn_top1": probes["knn_top1"], "linear_top1": probes["linear_top1"],
                     "linear_10pct_top1": few["trained"]["accuracy"],
                     "linear_10pct_std": few["trained"]["accuracy_std"], "labels_10pct": few["trained"]["labels"],
                     "random_init_knn_top1": probes["random_init_knn_top1"],
                     "random_init_linear_top1": probes["random_init_linear_top1"]})
        for key, label in probes["baselines"].items():  # the same for every run on the data set: kept once
            baselines.setdefault((config["data"], *run_data_options(config).values(), key), {
                "data": config["data"], "key": key, "label": label, "knn_top1": probes[f"{key}_knn_top1"],
                "linear_top1": probes[f"{key}_linear_top1"], "linear_10pct_top1": few[key]["accuracy"],
                "linear_10pct_std": few[key]["accuracy_std"]})
        curves.append(run_curves(folder))
        if progress:
            progress(done, len(run_dirs), f"probed {run_dir.name}")
    return {"runs": rows, "baselines": list(baselines.values()), "curves": curves}


def task_title(task: str) -> str:
    """"SimCLR — contrast two augmented views" (the task catalogue's title)."""
    return task_class(task).info.title


def run_curves(folder: RunFolder) -> dict:
    """A run's loss (each step record) and online k-NN (each evaluation record) with fractional epochs and
    training seconds. Runs written before the records held "seconds" get them spread over the run's elapsed
    seconds in proportion to the step: its pace taken as even."""
    config, metrics = folder.read_config(), folder.read_metrics()
    steps, evals = metrics.get("steps", []), metrics.get("evals", [])
    steps_per_epoch = max(1, len(load_run_data(config).pretrain_items) // config["batch_size"])
    last_step = max(1, metrics.get("step") or (steps[-1]["step"] if steps else 1))

    def where(record) -> dict:
        seconds = record.get("seconds", metrics.get("elapsed_seconds", 0.0) * record["step"] / last_step)
        return {"step": record["step"], "epoch": record["step"] / steps_per_epoch, "seconds": seconds}

    return {"run": folder.path.name, "task": config["task"], "task_title": task_title(config["task"]),
            "loss": [{**where(record), "loss": record["loss"]} for record in steps],
            "knn": [{**where(record), "knn_top1": record["knn_top1"], "all_images": record.get("all_images", False)}
                    for record in evals]}


def comparison_markdown(comparison: dict) -> str:
    """The comparison's table (Markdown, for the terminal, the page and the hand-out): each run, then each data
    set's no-learning baseline; what the numbers are, above it."""
    data_sets = {row["data"]: row for row in comparison["runs"]}
    held_out = "; ".join(f"{Path(data).name}: {row['test_items']:,} {row['items']}, {row['classes']} classes "
                         f"(chance {1 / row['classes']:.2f})" for data, row in data_sets.items())
    lines = [f"Top-1 accuracy on the held-out items — {held_out}. k-NN: no training at all; linear probe: a "
             "logistic regression on the frozen features, with every training label or with a stratified "
             f"{100 * FEW_LABELS:g} % of them (mean ± std over {FEW_LABEL_DRAWS} draws); random init: the same "
             "network before training.", "",
             "| run | task | data | epochs | seconds | k-NN | linear | linear, 10 % labels | random init: k-NN | "
             "random init: linear |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in comparison["runs"]:
        lines.append(f"| {row['run']} | {row['task_title'].split(' — ')[0]} | {Path(row['data']).name} | "
                     f"{row['epoch']} / {row['epochs']} | {row['seconds']:,.0f} | **{row['knn_top1']:.3f}** | "
                     f"**{row['linear_top1']:.3f}** | {_mean_std(row)} | {row['random_init_knn_top1']:.3f} | "
                     f"{row['random_init_linear_top1']:.3f} |")
    for baseline in comparison["baselines"]:
        lines.append(f"| — | {baseline['label']} (no learning) | {Path(baseline['data']).name} | | | "
                     f"{baseline['knn_top1']:.3f} | {baseline['linear_top1']:.3f} | "
                     f"{_mean_std(baseline)} | | |")
    return "\n".join(lines)


def _mean_std(scores: dict) -> str:
    return f"{scores['linear_10pct_top1']:.3f} ± {scores['linear_10pct_std']:.3f}"
