"""Start SSL Workbench: python launch.py [--host 127.0.0.1] [--port 7860] [--data-root FOLDER] [--auth USER:PASSWORD]"""

import argparse

from workbench.cli.serve import add_serve_arguments, serve_options
from workbench.ui.app import serve

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Start the SSL Workbench page.")
    add_serve_arguments(parser)
    serve(**serve_options(parser.parse_args()))
