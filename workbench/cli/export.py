"""`export`: a run's embeddings, plots or weights, written for other tools."""

from ..inspection.export import FORMATS, export_run
from .common import USER_ERRORS, fail


def add_to(commands):
    parser = commands.add_parser("export", help="write a run's embeddings, plots or weights for other tools")
    parser.add_argument("run_dir")
    parser.add_argument("--format", choices=FORMATS, required=True,
                        help="npz or csv: embeddings with labels; projector: a TensorFlow Embedding Projector "
                             "bundle; html: the plots as standalone pages; weights: safetensors + a loading snippet")
    parser.add_argument("--out", required=True, help="folder to write into")
    parser.add_argument("--data", help="embed another data set's held-out images (default: the run's)")
    parser.set_defaults(func=handle)


def handle(args) -> int:
    try:
        written = export_run(args.run_dir, args.format, args.out, data=args.data)
    except USER_ERRORS as error:
        return fail(str(error))
    print("\n".join(str(path) for path in written))
    return 0
