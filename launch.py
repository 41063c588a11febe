"""Start SSL Workbench: python launch.py [--host 127.0.0.1] [--port 7860]"""

import argparse

from workbench.cli import add_serve_arguments
from workbench.ui.app import serve

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Start the SSL Workbench page.")
    add_serve_arguments(parser)
    args = parser.parse_args()
    serve(host=args.host, port=args.port, runs_root=args.runs)
