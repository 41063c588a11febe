"""Every registered task with its own default preset on its preset's data (Shapes; colorization: Painted
shapes), or on the data given: k-NN top-1 next to the same encoder at random initialisation and raw pixels, the
linear probe's top-1, seconds taken and images/s — the catalogue's learning table — and the bar each must clear:
k-NN 5 points above raw pixels, or, for a method whose card says k-NN reads it badly (MAE, VAE, GAN), the linear
probe 5 points above the same network at random init.

    python benchmarks/tasks_table.py [--tasks rotation simclr ...] [--data shapes] [--out runs/bench]
    python benchmarks/tasks_table.py --data PHOTOS/tiny10-5k    # a folder of photos (benchmarks/photo_folders.py)

Each run is what `python -m workbench train --task T` does with nothing else. Runs one task after another (the
machine should be otherwise idle: the seconds are wall-clock), prints a Markdown table and writes its rows to
benchmarks/results/tasks-DATA-MACHINE-PRECISION.csv (each task's row replaced, the others kept).
"""

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from csv_results import measured_by, results_path, save_rows
from workbench.data import DEFAULT_DATA
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig, resolve_precision
from workbench.inspection.probe_run import probe_run
from workbench.tasks import list_tasks, task_class


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="*", default=[info.name for info in list_tasks()])
    parser.add_argument("--data", help="one data set for every task (default: each task's preset's)")
    parser.add_argument("--out", default="runs/bench")
    parser.add_argument("--threads", type=int, help="torch's CPU threads (default: its own choice, one a core); "
                        "two tables at once, one thread each, share two cores without crowding each other")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads\n")
    print("| task | family | preset (epochs × batch, optimiser, lr) | k-NN top-1 | random init | raw pixels "
          "| gain (points) | linear probe (random init, raw pixels) | seconds | images/s | bar |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows, source = [], measured_by("tasks_table.py")
    for name in args.tasks:
        cls = task_class(name)
        config = TrainConfig(data=args.data, task=name, device="cpu")
        run = TrainingRun(config, Path(args.out) / name)
        start = time.perf_counter()
        status = run.run()
        seconds = time.perf_counter() - start
        if status.state != "finished":
            print(f"| {name} | {cls.info.family} | — | {status.state}: {status.message} | | | | | | | |")
            continue
        result = probe_run(run.out_dir)
        c = run.config
        gain = 100 * (result["knn_top1"] - result["random_init_knn_top1"])
        label = name + (" (k-NN-weak)" if cls.info.knn_weak else "")
        data = Path(c.data).name if Path(c.data).is_dir() else c.data  # a folder by its name, not where it lay
        label += f" on {data}" if c.data != DEFAULT_DATA else ""
        print(f"| {label} | {cls.info.family} | {c.epochs} × {c.batch_size}, {c.optimizer} "
              f"{c.learning_rate:g} | **{result['knn_top1']:.3f}** | {result['random_init_knn_top1']:.3f} | "
              f"{result['raw_pixels_knn_top1']:.3f} | {gain:+.0f} | {result['linear_top1']:.3f} "
              f"({result['random_init_linear_top1']:.3f}, {result['raw_pixels_linear_top1']:.3f}) | {seconds:.0f} | "
              f"{status.images_per_second:,.0f} | {bar(cls, result)} |", flush=True)
        rows.append({"task": name, "family": cls.info.family, "data": data, "epochs": c.epochs,
                     "batch": c.batch_size, "optimizer": c.optimizer, "lr": f"{c.learning_rate:g}",
                     "weight_decay": f"{c.weight_decay:g}", "knn": f"{result['knn_top1']:.3f}",
                     "random_init_knn": f"{result['random_init_knn_top1']:.3f}",
                     "raw_pixels_knn": f"{result['raw_pixels_knn_top1']:.3f}", "linear": f"{result['linear_top1']:.3f}",
                     "random_init_linear": f"{result['random_init_linear_top1']:.3f}",
                     "raw_pixels_linear": f"{result['raw_pixels_linear_top1']:.3f}", "seconds": f"{seconds:.0f}",
                     "images_per_second": f"{status.images_per_second:.0f}", "bar": bar(cls, result),
                     "source": source})
    if rows:
        precision = resolve_precision(TrainConfig().precision, torch.device("cpu"))
        save_rows(results_path("tasks", args.data or DEFAULT_DATA, "cpu", precision), rows, key=("task",))


def bar(cls, result) -> str:
    """The bar a task's row must clear, and by how many points it does (negative: short of it)."""
    if cls.info.knn_weak:
        margin, what = result["linear_top1"] - result["random_init_linear_top1"] - 0.05, "linear ≥ random init + 5"
    else:
        margin, what = result["knn_top1"] - result["raw_pixels_knn_top1"] - 0.05, "k-NN ≥ raw pixels + 5"
    return f"{what}: {100 * margin:+.1f}"


if __name__ == "__main__":
    main()
