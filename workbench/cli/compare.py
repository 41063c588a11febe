"""`compare`: runs side by side — their probes against random init and the data's no-learning baseline, as a
table — and, if asked, the lesson's hand-out: one HTML file that opens offline."""

import json
import sys
from pathlib import Path

from ..inspection.compare import compare_runs, comparison_markdown
from ..inspection.handout import handout_document
from .common import USER_ERRORS, fail


def add_to(commands):
    parser = commands.add_parser("compare", help="runs side by side: k-NN, linear probe (all labels and 10 %%) and "
                                                 "random init against the data's no-learning baseline; a hand-out")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folders, or their names in --root")
    parser.add_argument("--root", default="runs", help="folder holding the run folders (default: ./runs)")
    parser.add_argument("--json", action="store_true", help="the table and the curves as JSON")
    parser.add_argument("--handout", metavar="FILE", help="also write the hand-out, one HTML file that opens offline "
                                                          "(cards, curves, table, maps)")
    parser.set_defaults(func=handle)


def handle(args) -> int:
    def show(done, total, what):
        print(f"  [{done}/{total}] {what}", file=sys.stderr, flush=True)

    try:
        run_dirs = [run_folder(name, args.root) for name in args.runs]
        print(f"probing {len(run_dirs)} runs…", file=sys.stderr, flush=True)
        comparison = compare_runs(run_dirs, progress=show)
        if args.handout:
            print("mapping each run for the hand-out…", file=sys.stderr, flush=True)
            document = handout_document(run_dirs, progress=show, comparison=comparison)
            Path(args.handout).write_text(document, encoding="utf-8")
    except (*USER_ERRORS, OSError) as error:
        return fail(str(error), code=2)
    print(json.dumps(comparison, indent=1) if args.json else comparison_markdown(comparison))
    if args.handout:
        print(f"hand-out: {args.handout}", file=sys.stderr)
    return 0


def run_folder(name: str, root: str) -> Path:
    """A run folder named as given, or in the runs folder `root`."""
    for folder in (Path(name), Path(root) / name):
        if (folder / "config.json").is_file():
            return folder
    raise FileNotFoundError(f"{name} is not a run folder (no config.json there, nor in {root}/{name})")
