"""`serve`: start the page. launch.py takes the same options, from here."""

import argparse
import sys
from pathlib import Path

from ..data.roots import default_roots

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def add_to(commands):
    parser = commands.add_parser("serve", help="start the page")
    add_serve_arguments(parser)
    parser.set_defaults(func=handle)


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


def _user_and_password(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not (sep and user and password):
        raise argparse.ArgumentTypeError(f"--auth takes USER:PASSWORD, got {text!r}")
    return user, password


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


def handle(args) -> int:
    from ..ui.app import serve  # Gradio is imported only by the command that serves the page

    serve(**serve_options(args))
    return 0
