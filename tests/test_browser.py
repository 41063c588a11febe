"""The page in a real headless Chromium (Debian's), driven by Playwright: load, start, watch the loss line grow,
reload and find the run again, stop."""

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
LONG = 60_000  # ms: the machine may have only 2 cores, shared by the server, the training and the browser


def wait_until_served(url, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "gradio_api/info", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{url}gradio_api/info did not answer within {timeout:.0f} s"
        time.sleep(0.5)


def loss_points(page) -> int:
    """Points in the loss trace: the M/L commands of plotly's SVG path for the line (0 while none is drawn)."""
    line = page.locator("#loss-plot path.js-line")
    return len(re.findall(r"[ML]", line.first.get_attribute("d") or "")) if line.count() else 0


def wait_for_points(page, more_than, timeout=60.0) -> int:
    deadline = time.monotonic() + timeout
    while (points := loss_points(page)) <= more_than and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert points > more_than, f"the loss line has {points} points after {timeout:.0f} s, wanted > {more_than}"
    return points


def stop_run(page):
    """Press Stop unless the page says the run is already over, then wait until it no longer says RUNNING."""
    status = page.locator("#status")
    if re.search("RUNNING|PAUSED", status.text_content() or ""):
        page.locator("#stop").click()
    expect(status).not_to_contain_text(re.compile("RUNNING|PAUSED"), timeout=LONG)


@pytest.mark.browser
def test_page_loads_trains_draws_the_loss_survives_a_reload_and_stops(app_url, tmp_path):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (tests/run.sh does)"
    wait_until_served(app_url)
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(LONG)
        started = False
        try:
            page.goto(app_url)
            expect(page.locator("#samples img").first).to_be_visible(timeout=LONG)
            assert page.locator("#samples img").count() >= 2
            expect(page.locator("#preview img").first).to_be_visible(timeout=LONG)
            expect(page.locator("#task-card")).to_contain_text("Rotation", timeout=LONG)

            page.locator("#start").click()
            started = True
            expect(page.locator("#status")).to_contain_text("RUNNING", timeout=LONG)
            first = wait_for_points(page, more_than=2)  # a line, not a dot: several points
            later = wait_for_points(page, more_than=first)  # and it grows as training goes on
            print(f"\nloss line: {first} points, then {later}")

            page.reload()  # the run belongs to the server: a reloaded page re-attaches to it
            expect(page.locator("#status")).to_contain_text("RUNNING", timeout=LONG)
            wait_for_points(page, more_than=later)

            shot = shots / "page-training.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")

            page.locator("#stop").click()
            expect(page.locator("#status")).to_contain_text("STOPPED", timeout=LONG)
        finally:
            try:
                if started:
                    stop_run(page)  # the app is shared with other tests: never leave a run going
            finally:
                browser.close()
