"""The text tasks with their own presets: k-NN and linear-probe top-1 next to the same network at random
initialisation and the two bags of words, the held-out loss, seconds — the text catalogue's learning table.

    python benchmarks/text_tasks.py [--tasks mlm next_token] [--data roles] [--max-minutes M] [--out runs/bench]

Each run is what `python -m workbench train --task T [--data D] [--max-minutes M]` does. Goal on Roles (issue
#28): with each preset alone, on two cores, in at most 200 s, k-NN ≥ random init + 25 points and ≥ the better bag
of words + 10 points. Prints a Markdown table and writes its rows to benchmarks/results/text-DATA-cpu2-PRECISION.csv
(a row per task and budget). Run on an otherwise idle machine: the seconds are wall-clock.
"""

import argparse
import time
from pathlib import Path

import torch

from csv_results import measured_by, results_path, save_rows
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig, preset_data, resolve_precision
from workbench.inspection.probe_run import probe_run

BASELINES = ("bag_of_words", "bag_of_ngrams")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="*", default=["mlm", "next_token"])
    parser.add_argument("--data", help="default: each task's preset's (roles)")
    parser.add_argument("--max-minutes", type=float, help="a time budget instead of the preset's epochs")
    parser.add_argument("--out", default="runs/bench-text")
    args = parser.parse_args()
    print("| task | data | budget | k-NN | random init | unigram TF-IDF | 1–2-gram TF-IDF | gain over random | "
          "gain over the better bag | linear (random, unigram, 1–2-gram) | held-out loss | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows, source = [], measured_by("text_tasks.py")
    for name in args.tasks:
        run = TrainingRun(TrainConfig(data=args.data, task=name, device="cpu", max_minutes=args.max_minutes),
                          Path(args.out) / f"{name}-{args.data or 'preset'}-{args.max_minutes or 'preset'}")
        start = time.perf_counter()
        status = run.run()
        seconds = time.perf_counter() - start
        if status.state != "finished":
            print(f"| {name} | {status.state}: {status.message} |")
            continue
        r = probe_run(run.out_dir)
        knn = {key: r[f"{key}_knn_top1"] for key in BASELINES}
        linear = {key: r[f"{key}_linear_top1"] for key in BASELINES}
        held_out = [e["val_loss"] for e in status.evals if "val_loss" in e]
        budget = f"{args.max_minutes:g} min" if args.max_minutes else f"{run.config.epochs} epochs"
        data = run.config.data if len(run.config.data) < 30 else Path(run.config.data).name
        print(f"| {name} | {data} | {budget} | **{r['knn_top1']:.3f}** | {r['random_init_knn_top1']:.3f} | "
              f"{knn['bag_of_words']:.3f} | {knn['bag_of_ngrams']:.3f} | "
              f"{100 * (r['knn_top1'] - r['random_init_knn_top1']):+.0f} | "
              f"{100 * (r['knn_top1'] - max(knn.values())):+.0f} | {r['linear_top1']:.3f} "
              f"({r['random_init_linear_top1']:.3f}, {linear['bag_of_words']:.3f}, {linear['bag_of_ngrams']:.3f}) | "
              f"{held_out[-1]:.3f} | {seconds:.0f} |", flush=True)
        rows.append({"task": name, "data": data, "budget": budget, "knn": f"{r['knn_top1']:.3f}",
                     "random_init_knn": f"{r['random_init_knn_top1']:.3f}",
                     **{f"{key}_knn": f"{value:.3f}" for key, value in knn.items()},
                     "linear": f"{r['linear_top1']:.3f}", "random_init_linear": f"{r['random_init_linear_top1']:.3f}",
                     **{f"{key}_linear": f"{value:.3f}" for key, value in linear.items()},
                     "held_out_loss": f"{held_out[-1]:.3f}", "steps": status.step, "seconds": f"{seconds:.0f}",
                     "source": source})
    if rows:
        data = args.data or preset_data(args.tasks[0], "cpu")
        precision = resolve_precision(TrainConfig().precision, torch.device("cpu"))
        save_rows(results_path("text", data, "cpu", precision), rows, key=("task", "budget"))


if __name__ == "__main__":
    main()
