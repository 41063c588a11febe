"""How much can MAE's ViT learn about Shapes in the seconds MAE's preset takes? Side by side, in one run:

1. MAE's own preset (`python -m workbench train --task mae`, nothing else), timed;
2. the same ViT, from the same random start, trained *with the labels* (cross-entropy on its mean token) for the
   same number of seconds, with MAE's optimiser, peak lr and precision: about the most that any pretext task
   could teach this encoder in that time;

each read by k-NN top-1 on the mean of its patch tokens, next to the encoder at random initialisation. The row
also goes to benchmarks/results/mae_bound-shapes-MACHINE-PRECISION.csv (one row a seed).

    python benchmarks/mae_bound.py [--seed 0] [--out runs/bench]

Written for #8's goal for MAE (k-NN at least 10 points above random init within 200 s on two cores): how far
the labels themselves get this ViT in that time says how much of the goal MAE's pretext task would have to reach.
"""

import argparse
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from csv_results import measured_by, results_path, save_rows
from workbench import augment
from workbench.engine.job import TrainingRun
from workbench.engine.loop import learning_rate_at
from workbench.engine.settings import TrainConfig
from workbench.evaluation.metrics import embed, knn_accuracy
from workbench.inspection.probe_run import probe_run
from workbench.models import create_encoder, seeded

CROP_SCALE = (0.5, 1.0)  # labels do not need MAE's harsher crops; larger ones keep the shape in the view


def knn_of(encoder, dataset) -> float:
    bank, queries = embed(encoder, dataset.train_items), embed(encoder, dataset.test_items)
    return knn_accuracy(bank, dataset.train_labels, queries, dataset.test_labels)


def train_with_labels(seconds: float, config: TrainConfig, dataset, seed: int) -> tuple[nn.Module, int]:
    """The ViT with a linear classifier on its features, trained for `seconds` of wall-clock time with MAE's
    optimiser, peak lr, schedule (warm-up, then cosine, over the time) and precision (bfloat16 where MAE's run
    had it). Returns the encoder and the steps taken."""
    with seeded(seed):
        encoder = create_encoder(config.encoder)
        classifier = nn.Linear(encoder.feature_dim, len(dataset.class_names))
    model = nn.Sequential(encoder, classifier)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    images, labels = dataset.train_items, dataset.train_labels
    gen = torch.Generator().manual_seed(seed)

    def batches():
        while True:
            order = torch.randperm(len(images), generator=gen)
            for start in range(0, len(images) - config.batch_size + 1, config.batch_size):
                yield order[start:start + config.batch_size]

    steps, start = 0, time.perf_counter()
    for batch_indices in batches():
        progress = (time.perf_counter() - start) / seconds
        if progress >= 1:
            return encoder, steps
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(int(1000 * progress), 1000, config.learning_rate)  # MAE's, in time
        batch = augment.random_resized_crop(images[batch_indices].float() / 255, gen, scale=CROP_SCALE)
        with torch.autocast("cpu", torch.bfloat16, enabled=config.precision == "bfloat16"):
            logits = model(batch)
        loss = F.cross_entropy(logits.float(), labels[batch_indices])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/bench")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads\n")

    config = TrainConfig(task="mae", data="shapes", device="cpu", seed=args.seed)
    run = TrainingRun(config, Path(args.out) / f"mae-seed{args.seed}")
    start = time.perf_counter()
    status = run.run()
    mae_seconds = time.perf_counter() - start
    if status.state != "finished":
        raise SystemExit(f"MAE's run did not finish: {status.state}: {status.message}")
    mae = probe_run(run.out_dir)
    steps = run.steps_per_epoch * run.config.epochs

    dataset = run.dataset
    start = time.perf_counter()
    supervised, supervised_steps = train_with_labels(mae_seconds, run.config, dataset, args.seed)
    supervised_seconds = time.perf_counter() - start
    # Both start from the encoder that probe_run rebuilt from the seed as "random init", and `knn_of` follows
    # its k-NN protocol (cosine, the same k and temperature), so one random-init column serves both rows.
    chance = mae["random_init_knn_top1"]

    print(f"both in {run.config.precision}\n")
    print("| encoder trained by | seconds | steps × batch | k-NN top-1 | random init | gain (points) |")
    print("|---|---|---|---|---|---|")
    print(f"| MAE's preset ({run.config.epochs} epochs) | {mae_seconds:.0f} | {steps} × {run.config.batch_size} | "
          f"**{mae['knn_top1']:.3f}** | {chance:.3f} | {100 * (mae['knn_top1'] - chance):+.0f} |")
    supervised_knn = knn_of(supervised, dataset)
    print(f"| the labels (cross-entropy), the same seconds | {supervised_seconds:.0f} | "
          f"{supervised_steps} × {run.config.batch_size} | **{supervised_knn:.3f}** | {chance:.3f} | "
          f"{100 * (supervised_knn - chance):+.0f} |")
    row = {"seed": args.seed, "mae_epochs": run.config.epochs, "mae_seconds": f"{mae_seconds:.0f}",
           "mae_steps": steps, "mae_knn": f"{mae['knn_top1']:.3f}", "labels_seconds": f"{supervised_seconds:.0f}",
           "labels_steps": supervised_steps, "batch": run.config.batch_size, "labels_knn": f"{supervised_knn:.3f}",
           "random_init_knn": f"{chance:.3f}", "source": measured_by("mae_bound.py")}
    save_rows(results_path("mae_bound", "shapes", "cpu", run.config.precision), [row], key=("seed",))


if __name__ == "__main__":
    main()
