"""How tall the page is at each step of a lesson, in a real Chromium at 1280 × 720 (a projector's size), before
anything runs: the goal (issue 29) is each step's essentials inside the screen, where the page was one column
6,070 px tall before it became steps.

    python benchmarks/lesson_page.py

The table also goes to benchmarks/results/lesson_page-shapes-MACHINE-PRECISION.csv.
"""

import tempfile

import torch
from playwright.sync_api import sync_playwright

from csv_results import measured_by, results_path, save_rows
from workbench.engine.settings import resolve_precision
from workbench.ui.app import STEPS, serve

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1280, 720


def main():
    from page_latency import free_port

    port = free_port()
    demo = serve(port=port, runs_root=tempfile.mkdtemp(prefix="lesson-runs-"), block=False)
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.goto(f"http://127.0.0.1:{port}/")
        page.locator("#samples img").first.wait_for(timeout=120_000)
        print(f"| step | page height at {WIDTH} × {HEIGHT}, px | screens |\n|---|---|---|")
        for step_id, label in STEPS:
            page.locator(f"#step-{step_id}-button").click()
            page.wait_for_timeout(2000)
            height = page.evaluate("document.documentElement.scrollHeight")
            print(f"| {label} | {height:,} | {height / HEIGHT:.2f} |")
            rows.append({"step": label, "width": WIDTH, "height": HEIGHT, "page_height_px": height,
                         "source": measured_by("lesson_page.py")})
        browser.close()
    demo.close()
    save_rows(results_path("lesson_page", "shapes", "cpu", resolve_precision("auto", torch.device("cpu"))), rows,
              key=("step", "width", "height"))


if __name__ == "__main__":
    main()
