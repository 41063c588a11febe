"""`data check`: what a folder, a text file (or any data set) holds, and every file or row skipped with the reason."""

import json

from ..data import DataError
from ..data.check import check_data, check_markdown
from ..engine.settings import TrainConfig
from .common import Parser, fail


def add_to(commands):
    parser = commands.add_parser("data", help="look at data before training on it")
    data_commands = parser.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    check = data_commands.add_parser("check", help="what a folder or text file holds: images or texts per class, "
                                                   "the split, sizes and modes or lengths and encoding, and every "
                                                   "file skipped with the reason (any other data set: its classes "
                                                   "and split)")
    check.add_argument("spec", metavar="PATH", help="a folder, a text file (.txt, .csv, .jsonl), or any --data value")
    check.add_argument("--image-size", type=int, default=TrainConfig.image_size,
                       help="resolution to decode images at (a later load at this size reads the cache)")
    check.add_argument("--test-fraction", type=float, default=TrainConfig.test_fraction,
                       help="share held out where the data has no test split of its own (of a plain text file: "
                            f"its end) (default: {TrainConfig.test_fraction})")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=handle_check)


def handle_check(args) -> int:
    try:
        report = check_data(args.spec, args.image_size, args.test_fraction)
    except DataError as error:
        return fail(str(error))
    print(json.dumps(report, indent=1) if args.json else check_markdown(report))
    return 0 if report["usable"] else 1
