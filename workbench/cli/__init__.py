"""Command line: the same engine as the page.

    python -m workbench tasks [--json]
    python -m workbench train --data shapes --task simclr --out runs/first   # the task's preset
    python -m workbench train --data cifar10:~/data --download --image-size 32 [--grayscale] [--test-fraction 0.2]
    python -m workbench train --resume runs/first [--epochs 20]              # go on from the last checkpoint
    python -m workbench data check photos/ [--json]                          # what a folder holds, what is skipped
    python -m workbench runs [--json] [--root runs]
    python -m workbench probe runs/first [--data digits] [--fractions 0.01 0.1 1] [--json]
    python -m workbench export runs/first --format projector --out exported/
    python -m workbench preview --task jigsaw --out jigsaw.png [--run runs/first]
    python -m workbench serve [--host 127.0.0.1] [--port 7860] [--data-root FOLDER …] [--auth USER:PASSWORD]
"""

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

from tqdm import tqdm

from ..data import DataError, load_dataset
from ..data.check import check_data, check_markdown
from ..data.roots import default_roots
from ..engine.checkpoints import list_runs
from ..engine.job import TrainingRun
from ..engine.settings import TrainConfig, preset_data
from ..evaluation.probes import FRACTIONS, FineTuning, KnnSettings
from ..inspection.export import FORMATS, export_run
from ..inspection.probe_run import probe_run
from ..inspection.report import probe_markdown
from ..models import ENCODERS
from ..tasks import explanation, list_tasks, task_class


