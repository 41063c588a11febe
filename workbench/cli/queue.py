"""`queue`: train several tasks on one data set, one after another, through the page's queue (`JobManager`)."""

import math
import sys

from ..engine.job import RunStatus, TrainingRun
from ..engine.manager import JobManager
from ..engine.settings import TrainConfig
from .common import USER_ERRORS, fail


def add_to(commands):
    parser = commands.add_parser("queue", help="train several tasks on one data set, one after another")
    parser.add_argument("--tasks", nargs="+", required=True, metavar="TASK", help="names from `tasks`, in order")
    parser.add_argument("--data", help="as for `train` (see train --help); default: each task's preset's")
    preset = "default: each task's preset (see `tasks --json`)"
    parser.add_argument("--epochs", type=int, help=preset)
    parser.add_argument("--max-minutes", type=float, help="each run's time budget; default: none")
    parser.add_argument("--image-size", type=int, default=TrainConfig.image_size,
                        help=f"resolution the images are read at, in pixels (default: {TrainConfig.image_size})")
    parser.add_argument("--device", default=TrainConfig.device, help="auto, cpu or cuda")
    parser.add_argument("--root", default="runs", help="folder the run folders go in (default: ./runs)")
    parser.set_defaults(func=handle)


def handle(args) -> int:
    configs = [TrainConfig(data=args.data, task=task, epochs=args.epochs, max_minutes=args.max_minutes,
                           image_size=args.image_size, device=args.device) for task in args.tasks]
    manager = JobManager(args.root)
    try:
        manager.enqueue(configs)
    except USER_ERRORS as error:
        return fail(str(error))
    ended = _follow(manager, len(configs))
    print(f"{'task':<18} {'state':<9} {'seconds':>8}  {'k-NN':<5}  run folder")
    for run, status in ended:
        print(f"{status.task:<18} {status.state:<9} {status.elapsed_seconds:>8.1f}  {_knn(status):<5}  {run.out_dir}")
    finished = all(status.state == "finished" for _, status in ended)
    return 0 if finished and not manager.queue_errors else 1


def _follow(manager: JobManager, total: int) -> list[tuple[TrainingRun, RunStatus]]:
    """Each run of the queue, a line on stderr as it starts and as it ends, until the queue is empty. A run's
    end listener starts the next before the run's thread ends, so after `join` the manager holds the next run, if
    any. Ctrl-C stops the current run (with a checkpoint) and drops the rest."""
    ended, run, skipped = [], manager.current, _say_skipped(manager, 0)
    while run is not None:
        number = len(ended) + skipped + 1
        cfg = run.config
        print(f"[{number}/{total}] {cfg.task} started: {run.out_dir} · {cfg.epochs} epochs, batch {cfg.batch_size}, "
              f"{run.encoder_name} on {run.device}", file=sys.stderr, flush=True)
        try:
            run.join()
        except KeyboardInterrupt:
            manager.clear_queue()
            run.stop()
            run.join()
        status = run.status()
        ended.append((run, status))
        why = f" ({status.message})" if status.state != "finished" else ""
        print(f"[{number}/{total}] {cfg.task} {status.state}{why} after {status.elapsed_seconds:.1f} s, k-NN "
              f"{_knn(status)}: {run.out_dir}", file=sys.stderr, flush=True)
        skipped = _say_skipped(manager, skipped)
        run = manager.current if manager.current is not run else None
    return ended


def _say_skipped(manager: JobManager, said: int) -> int:
    """A line for each queued config that did not start since the `said` first; how many there are now."""
    for error in manager.queue_errors[said:]:
        print(f"skipped: {error}", file=sys.stderr)
    return len(manager.queue_errors)


def _knn(status: RunStatus) -> str:
    """The last online k-NN top-1, or "-" before the first evaluation and on data without labels."""
    knn = status.evals[-1]["knn_top1"] if status.evals else math.nan
    return "-" if math.isnan(knn) else f"{knn:.3f}"
