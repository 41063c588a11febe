"""What every command shares: a parser that answers a wrong argument in one line, errors in one line, and the
NAME=VALUE task parameters that train and preview take."""

import argparse
import sys

from ..data import DataError

# What a user's wrong input raises: reported as one line and exit status 1, never a traceback.
USER_ERRORS = (FileNotFoundError, ValueError, DataError)


class Parser(argparse.ArgumentParser):
    """argparse, but a wrong argument costs one line on stderr (and exit status 2), not a usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def fail(message: str, code: int = 1) -> int:
    """Say what went wrong in one line on stderr; the exit status."""
    print(f"error: {message}", file=sys.stderr)
    return code


def task_params(pairs: list[str] | None) -> dict[str, str]:
    """--param NAME=VALUE options as {name: value}; the task types the values."""
    params = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--param takes NAME=VALUE, got {pair!r}")
        params[name.strip().replace("-", "_")] = value.strip()
    return params
