"""The page in a real headless Chromium (Debian's), driven by Playwright: load, start, watch the loss line grow,
reload and find the run again, stop; then the map: an image on hover, neighbours on click."""

import os
import re
import time
import urllib.request
from contextlib import contextmanager
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


@contextmanager
def page_at(app_url, width=1280, height=900):
    """The app's page in a fresh headless Chromium, closed after."""
    wait_until_served(app_url)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(LONG)
        try:
            page.goto(app_url)
            yield page
        finally:
            browser.close()


def pick(page, box, option):
    """Choose the option whose label matches `option` in the dropdown `#box`, as a user does."""
    page.locator(f"#{box} input").first.click()
    page.get_by_role("option", name=re.compile(option)).click()


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


POINT_ON_SCREEN = """() => {  // where the first point of the first trace is drawn, in the frame's pixels
  const gd = document.getElementById("map"), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const box = gd.getBoundingClientRect(), trace = gd._fullData[0];
  return [box.left + xa._offset + xa.d2p(trace.x[0]), box.top + ya._offset + ya.d2p(trace.y[0])];
}"""


@pytest.mark.browser
def test_the_map_shows_an_image_on_hover_and_its_neighbours_on_click(app_url, tmp_path):
    """Runs after the test above (or test_app's): the app has a run with a checkpoint to map."""
    wait_until_served(app_url)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(LONG)
        try:
            page.goto(app_url)
            page.locator("#analyse").click()
            expect(page.locator("#probe")).to_contain_text("linear probe", timeout=6 * LONG)  # probes, then the map
            frame_element = page.locator("#umap-map iframe")
            expect(frame_element).to_be_visible(timeout=LONG)
            frame = frame_element.element_handle().content_frame()  # a Frame: it can evaluate scripts
            expect(frame.locator("body[data-ready=yes]")).to_have_count(1, timeout=LONG)
            frame_element.scroll_into_view_if_needed()
            x, y = frame.evaluate(POINT_ON_SCREEN)
            offset = frame_element.bounding_box()
            page.mouse.move(offset["x"] + x, offset["y"] + y)  # a real pointer resting on the point
            tip = frame.locator("#tip")
            expect(tip).to_be_visible(timeout=10_000)
            expect(tip.locator(".thumb")).to_have_css("width", "96px")
            assert "background-image" in (tip.locator(".thumb").get_attribute("style") or "")
            page.mouse.click(offset["x"] + x, offset["y"] + y)
            picked = frame.locator("#picked figure")
            expect(picked).to_have_count(9, timeout=10_000)  # the image and its 8 neighbours
            assert picked.first.text_content().startswith("#")
            similarities = [float(picked.nth(i).text_content().split(" · ")[0]) for i in range(1, 9)]
            assert similarities == sorted(similarities, reverse=True) and all(-1 <= s <= 1 for s in similarities)
            page.locator("#evolution").click()  # the embedding's evolution: an animated map with a slider
            evolution = page.locator("#evolution-map iframe")
            expect(evolution).to_be_visible(timeout=3 * LONG)
            slider = evolution.content_frame.locator("g.slider-group")
            expect(slider).to_have_count(1, timeout=LONG)
            steps = evolution.content_frame.locator("g.slider-label-group")
            assert steps.count() >= 2  # random init and at least one saved epoch
            page.screenshot(path=str(Path(os.environ.get("SCREENSHOT_DIR") or tmp_path) / "page-map.png"),
                            full_page=True)
        finally:
            browser.close()


@pytest.mark.browser
def test_the_data_box_follows_a_preset_that_names_its_data_and_keeps_the_user_s_own_choice(app_url):
    """Colorization trains on Painted shapes: picking it takes the data box from Shapes, and the next task gives
    it back. A data set the user picked stays."""
    with page_at(app_url) as page:
        info = page.locator("#data-info")
        expect(info).to_contain_text("shapes: 5,000 training", timeout=LONG)
        pick(page, "task", "^Colorization")
        expect(page.locator("#data input")).to_have_value(re.compile("^Painted shapes"), timeout=LONG)
        expect(info).to_contain_text("painted_shapes: 5,000 training", timeout=LONG)
        expect(page.locator("#task-card")).to_contain_text("Painted shapes", timeout=LONG)
        pick(page, "task", "^Rotation")
        expect(info).to_contain_text(re.compile(r"(^|\s)shapes: 5,000 training"), timeout=LONG)
        pick(page, "data", "^Digits")
        expect(info).to_contain_text("digits", timeout=LONG)
        pick(page, "task", "^Colorization")
        expect(page.locator("#task-card")).to_contain_text("Painted shapes", timeout=LONG)
        page.wait_for_timeout(2000)  # time for a switch that must not come
        expect(info).to_contain_text("digits")


@pytest.mark.browser
def test_card_formulas_are_typeset_and_real_text_brings_the_task_s_preset_for_real_data(app_url):
    """Barlow Twins' card has a formula inside a sentence and one on a line of its own: both typeset, no TeX left
    as text. GPT on Roles shows its preset; on the fortunes (real text) its preset for real data."""
    from workbench.tasks.next_token import NextToken

    def shown_preset(page):
        return [page.locator(f"#{name} input[type=number]").first.input_value() for name in ("epochs", "batch-size")]

    with page_at(app_url) as page:
        expect(page.locator("#data-info")).to_contain_text("shapes: 5,000 training", timeout=LONG)
        pick(page, "task", "^Barlow")
        card = page.locator("#task-card")
        expect(card).to_contain_text("cross-correlation", timeout=LONG)
        expect(card.locator(".katex").nth(1)).to_be_visible()
        left_as_text = page.evaluate("""() => { const card = document.querySelector('#task-card').cloneNode(true);
            card.querySelectorAll('.katex, .katex-display').forEach(m => m.remove()); return card.textContent; }""")
        assert "$" not in left_as_text and "\\frac" not in left_as_text
        pick(page, "task", "^GPT")
        expect(page.locator("#data input")).to_have_value(re.compile("^Roles"), timeout=LONG)
        expect(page.locator("#epochs input[type=number]").first).to_have_value(str(NextToken.preset.epochs))
        assert shown_preset(page) == [str(NextToken.preset.epochs), str(NextToken.preset.batch_size)]
        pick(page, "data", "^Fortunes")
        real = NextToken.real_data_preset
        expect(page.locator("#epochs input[type=number]").first).to_have_value(str(real.epochs), timeout=LONG)
        assert shown_preset(page) == [str(real.epochs), str(real.batch_size)]
