"""Seconds of the page's "Measure and map" after a run, as a user meets them: the app launched in a process of its
own, a run of the task started with Start (gradio_client) and left to finish, then Measure and map pressed twice.

    python benchmarks/measure_and_map.py [--task rotation] [--epochs 2]

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
    port = free_port()
    with tempfile.TemporaryDirectory() as runs:
        server = subprocess.Popen([sys.executable, "-c", "from workbench.ui.app import serve; "
                                   f"serve(port={port}, runs_root={runs!r})"], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client = connect(f"http://127.0.0.1:{port}/")
            time.sleep(20)  # the app's UMAP warm-up, which runs once after start-up, is over
            client.predict(config.data, args.task, {}, "auto", args.epochs, config.batch_size,
                           config.learning_rate, 0, "auto", 0, api_name="/start")
            while "FINISHED" not in client.predict(api_name="/status")[0]:
                time.sleep(1)
            presses = []
            for _ in range(2):
                start = time.perf_counter()
                table, _, _ = client.predict(api_name="/analyse")
                presses.append(time.perf_counter() - start)
        finally:
            server.terminate()
            server.wait()
    print(f"| {args.task}, {args.epochs} epochs on {config.data} | first press | second press |\n|---|---|---|")
    print(f"| Measure and map | {presses[0]:.1f} s | {presses[1]:.1f} s |")
    save_rows(results_path("measure_and_map", config.data, "cpu", resolve_precision("auto", torch.device("cpu"))),
              [{"task": args.task, "epochs": args.epochs, "first_seconds": f"{presses[0]:.1f}",
                "second_seconds": f"{presses[1]:.1f}", "source": measured_by("measure_and_map.py")}],
              key=("task", "epochs"))


if __name__ == "__main__":
    main()
