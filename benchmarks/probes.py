"""Seconds the probes take on this machine: the k-NN probe at the issue's size (50,000 × 10,000 at 512-d), the
linear probe, one fine-tuning run, and the whole label-efficiency table of a run.

    python benchmarks/probes.py [--run runs/some-run] [--draws 3]

Without --run, a short rotation run on Shapes is trained first (not timed). The seconds also go to
benchmarks/results/probes-DATA-MACHINE-float32.csv (the probes run in float32 on the CPU; DATA: the run's).
"""

import argparse
import tempfile
import time

import torch
import torch.nn.functional as F

from csv_results import measured_by, results_path, save_rows
from workbench.data import load_dataset
from workbench.data.kinds import raw_pixel_features
from workbench.engine.checkpoints import load_task
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig
from workbench.evaluation.metrics import embed, knn_accuracy
from workbench.evaluation.probes import FineTuning, label_efficiency, linear_probe


def seconds(work):
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run")
    parser.add_argument("--draws", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)

    bank = F.normalize(torch.randn(50_000, 512), dim=1)
    queries = F.normalize(torch.randn(10_000, 512), dim=1)
    labels, query_labels = torch.randint(10, (50_000,)), torch.randint(10, (10_000,))
    t, _ = seconds(lambda: knn_accuracy(bank, labels, queries, query_labels))
    print(f"k-NN probe, 50,000 bank × 10,000 queries, 512-d: {t:.2f} s")
    rows = [{"measure": "k-NN probe", "size": "50,000 bank × 10,000 queries, 512-d", "seconds": f"{t:.2f}",
             "top1": ""}]

    run_dir = args.run
    if run_dir is None:
        run_dir = tempfile.mkdtemp()
        TrainingRun(TrainConfig(data="shapes", task="rotation", epochs=6, device="cpu"), run_dir).run()
    trained, config = load_task(run_dir)
    random_init = load_task(run_dir, trained=False)[0]
    data = load_dataset(config["data"])
    train_f, test_f = embed(trained, data.train_items), embed(trained, data.test_items)
    t, scores = seconds(lambda: linear_probe(train_f, data.train_labels, test_f, data.test_labels))
    print(f"linear probe, {len(train_f):,} × {train_f.shape[1]}-d features: {t:.2f} s (top-1 {scores['accuracy']:.3f})")
    rows.append({"measure": "linear probe, learned features", "size": f"{len(train_f):,} × {train_f.shape[1]}-d",
                 "seconds": f"{t:.2f}", "top1": f"{scores['accuracy']:.3f}"})
    raw_train, raw_test = raw_pixel_features(data.train_items), raw_pixel_features(data.test_items)
    t, scores = seconds(lambda: linear_probe(raw_train, data.train_labels, raw_test, data.test_labels))
    print(f"linear probe, raw pixels ({raw_train.shape[1]}-d): {t:.2f} s (top-1 {scores['accuracy']:.3f})")
    rows.append({"measure": "linear probe, raw pixels", "size": f"{len(raw_train):,} × {raw_train.shape[1]}-d",
                 "seconds": f"{t:.2f}", "top1": f"{scores['accuracy']:.3f}"})
    tuning = FineTuning()
    t, scores = seconds(lambda: tuning(trained, data.train_items, data.train_labels, data.test_items,
                                       data.test_labels, len(data.class_names)))
    print(f"fine-tuning, {tuning.steps} steps × {tuning.batch_size}: {t:.2f} s (top-1 {scores['accuracy']:.3f})")
    rows.append({"measure": "fine-tuning", "size": f"{tuning.steps} steps × {tuning.batch_size}",
                 "seconds": f"{t:.2f}", "top1": f"{scores['accuracy']:.3f}"})
    t, table = seconds(lambda: label_efficiency(trained, random_init, data, draws=args.draws))
    print(f"label-efficiency table, {args.draws} draws: {t:.1f} s")
    for fraction, methods in table.items():
        for method, representations in methods.items():
            print(f"  {float(fraction):>5.0%} {method:<10} " + "  ".join(
                f"{name} {s['accuracy']:.3f}±{s['accuracy_std']:.3f}" for name, s in representations.items()))
    rows.append({"measure": "label-efficiency table", "size": f"{len(table)} fractions, {args.draws} draws",
                 "seconds": f"{t:.1f}", "top1": ""})
    source = measured_by("probes.py")
    save_rows(results_path("probes", config["data"], "cpu", "float32"), [{**row, "source": source} for row in rows],
              key=("measure",))

if __name__ == "__main__":
    main()
