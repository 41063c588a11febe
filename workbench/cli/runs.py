"""`runs`: the run folders of a runs folder, one line each or as JSON."""

import json
import math
import sys
from pathlib import Path

from ..engine.checkpoints import list_runs


def add_to(commands):
    parser = commands.add_parser("runs", help="list the run folders: task, data, epochs, seconds, k-NN, date, state")
    parser.add_argument("--root", default="runs", help="folder holding the run folders (default: ./runs)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=handle)


def handle(args) -> int:
    runs = list_runs(args.root)
    if args.json:
        print(json.dumps(runs, indent=1))
        return 0
    if not runs:
        print(f"no run folders in {args.root}", file=sys.stderr)
    for run in runs:
        knn = "-" if run["knn_top1"] is None or math.isnan(run["knn_top1"]) else f"{run['knn_top1']:.3f}"
        print(f"{Path(run['run']).name:<28} {run['task']:<18} {Path(run['data']).name:<10} "
              f"{run['epoch']:>4}/{run['epochs']:<4} {run['seconds']:>7.0f} s  k-NN {knn:<5}  {run['started']}  "
              f"{run['state']}")
    return 0
