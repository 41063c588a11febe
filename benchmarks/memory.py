"""Peak resident memory of training runs, each a fresh `python -m workbench train` process, as a user starts it:

1. the default run on Shapes (`train --data shapes`: 5,000 images, the headline task's preset);
2. a 60,000-image 32×32 run: Fashion-MNIST from Debian's dataset-fashion-mnist, read at 32 px (2 epochs of
   SimCLR), where it is installed.

    python benchmarks/memory.py [--big-epochs 2]

Peak RSS is the kernel's count for the child process (`wait4`), so it holds torch, the data, the model and
everything the run allocated, at its highest. The table also goes to
benchmarks/results/memory-DATA-MACHINE-PRECISION.csv, DATA `shapes+fashion_mnist` where both runs ran.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from csv_results import measured_by, results_path, save_rows
from workbench.engine.settings import resolve_device, resolve_precision

FASHION = Path("/usr/share/datasets/fashion-mnist")


def peak_rss(arguments: list[str]) -> tuple[float, float, int]:
    """(peak RSS in MiB, seconds, exit status) of one `python -m workbench train …`."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "workbench", "train", *arguments, "--out", f"{out}/run"]
        began = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        return usage.ru_maxrss / 1024, time.perf_counter() - began, os.waitstatus_to_exitcode(status)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big-epochs", type=int, default=2)
    args = parser.parse_args()
    runs = [("shapes", "default run on Shapes (5,000 images)", ["--data", "shapes"])]
    if FASHION.is_dir():
        runs.append(("fashion_mnist", f"Fashion-MNIST at 32 px (60,000 images), SimCLR, {args.big_epochs} epochs",
                     ["--data", "fashion_mnist", "--task", "simclr", "--epochs", str(args.big_epochs)]))
    else:
        print(f"({FASHION} is not here: the 60,000-image run is skipped; apt install dataset-fashion-mnist)")
    print("| run | peak RSS MiB | seconds | exit |\n|---|---|---|---|", flush=True)
    rows, source = [], measured_by("memory.py")
    for data, name, arguments in runs:
        rss, seconds, code = peak_rss(arguments)
        print(f"| {name} | {rss:,.0f} | {seconds:.0f} | {code} |", flush=True)
        rows.append({"data": data, "run": name, "peak_rss_mib": f"{rss:.0f}", "seconds": f"{seconds:.0f}",
                     "exit": code, "source": source})
    device = resolve_device("auto")  # where the `train` processes ran
    save_rows(results_path("memory", "+".join(data for data, _, _ in runs), device,
                           resolve_precision("auto", device)), rows, key=("data",))


if __name__ == "__main__":
    main()
