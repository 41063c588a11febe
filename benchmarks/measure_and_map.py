"""Seconds of the page's "Measure and map" after a run, as a user meets them: the app launched in a process of its
own, a run of the task started with Start (gradio_client) and left to finish, then Measure and map pressed twice.

    python benchmarks/measure_and_map.py [--task rotation] [--epochs 2]

Then the quick demo on step 1 is clicked on a fresh app: the seconds from its click to its table and map (goal,
issue #29: ≤ 90 s), and the k-NN it reached against random init.

The first press is the one a lesson waits for: the trained network's probes and map, its random init's probes and
the data's raw-pixel probes (computed in the background while the run trains). The second press measures the same
run again (its random init's numbers are kept). Goal (issue #29): ≤ 10 s on two cores for Shapes. The row goes to
benchmarks/results/measure_and_map-DATA-MACHINE-PRECISION.csv.
"""

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from gradio_client import Client

from csv_results import measured_by, results_path, save_rows
from workbench.engine.settings import TrainConfig, resolve_precision

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(url: str, timeout: float = 120) -> Client:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return Client(url, verbose=False)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="rotation")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    config = TrainConfig(task=args.task).resolved()
    with launched_app() as client:
        client.predict(config.data, args.task, {}, "auto", args.epochs, config.batch_size,
                       config.learning_rate, 0, "auto", 0, api_name="/start")
        while "FINISHED" not in client.predict(api_name="/status")[0]:
            time.sleep(1)
        presses = []
        for _ in range(2):
            start = time.perf_counter()
            client.predict(api_name="/analyse")
            presses.append(time.perf_counter() - start)
    print(f"| {args.task}, {args.epochs} epochs on {config.data} | first press | second press |\n|---|---|---|")
    print(f"| Measure and map | {presses[0]:.1f} s | {presses[1]:.1f} s |")
    demo_seconds, demo_line = quick_demo()
    print(f"\nQuick demo, from the click to the table and the map: {demo_seconds:.0f} s — {demo_line}")
    save_rows(results_path("measure_and_map", config.data, "cpu", resolve_precision("auto", torch.device("cpu"))),
              [{"task": args.task, "epochs": args.epochs, "first_seconds": f"{presses[0]:.1f}",
                "second_seconds": f"{presses[1]:.1f}", "quick_demo_seconds": f"{demo_seconds:.0f}",
                "source": measured_by("measure_and_map.py")}],
              key=("task", "epochs"))


def quick_demo() -> tuple[float, str]:
    """A fresh app's quick demo, clicked once its start-up is over: the seconds to its result, and its line."""
    with launched_app() as client:
        start = time.perf_counter()
        client.predict(api_name="/quick_demo")  # the run starts (the page's button, then its result)
        line = client.predict(api_name="/quick_demo_result")[0]
        return time.perf_counter() - start, line


@contextmanager
def launched_app():
    """A client of the app in a process of its own, with a runs folder of its own, once its UMAP warm-up (run
    once after start-up) is over; the app ends after."""
    port = free_port()
    with tempfile.TemporaryDirectory() as runs:
        server = subprocess.Popen([sys.executable, "-c", "from workbench.ui.app import serve; "
                                   f"serve(port={port}, runs_root={runs!r})"], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client = connect(f"http://127.0.0.1:{port}/")
            time.sleep(20)
            yield client
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
