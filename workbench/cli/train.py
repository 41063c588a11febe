"""`train`: pretrain an encoder with a pretext task, or go on with a run, with a progress bar on the terminal."""

import argparse
import math
import sys

from tqdm import tqdm

from ..data import load_dataset
from ..engine.job import TrainingRun
from ..engine.repeat import repeat_command
from ..engine.runs import new_run_dir
from ..engine.settings import TrainConfig
from ..models import ENCODERS
from .common import USER_ERRORS, fail, task_params


def add_to(commands):
    parser = commands.add_parser("train", help="pretrain an encoder with a pretext task")
    parser.add_argument("--data",
                        help="images: shapes, painted_shapes, digits, fashion_mnist (with Debian's "
                             "dataset-fashion-mnist), NAME:ROOT for a torchvision set under ROOT (cifar10, cifar100, "
                             "stl10, mnist, fashion_mnist, svhn), or a folder: one sub-folder per class, or flat "
                             "(unlabelled). Text: roles, fortunes (with Debian's fortunes), a text file (unlabelled), "
                             "a CSV or JSON-lines file with text and label columns, or a folder of .txt files, one "
                             "sub-folder per class. Default: the task's preset's (shapes; painted_shapes for "
                             "colorization; roles for mlm and next_token)")
    parser.add_argument("--download", action="store_true",
                        help="fetch a NAME:ROOT set into ROOT first if it is not there (needs a network)")
    parser.add_argument("--image-size", type=int, default=TrainConfig.image_size,
                        help=f"resolution the images are read at, in pixels (default: {TrainConfig.image_size})")
    parser.add_argument("--grayscale", action="store_true", help="read every image in grey")
    parser.add_argument("--test-fraction", type=float, default=TrainConfig.test_fraction,
                        help="held out of every class for the k-NN and probes where the data has no test split "
                             f"(default: {TrainConfig.test_fraction})")
    parser.add_argument("--task", default=TrainConfig.task, help="a name from `tasks`")
    parser.add_argument("--out", help="run folder to write weights, config and metrics into (default: a new "
                                      "folder runs/TASK-DATE-TIME)")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="go on with this run from its last checkpoint, with its own settings "
                             "(--epochs: how many in all; --max-minutes: a new budget)")
    preset = "default: the task's preset (see `tasks --json`)"
    parser.add_argument("--epochs", type=int, help=preset)
    parser.add_argument("--batch-size", type=int, help=preset)
    parser.add_argument("--lr", type=float, help=f"peak learning rate; {preset}")
    parser.add_argument("--weight-decay", type=float, help=preset)
    parser.add_argument("--optimizer", choices=["adamw", "sgd"], help=preset)
    parser.add_argument("--encoder", default=TrainConfig.encoder,
                        help="auto (the task's own, else small_cnn on a CPU, resnet18 on a GPU), "
                             f"{', '.join(ENCODERS)}")
    parser.add_argument("--device", default=TrainConfig.device, help="auto, cpu or cuda")
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--max-minutes", type=float,
                        help="time budget: stop there with a checkpoint, the learning-rate schedule fitted to it")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction,
                        help="torch.compile the encoder (default: off; slower to start, can pay on a GPU)")
    parser.add_argument("--precision", choices=["auto", "float32", "bfloat16"], default=TrainConfig.precision,
                        help="auto: the encoder in bfloat16 on a GPU and on a CPU with native bfloat16 "
                             "(AVX512-BF16, AMX), float32 elsewhere")
    parser.add_argument("--param", action="append", metavar="NAME=VALUE",
                        help="a task parameter, e.g. --param temperature=0.2 (see `tasks --json`)")
    parser.set_defaults(func=handle)


def handle(args) -> int:
    if args.out and args.resume:
        return fail("train takes --out RUN_DIR for a new run or --resume RUN_DIR to go on with one, not both")
    try:
        run = _open_run(args)
    except USER_ERRORS as error:
        return fail(str(error))
    if not run.world.main:  # one of torchrun's processes: rank 0 speaks for all
        return 0 if run.run().state == "finished" else 1
    _announce(run, going_on=bool(args.resume))
    bar = tqdm(total=1, unit="step", dynamic_ncols=True)
    run.listeners.append(_progress_on(bar, run.dataset.kind.items))
    try:
        status = run.run()
    except KeyboardInterrupt:
        run.stop()
        status = run.status()
    bar.close()
    print(f"{status.state}: {status.message}. Run folder: {run.out_dir}", file=sys.stderr)
    print(f"to repeat it from its seed: {repeat_command(run.config.to_json())}", file=sys.stderr)
    return 0 if status.state == "finished" else 1


def _open_run(args) -> TrainingRun:
    """The run --resume names, or a new one from the options (its data fetched first with --download)."""
    if args.resume:
        return TrainingRun.go_on_from(args.resume, epochs=args.epochs, max_minutes=args.max_minutes)
    if args.download and args.data:
        load_dataset(args.data, args.image_size, args.grayscale, args.test_fraction, download=True)
    config = TrainConfig(data=args.data, task=args.task, task_params=task_params(args.param),
                         encoder=args.encoder, epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.lr, weight_decay=args.weight_decay, optimizer=args.optimizer,
                         device=args.device, seed=args.seed, max_minutes=args.max_minutes,
                         image_size=args.image_size, grayscale=args.grayscale,
                         test_fraction=args.test_fraction, compile=bool(args.compile), precision=args.precision)
    return TrainingRun(config, args.out or new_run_dir(config.task))


def _announce(run: TrainingRun, going_on: bool):
    """The data, task, encoder, device and schedule on stderr, before the first step."""
    cfg = run.config
    processes = f" · {run.world.size} processes" if run.world.size > 1 else ""
    print(f"{run.dataset.describe()}\ntask {cfg.task} · encoder {run.encoder_name} · device {run.device} "
          f"({cfg.precision}) · "
          f"{cfg.epochs} epochs, batch {cfg.batch_size}{processes}, {cfg.optimizer} lr {cfg.learning_rate:g}"
          + (f" · at most {cfg.max_minutes:g} min" if cfg.max_minutes else "")
          + (f" · going on from step {run.status().step}" if going_on else ""), file=sys.stderr)
    for note in [*run.dataset.notes, *run.notes]:
        print(f"  {note}", file=sys.stderr)


def _progress_on(bar: tqdm, items: str):
    """A run listener that moves `bar` with each step and writes each epoch's evaluation above it; `items`: what
    the speed counts ("images", "texts")."""

    def show(event, status):
        if event == "step":
            bar.total = status.total_steps
            bar.n = status.step
            bar.set_postfix({"loss": f"{status.steps[-1]['loss']:.3f}",
                             f"{items}/s": f"{status.images_per_second:.0f}"}, refresh=False)
            bar.refresh()
        elif event == "eval" and status.evals:
            latest = status.evals[-1]
            measured = (f"k-NN top-1 {latest['knn_top1']:.3f}" if not math.isnan(latest["knn_top1"])
                        else f"feature spread {latest['feature_spread']:.2f} (no labels: no k-NN)")
            held_out = f" · held-out loss {latest['val_loss']:.3f}" if "val_loss" in latest else ""
            bar.write(f"epoch {latest['epoch']:>3}: {measured}{held_out}")

    return show
