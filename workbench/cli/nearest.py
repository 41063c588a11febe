"""`nearest`: the held-out texts nearest to a sentence in a text run's features, as the page's sentence box."""

import json

from .common import USER_ERRORS, fail


def add_to(commands):
    parser = commands.add_parser("nearest", help="the held-out texts nearest to a sentence in a text run's features")
    parser.add_argument("run_dir")
    parser.add_argument("--text", required=True, help="the sentence to look up")
    parser.add_argument("--k", type=int, default=8, help="how many neighbours")
    parser.add_argument("--data", help="search another text data set than the run's own")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=handle)


def handle(args) -> int:
    from ..inspection.text import nearest_texts

    try:
        found = nearest_texts(args.run_dir, args.text, args.k, args.data)
    except USER_ERRORS as error:
        return fail(str(error))
    if args.json:
        print(json.dumps([{"text": text, "similarity": s, "class": c} for text, s, c in found], indent=1))
    else:
        for text, similarity, label in found:
            print(f"{similarity:.3f}  {f'[{label}] ' if label else ''}{text}")
    return 0
