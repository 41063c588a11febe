"""A run started from the page, watched by a real browser, against the same run from the command line.

    python benchmarks/page_training.py [--task rotation]

The app is launched in a process of its own on a free port, opened in Debian's headless Chromium, and the task's
preset started with Start on the built-in data; then the same run is started with `python -m workbench train`.
Printed side by side: each run's seconds (by the run's own clock, in metrics.json), their ratio, the CPU seconds
the browser used while the page's run trained, and each run's final k-NN (equal: the seed repeats). On a 2-core
machine the browser's work comes out of the training's cores. The row also goes to
benchmarks/results/page_training-DATA-MACHINE-PRECISION.csv (one row a task; DATA: its preset's).
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from csv_results import measured_by, results_path, save_rows
from workbench.engine.settings import TrainConfig, resolve_device
from workbench.tasks import task_class

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(command_name: str) -> float:
    """User + system CPU seconds of every live process whose name contains `command_name` (Linux /proc); a
    process that ends in between takes its seconds with it, so the browser stays open while it is measured."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if command_name in text[text.index("(") + 1:text.rindex(")")]:
            fields = text[text.rindex(")") + 2:].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def finished_run(runs: Path) -> dict:
    metrics = json.loads(next(runs.glob("*/metrics.json")).read_text())
    return {"seconds": metrics["elapsed_seconds"], "knn": metrics["evals"][-1]["knn_top1"]}


def page_run(task: str, runs: Path) -> dict:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", "from workbench.ui.app import serve; "
                               f"serve(port={port}, runs_root={str(runs)!r})"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox",
                                                                        "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            deadline = time.monotonic() + 120
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}/")
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)
            expect(page.locator("#preview img").first).to_be_visible(timeout=180_000)
            if task != "rotation":  # the page opens on rotation; pick the task as a user does, by its title
                title = task_class(task).info.title
                page.locator("#task input").first.click()
                page.get_by_role("option", name=title).click()
                expect(page.locator("#task-card")).to_contain_text(title.split(" — ")[0], timeout=60_000)
            time.sleep(20)  # the app's UMAP warm-up, which runs once after start-up, is over
            before = cpu_seconds("chromium")
            page.locator("#start").click()
            expect(page.locator("#status")).to_contain_text(re.compile("FINISHED|FAILED|STOPPED"), timeout=1_800_000)
            if "FINISHED" not in page.locator("#status").text_content():
                raise RuntimeError(f"the page's run did not finish: {page.locator('#status').text_content()}")
            browser_cpu = cpu_seconds("chromium") - before
            browser.close()
    finally:
        server.terminate()
        server.wait()
    return {**finished_run(runs), "browser_cpu": browser_cpu}


def command_line_run(task: str, runs: Path) -> dict:
    # No --data: the task's preset's, as the page picks it with the task (Painted shapes for colorization).
    subprocess.run([sys.executable, "-m", "workbench", "train", "--task", task,
                    "--out", str(runs / task)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return finished_run(runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="rotation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as page_runs, tempfile.TemporaryDirectory() as cli_runs:
        page = page_run(args.task, Path(page_runs))
        cli = command_line_run(args.task, Path(cli_runs))
    print(f"| {args.task}'s preset | seconds | k-NN |\n|---|---|---|")
    print(f"| started from the page, Chromium watching | {page['seconds']:.0f} | {page['knn']:.3f} |")
    print(f"| `python -m workbench train` | {cli['seconds']:.0f} | {cli['knn']:.3f} |")
    print(f"\npage ÷ command line: {page['seconds'] / cli['seconds']:.2f}; the browser used "
          f"{page['browser_cpu']:.0f} CPU seconds while the page's run trained")
    config = TrainConfig(task=args.task).resolved()  # the data, device and precision both runs had
    row = {"task": args.task, "data": config.data, "page_seconds": f"{page['seconds']:.0f}",
           "command_line_seconds": f"{cli['seconds']:.0f}", "ratio": f"{page['seconds'] / cli['seconds']:.2f}",
           "browser_cpu_seconds": f"{page['browser_cpu']:.0f}", "page_knn": f"{page['knn']:.3f}",
           "command_line_knn": f"{cli['knn']:.3f}", "source": measured_by("page_training.py")}
    save_rows(results_path("page_training", config.data, resolve_device(config.device), config.precision), [row],
              key=("task",))


if __name__ == "__main__":
    main()
