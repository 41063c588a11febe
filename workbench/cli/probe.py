"""`probe`: how well a run's encoder serves with labels, against random init and the data's no-learning
baselines (raw pixels; bags of words for text)."""

import json
import sys

from ..engine.checkpoints import RunFolder
from ..evaluation.probes import FRACTIONS, FineTuning, KnnSettings
from ..inspection.probe_run import probe_run
from ..inspection.report import probe_markdown
from .common import USER_ERRORS, fail


def add_to(commands):
    parser = commands.add_parser("probe", help="how well a run's encoder serves with labels: k-NN and linear probe "
                                               "(and, with --label-efficiency, fine-tuning on a few labels), against "
                                               "random init and the data's baselines (raw pixels; bags of words)")
    parser.add_argument("run_dir")
    parser.add_argument("--data", help="probe on another data set than the run's own (transfer)")
    parser.add_argument("--label-efficiency", action="store_true",
                        help="add the label-efficiency table: linear probe and fine-tuning on a fraction of the "
                             "labels, against random init and raw pixels (minutes on a CPU; without it ~25 s)")
    parser.add_argument("--fractions", type=float, nargs="+",
                        help="label fractions for the label-efficiency table (default: 0.01 0.1 1); implies "
                             "--label-efficiency")
    parser.add_argument("--draws", type=int, default=3, help="random draws of the labelled images per fraction")
    parser.add_argument("--k", type=int, default=KnnSettings.k, help="k-NN: neighbours that vote")
    parser.add_argument("--temperature", type=float, default=KnnSettings.temperature,
                        help="k-NN: each neighbour votes exp(similarity / T)")
    parser.add_argument("--metric", choices=["cosine", "euclidean"], default=KnnSettings.metric,
                        help="k-NN: cosine (weighted votes) or euclidean (one vote each)")
    parser.add_argument("--fine-tune-steps", type=int, default=FineTuning.steps,
                        help="optimiser steps of each fine-tuning run (0: linear probe only)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=handle)


def handle(args) -> int:
    fractions = args.fractions or (FRACTIONS if args.label_efficiency else ())
    fine_tuning = FineTuning(steps=args.fine_tune_steps) if args.fine_tune_steps else None

    def show(done, total, what):
        if not args.json and done:
            print(f"  [{done}/{total}] {what}", file=sys.stderr, flush=True)

    try:
        if args.draws < 1 or any(not 0 < f <= 1 for f in fractions):
            raise ValueError("--draws must be at least 1 and every fraction in (0, 1]")
        RunFolder(args.run_dir).read_config()  # a wrong folder is told in one line, before the start line
        if not args.json:
            print(start_line(args.run_dir, fractions, args.draws, fine_tuning), file=sys.stderr, flush=True)
        result = probe_run(args.run_dir, data=args.data, fractions=fractions, draws=args.draws,
                           fine_tuning=fine_tuning, progress=show,
                           knn=KnnSettings(args.k, args.temperature, args.metric))
    except USER_ERRORS as error:
        return fail(str(error))
    print(json.dumps(result, indent=1) if args.json else probe_markdown(result))
    return 0


def start_line(run_dir, fractions, draws: int, fine_tuning) -> str:
    """What the probe will do and about how long it takes, before the first number comes."""
    quick = f"probing {run_dir}: k-NN and linear probe of the trained encoder, random init and the raw baseline"
    if not fractions:
        return f"{quick} (about half a minute on a CPU; --label-efficiency adds fine-tuning on a few labels)"
    how = f"fine-tuning {fine_tuning.steps} steps" if fine_tuning else "linear probes"
    return (f"{quick}, then the label-efficiency table: {len(fractions)} fractions × {draws} draws × 2 encoders, "
            f"{how} each (minutes on a CPU; its progress below)")
