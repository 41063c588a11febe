"""`preview`: a picture of what a task feeds the model, and a trained run's answers."""

import sys

from ..engine.settings import TrainConfig, preset_data
from .common import USER_ERRORS, fail, task_params


def add_to(commands):
    parser = commands.add_parser("preview", help="draw what a task feeds the model (and a trained run's answers)")
    parser.add_argument("--task", default=TrainConfig.task)
    parser.add_argument("--data", help="default: the task's preset's, as train's")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--run", help="a run folder of the task: draw its model's predictions too")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--param", action="append", metavar="NAME=VALUE", help="a task parameter")
    parser.set_defaults(func=handle)


def handle(args) -> int:
    from PIL import Image

    from ..inspection.preview import task_preview

    try:
        data = args.data or preset_data(args.task)
        grid = task_preview(data, args.task, task_params(args.param), args.seed, args.run)
    except USER_ERRORS as error:
        return fail(str(error))
    Image.fromarray(grid).save(args.out)
    print(f"wrote {args.out}: what {args.task} feeds the model"
          + (f", with the answers of {args.run}" if args.run else ""), file=sys.stderr)
    return 0
