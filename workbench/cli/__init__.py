"""Command line: the same engine as the page. One module per command holds its arguments and its handler.

    python -m workbench tasks [--json]
    python -m workbench train --data shapes --task simclr --out runs/first   # the task's preset
    python -m workbench train --data cifar10:~/data --download --image-size 32 [--grayscale] [--test-fraction 0.2]
    python -m workbench train --resume runs/first [--epochs 20]              # go on from the last checkpoint
    python -m workbench data check photos/ [--json]                          # what a folder holds, what is skipped
    python -m workbench runs [--json] [--root runs]
    python -m workbench probe runs/first [--data digits] [--fractions 0.01 0.1 1] [--json]
    python -m workbench queue --data shapes --tasks rotation simclr [--epochs 3] [--max-minutes 1] [--root runs]
    python -m workbench compare runs/rotation-… runs/simclr-… [--json] [--handout lesson.html]
    python -m workbench export runs/first --format projector --out exported/
    python -m workbench preview --task jigsaw --out jigsaw.png [--run runs/first]
    python -m workbench generate runs/gpt --prompt "the big dog" [--temperature 0.8] [--tokens 60]
    python -m workbench nearest runs/bert --text "the cat chased the dog" [--k 8]
    python -m workbench serve [--host 127.0.0.1] [--port 7860] [--data-root FOLDER …] [--auth USER:PASSWORD]
"""

from . import compare, data, export, generate, nearest, preview, probe, queue, runs, serve, tasks, train
from .common import Parser

COMMANDS = (tasks, train, queue, runs, probe, compare, export, preview, generate, nearest, data,
            serve)  # in the order --help lists them


def build_parser() -> Parser:
    parser = Parser(prog="python -m workbench", description="SSL Workbench: self-supervised learning you can see.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.add_to(commands)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
