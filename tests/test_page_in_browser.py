"""The page in a real Chromium (Debian's), driven by Playwright: what a person sees and clicks."""

import os
import re
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def wait_until_served(url, timeout=60):
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(url + "gradio_api/info", timeout=5)
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def line_points(page):
    """How many points the loss line has (the plotly SVG path of the trace)."""
    d = page.locator("#loss-plot path.js-line").first.get_attribute("d") or ""
    return len(re.findall(r"[ML]", d))


@pytest.mark.browser
def test_start_draws_the_loss_curve_and_stop_ends_the_run(app_url, tmp_path):
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install chromium (tests/run.sh does)"
    wait_until_served(app_url)
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(app_url)
            expect(page.locator("#samples img").first).to_be_visible(timeout=60_000)
            expect(page.locator("#preview img").first).to_be_visible(timeout=60_000)
            expect(page.locator("#task-card")).to_contain_text("Rotation", timeout=30_000)

            page.locator("#start").click()
            expect(page.locator("#status")).to_contain_text("RUNNING", timeout=60_000)
            expect(page.locator("#loss-plot path.js-line").first).to_be_attached(timeout=60_000)
            first = line_points(page)
            deadline = time.time() + 60
            while line_points(page) <= max(first, 2) and time.time() < deadline:
                time.sleep(1)
            assert line_points(page) > max(first, 2), "the loss line does not grow"
            page.screenshot(path=str(shots / "page-training.png"), full_page=True)

            page.locator("#stop").click()
            expect(page.locator("#status")).to_contain_text("STOPPED", timeout=60_000)
        finally:
            if "RUNNING" in (page.locator("#status").text_content() or ""):
                page.locator("#stop").click()
            browser.close()