class _Parser(argparse.ArgumentParser):
    """argparse, but a wrong argument costs one line on stderr (and exit status 2), not a usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _fail(message: str, code: int = 1):
    print(f"error: {message}", file=sys.stderr)
    return code


def task_description(name: str) -> dict:
    """Everything the catalogue says about a task: info, card, presets and parameters (for --json)."""
    cls = task_class(name)
    params = [{"name": f.name, "default": f.default, "help": f.metadata["help"], "low": f.metadata["low"],
               "high": f.metadata["high"], "choices": f.metadata["choices"], "collapse_lab": f.metadata["lab"]}
              for f in fields(cls.Params)]
    return {**asdict(cls.info), "card": explanation(name), "encoders": cls.encoders,
            "preset": asdict(cls.preset), "gpu_preset": asdict(cls.gpu_preset), "params": params}


def cmd_tasks(args):
    infos = list_tasks()
    if args.json:
        print(json.dumps([task_description(info.name) for info in infos], indent=1))
    else:
        for info in infos:
            print(f"{info.name:<18} {info.family:<28} {info.summary}")
    return 0


def _parse_params(pairs):
    params = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--param takes NAME=VALUE, got {pair!r}")
        params[name.strip().replace("-", "_")] = value.strip()
    return params


def cmd_train(args):
    if args.out and args.resume:
        return _fail("train takes --out RUN_DIR for a new run or --resume RUN_DIR to go on with one, not both")
    try:
        if args.resume:
            run = TrainingRun.resume_from(args.resume, epochs=args.epochs, max_minutes=args.max_minutes)
        else:
            if args.download and args.data:
                load_dataset(args.data, args.image_size, args.grayscale, args.test_fraction, download=True)
            config = TrainConfig(data=args.data, task=args.task, task_params=_parse_params(args.param),
                                 encoder=args.encoder, epochs=args.epochs, batch_size=args.batch_size,
                                 learning_rate=args.lr, weight_decay=args.weight_decay, optimizer=args.optimizer,
                                 device=args.device, seed=args.seed, max_minutes=args.max_minutes,
                                 image_size=args.image_size, grayscale=args.grayscale,
                                 test_fraction=args.test_fraction, compile=bool(args.compile),
                                 precision=args.precision)
            run = TrainingRun(config, args.out or new_run_folder(config.task))
    except (FileNotFoundError, ValueError, DataError) as error:
        return _fail(str(error))
    if not run.world.main:  # one of torchrun's processes: rank 0 speaks for all
        return 0 if run.run().state == "finished" else 1
    cfg = run.config
    processes = f" · {run.world.size} processes" if run.world.size > 1 else ""
    print(f"{run.dataset.describe()}\ntask {cfg.task} · encoder {run.encoder_name} · device {run.device} "
          f"({cfg.precision}) · "
          f"{cfg.epochs} epochs, batch {cfg.batch_size}{processes}, {cfg.optimizer} lr {cfg.learning_rate:g}"
          + (f" · at most {cfg.max_minutes:g} min" if cfg.max_minutes else "")
          + (f" · going on from step {run.status().step}" if args.resume else ""), file=sys.stderr)
    for note in run.dataset.notes:
        print(f"  {note}", file=sys.stderr)
    bar = tqdm(total=1, unit="step", dynamic_ncols=True)

    def show(event, status):
        if event == "step":
            bar.total = status.total_steps
            bar.n = status.step
            bar.set_postfix(loss=f"{status.steps[-1]['loss']:.3f}", img_s=f"{status.images_per_second:.0f}",
                            refresh=False)
            bar.refresh()
        elif event == "eval" and status.evals:
            latest = status.evals[-1]
            measured = (f"k-NN top-1 {latest['knn_top1']:.3f}" if not math.isnan(latest["knn_top1"])
                        else f"feature spread {latest['feature_spread']:.2f} (no labels: no k-NN)")
            bar.write(f"epoch {latest['epoch']:>3}: {measured}")

    run.listeners.append(show)
    try:
        status = run.run()
    except KeyboardInterrupt:
        run.stop()
        status = run.status()
    bar.close()
    print(f"{status.state}: {status.message}. Run folder: {run.out_dir}", file=sys.stderr)
    return 0 if status.state == "finished" else 1


def new_run_folder(task: str, root: str = "runs") -> Path:
    """runs/TASK-YYYYMMDD-HHMMSS, a new folder for a run started without --out."""
    return Path(root) / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"


def cmd_runs(args):
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


def cmd_probe(args):
    fractions = () if args.no_label_efficiency else args.fractions
    fine_tuning = FineTuning(steps=args.fine_tune_steps) if args.fine_tune_steps else None

    def show(done, total, what):
        if not args.json and done:
            print(f"  [{done}/{total}] {what}", file=sys.stderr, flush=True)

    try:
        if args.draws < 1 or any(not 0 < f <= 1 for f in fractions):
            raise ValueError("--draws must be at least 1 and every fraction in (0, 1]")
        result = probe_run(args.run_dir, data=args.data, fractions=fractions, draws=args.draws,
                           fine_tuning=fine_tuning, progress=show,
                           knn=KnnSettings(args.k, args.temperature, args.metric))
    except (FileNotFoundError, ValueError, DataError) as error:
        return _fail(str(error))
    print(json.dumps(result, indent=1) if args.json else probe_markdown(result))
    return 0


def cmd_export(args):
    try:
        written = export_run(args.run_dir, args.format, args.out, data=args.data)
    except (FileNotFoundError, ValueError, DataError) as error:
        return _fail(str(error))
    print("\n".join(str(path) for path in written))
    return 0


def cmd_preview(args):
    from PIL import Image

    from ..inspection.preview import task_preview

    try:
        data = args.data or preset_data(args.task)
        grid = task_preview(data, args.task, _parse_params(args.param), args.seed, args.run)
    except (FileNotFoundError, ValueError, DataError) as error:
        return _fail(str(error))
    Image.fromarray(grid).save(args.out)
    print(f"wrote {args.out}: what {args.task} feeds the model"
          + (f", with the answers of {args.run}" if args.run else ""), file=sys.stderr)
    return 0


def cmd_data_check(args):
    try:
        report = check_data(args.spec, args.image_size)
    except DataError as error:
        return _fail(str(error))
    print(json.dumps(report, indent=1) if args.json else check_markdown(report))
    return 0 if report["usable"] else 1


def cmd_serve(args):
    from ..ui.app import serve  # Gradio is imported only by the command that serves the page

    serve(**serve_options(args))
    return 0


LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def serve_options(args) -> dict:
    """serve()'s keyword arguments from add_serve_arguments' options; warns on stderr when the page will be
    reachable from the network."""
    if args.host not in LOCAL_HOSTS:
        print(f"warning: the page listens on {args.host}: it is reachable from the network, and whoever reaches "
              "this machine can open it and train on it" + (" once they give the --auth password" if args.auth
                                                              else "; protect it with --auth USER:PASSWORD"),
              file=sys.stderr)
    roots = [Path(root).expanduser().resolve() for root in args.data_root] if args.data_root else default_roots()
    return {"host": args.host, "port": args.port, "runs_root": args.runs, "data_roots": roots, "auth": args.auth}


def _user_and_password(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not (sep and user and password):
        raise argparse.ArgumentTypeError(f"--auth takes USER:PASSWORD, got {text!r}")
    return user, password


def add_serve_arguments(parser):
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only; "
                                                            "0.0.0.0: every network the machine is on)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--runs", default="runs", help="folder for run folders (default: ./runs)")
    parser.add_argument("--data-root", action="append", metavar="FOLDER",
                        help="a folder whose images the page may read (repeat for more; default: the working "
                             "folder and the home folder)")
    parser.add_argument("--auth", type=_user_and_password, metavar="USER:PASSWORD",
                        help="ask for this user name and password before showing the page")


def build_parser():
    parser = _Parser(prog="python -m workbench", description="SSL Workbench: self-supervised learning you can see.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    tasks = sub.add_parser("tasks", help="list the pretext tasks")
    tasks.add_argument("--json", action="store_true", help="machine-readable, with each task's parameters")
    tasks.set_defaults(func=cmd_tasks)

    default = TrainConfig()
    train = sub.add_parser("train", help="pretrain an encoder with a pretext task")
    train.add_argument("--data",
                       help="shapes, painted_shapes, digits, fashion_mnist (with Debian's dataset-fashion-mnist), "
                            "NAME:ROOT for a torchvision set under ROOT (cifar10, cifar100, stl10, mnist, "
                            "fashion_mnist, svhn), or a folder: one sub-folder per class, or flat (unlabelled); "
                            "default: the task's preset's (shapes; painted_shapes for colorization)")
    train.add_argument("--download", action="store_true",
                       help="fetch a NAME:ROOT set into ROOT first if it is not there (needs a network)")
    train.add_argument("--image-size", type=int, default=default.image_size,
                       help=f"resolution the images are read at, in pixels (default: {default.image_size})")
    train.add_argument("--grayscale", action="store_true", help="read every image in grey")
    train.add_argument("--test-fraction", type=float, default=default.test_fraction,
                       help="held out of every class for the k-NN and probes where the data has no test split "
                            f"(default: {default.test_fraction})")
    train.add_argument("--task", default=default.task, help="a name from `tasks`")
    train.add_argument("--out", help="run folder to write weights, config and metrics into (default: a new "
                                     "folder runs/TASK-DATE-TIME)")
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="go on with this run from its last checkpoint, with its own settings "
                            "(--epochs: how many in all; --max-minutes: a new budget)")
    preset = "default: the task's preset (see `tasks --json`)"
    train.add_argument("--epochs", type=int, help=preset)
    train.add_argument("--batch-size", type=int, help=preset)
    train.add_argument("--lr", type=float, help=f"peak learning rate; {preset}")
    train.add_argument("--weight-decay", type=float, help=preset)
    train.add_argument("--optimizer", choices=["adamw", "sgd"], help=preset)
    train.add_argument("--encoder", default=default.encoder,
                       help=f"auto (the task's own, else small_cnn on a CPU, resnet18 on a GPU), {', '.join(ENCODERS)}")
    train.add_argument("--device", default=default.device, help="auto, cpu or cuda")
    train.add_argument("--seed", type=int, default=default.seed)
    train.add_argument("--max-minutes", type=float,
                       help="time budget: stop there with a checkpoint, the learning-rate schedule fitted to it")
    train.add_argument("--compile", action=argparse.BooleanOptionalAction,
                       help="torch.compile the encoder (default: off; slower to start, can pay on a GPU)")
    train.add_argument("--precision", choices=["auto", "float32", "bfloat16"], default=default.precision,
                       help="auto: the encoder in bfloat16 on a GPU and on a CPU with native bfloat16 "
                            "(AVX512-BF16, AMX), float32 elsewhere")
    train.add_argument("--param", action="append", metavar="NAME=VALUE",
                       help="a task parameter, e.g. --param temperature=0.2 (see `tasks --json`)")
    train.set_defaults(func=cmd_train)

    runs = sub.add_parser("runs", help="list the run folders: task, data, epochs, seconds, k-NN, date, state")
    runs.add_argument("--root", default="runs", help="folder holding the run folders (default: ./runs)")
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(func=cmd_runs)

    probe = sub.add_parser("probe", help="how well a run's encoder serves with labels: k-NN, linear probe and "
                                          "label efficiency, against random init and raw pixels")
    probe.add_argument("run_dir")
    probe.add_argument("--data", help="probe on another data set than the run's own (transfer)")
    probe.add_argument("--fractions", type=float, nargs="+", default=list(FRACTIONS),
                       help="label fractions for the label-efficiency table (default: 0.01 0.1 1)")
    probe.add_argument("--draws", type=int, default=3, help="random draws of the labelled images per fraction")
    probe.add_argument("--k", type=int, default=KnnSettings.k, help="k-NN: neighbours that vote")
    probe.add_argument("--temperature", type=float, default=KnnSettings.temperature,
                       help="k-NN: each neighbour votes exp(similarity / T)")
    probe.add_argument("--metric", choices=["cosine", "euclidean"], default=KnnSettings.metric,
                       help="k-NN: cosine (weighted votes) or euclidean (one vote each)")
    probe.add_argument("--fine-tune-steps", type=int, default=FineTuning.steps,
                       help="optimiser steps of each fine-tuning run (0: linear probe only)")
    probe.add_argument("--no-label-efficiency", action="store_true", help="k-NN and linear probe only (fast)")
    probe.add_argument("--json", action="store_true")
    probe.set_defaults(func=cmd_probe)

    export = sub.add_parser("export", help="write a run's embeddings, plots or weights for other tools")
    export.add_argument("run_dir")
    export.add_argument("--format", choices=FORMATS, required=True,
                        help="npz or csv: embeddings with labels; projector: a TensorFlow Embedding Projector "
                             "bundle; html: the plots as standalone pages; weights: safetensors + a loading snippet")
    export.add_argument("--out", required=True, help="folder to write into")
    export.add_argument("--data", help="embed another data set's held-out images (default: the run's)")
    export.set_defaults(func=cmd_export)

    preview = sub.add_parser("preview", help="draw what a task feeds the model (and a trained run's answers)")
    preview.add_argument("--task", default=default.task)
    preview.add_argument("--data", help="default: the task's preset's, as train's")
    preview.add_argument("--out", required=True, help="PNG file to write")
    preview.add_argument("--run", help="a run folder of the task: draw its model's predictions too")
    preview.add_argument("--seed", type=int, default=0)
    preview.add_argument("--param", action="append", metavar="NAME=VALUE", help="a task parameter")
    preview.set_defaults(func=cmd_preview)

    data = sub.add_parser("data", help="look at data before training on it")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    check = data_sub.add_parser("check", help="what a folder holds: images per class, the split, sizes, modes, "
                                              "and every file skipped with the reason (any other data set: its "
                                              "classes and split)")
    check.add_argument("spec", metavar="PATH", help="a folder, or any --data value")
    check.add_argument("--image-size", type=int, default=default.image_size,
                       help="resolution to decode at (a later load at this size reads the cache)")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_data_check)

    serve = sub.add_parser("serve", help="start the page")
    add_serve_arguments(serve)
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
