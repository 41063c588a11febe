"""The page in a real headless Chromium (Debian's), driven by Playwright: load, start, watch the loss line grow,
reload and find the run again, stop; then the map: an image on hover, neighbours on click."""

import os
import re
import time
import urllib.parse
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


def show_step(page, step_id):
    """Turn the page to a step of the lesson (the tab "1 · Data", … of `workbench.ui.app.STEPS`)."""
    page.locator(f"#step-{step_id}-button").click()


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
    """Clear the queue if runs wait in it, press Stop unless the page says the run is already over, then wait
    until it no longer says RUNNING."""
    if "queued" in (page.locator("#live-status").text_content() or ""):
        show_step(page, "compare")
        page.locator("#clear-queue").click()
    show_step(page, "pretrain")
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
            show_step(page, "preview")
            expect(page.locator("#preview img").first).to_be_visible(timeout=LONG)
            show_step(page, "task")
            expect(page.locator("#task-card")).to_contain_text("Rotation", timeout=LONG)

            show_step(page, "pretrain")
            page.locator("#start").click()
            started = True
            expect(page.locator("#status")).to_contain_text("RUNNING", timeout=LONG)
            first = wait_for_points(page, more_than=2)  # a line, not a dot: several points
            later = wait_for_points(page, more_than=first)  # and it grows as training goes on
            print(f"\nloss line: {first} points, then {later}")

            page.reload()  # the run belongs to the server: a reloaded page re-attaches to it
            expect(page.locator("#live-status")).to_contain_text("RUNNING", timeout=LONG)  # on every step
            show_step(page, "pretrain")
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


# What each step of the lesson must show without scrolling at 1280 × 720: its controls and where its result appears.
ESSENTIALS = {"data": ["#data", "#quick-demo", "#samples"], "task": ["#task", "#task-card"],
              "preview": ["#redraw", "#preview"], "pretrain": ["#epochs", "#max-minutes", "#start", "#status",
                                                               "#loss-plot"],
              "inspect": ["#inspect-run", "#analyse", "#probe", "#umap-map"],
              "compare": ["#queue-tasks", "#queue", "#compare-runs", "#compare"]}
# A control the page gives no name: a line of Playwright's ARIA snapshot with a role and no quoted name.
UNNAMED = re.compile(r"^\s*- (textbox|combobox|slider|spinbutton|checkbox|radio|button|listbox|tab)\b(?! \")")


def check_step(page, step_id, shots: Path):
    """The step's essentials lie inside the viewport, every control in it has a name a screen reader reads, and
    a screenshot of it (what tests/screenshots.py makes the README's pictures from)."""
    viewport = page.viewport_size
    page.evaluate("window.scrollTo(0, 0)")
    for selector in ESSENTIALS[step_id]:
        box = page.locator(selector).first.bounding_box()
        assert box is not None, f"{selector} is not shown on step {step_id}"
        assert 0 <= box["y"] and box["y"] + min(box["height"], 40) <= viewport["height"], \
            f"{selector} of step {step_id} lies outside the {viewport['width']} × {viewport['height']} screen: {box}"
    unnamed = [line for line in page.locator(f"#step-{step_id}").aria_snapshot().splitlines() if UNNAMED.match(line)]
    assert unnamed == [], f"controls without a name on step {step_id}: {unnamed}"
    page.screenshot(path=str(shots / f"step-{step_id}.png"))


def first_point(frame, map_id="map") -> tuple[float, float]:
    """Where the first point of the map's first trace is drawn, in the frame's pixels."""
    return frame.evaluate("""(id) => {
      const gd = document.getElementById(id), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
      const box = gd.getBoundingClientRect(), trace = gd._fullData[0];
      return [box.left + xa._offset + xa.d2p(trace.x[0]), box.top + ya._offset + ya.d2p(trace.y[0])];
    }""", map_id)


def pick_newest(page, box, prefix):
    """Choose the first (the newest) option whose label starts with `prefix` in the multiselect `#box`, by
    keyboard: type to filter, Enter to take the first."""
    field = page.locator(f"#{box} input").first
    field.click()
    field.press_sequentially(prefix)
    expect(page.get_by_role("option", name=re.compile(f"^{re.escape(prefix)}")).first).to_be_visible()
    field.press("Enter")
    expect(page.locator(f"#{box}")).to_contain_text(prefix)
    page.keyboard.press("Escape")


@pytest.mark.browser
def test_a_lesson_at_1280_by_720_from_the_data_to_a_comparison_and_its_offline_hand_out(app_url, tmp_path,
                                                                                    monkeypatch):
    """The whole journey on a projector-sized screen: open; pick the task and move a slider, and the preview
    changes; the quick demo to the map; an image on hover and neighbours on click; the embedding's evolution;
    queue two runs and compare them; open the hand-out offline. Each step's essentials inside the screen, every
    control named, reachable by keyboard."""
    from workbench.ui import quick_demo
    monkeypatch.setattr(quick_demo, "DEMO_MINUTES", 0.25)  # what the page shows, not how much rotation learns
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with page_at(app_url, 1280, 720) as page:
        try:
            expect(page.locator("#samples img").first).to_be_visible(timeout=LONG)
            check_step(page, "data", shots)

            show_step(page, "preview")
            preview = page.locator("#preview img").first
            expect(preview).to_be_visible(timeout=LONG)
            before = preview.get_attribute("src")
            check_step(page, "preview", shots)
            show_step(page, "task")
            expect(page.locator("#task-card")).to_contain_text("Rotation", timeout=LONG)
            check_step(page, "task", shots)
            crop = page.locator("#step-task input[type=range]:visible").first  # rotation's smallest crop, 0.6
            crop.focus()
            for _ in range(4):
                page.keyboard.press("ArrowRight")  # by keyboard, as anyone can
            show_step(page, "preview")
            expect(preview).not_to_have_attribute("src", before, timeout=LONG)  # redrawn with larger crops

            show_step(page, "data")
            page.locator("#quick-demo").click()
            expect(page.locator("#live-status")).to_contain_text("RUNNING", timeout=LONG)  # above every step
            expect(page.locator("#step-inspect")).to_be_visible(timeout=4 * LONG)  # the demo turns the page
            expect(page.locator("#probe")).to_contain_text("linear probe", timeout=LONG)
            expect(page.locator("#quick-demo-message")).to_contain_text("k-NN top-1")
            frame_element = page.locator("#umap-map iframe")
            expect(frame_element).to_be_visible(timeout=LONG)
            frame = frame_element.element_handle().content_frame()  # a Frame: it can evaluate scripts
            expect(frame.locator("body[data-ready=yes]")).to_have_count(1, timeout=LONG)
            check_step(page, "inspect", shots)
            x, y = first_point(frame)
            offset = frame_element.bounding_box()
            page.mouse.move(offset["x"] + x, offset["y"] + y)  # a real pointer resting on the point
            tip = frame.locator("#tip")
            expect(tip).to_be_visible(timeout=10_000)
            expect(tip.locator(".thumb")).to_have_css("width", "96px")
            assert "background-image" in (tip.locator(".thumb").get_attribute("style") or "")
            page.mouse.click(offset["x"] + x, offset["y"] + y)
            picked = frame.locator("#picked figure")
            expect(picked).to_have_count(9, timeout=10_000)  # the image and its 8 neighbours
            similarities = [float(picked.nth(i).text_content().split(" · ")[0]) for i in range(1, 9)]
            assert similarities == sorted(similarities, reverse=True) and all(-1 <= s <= 1 for s in similarities)
            page.get_by_text("How the embedding changed during training").click()
            page.locator("#evolution").click()  # the embedding's evolution: an animated map with a slider
            evolution = page.locator("#evolution-map iframe")
            expect(evolution).to_be_visible(timeout=3 * LONG)
            expect(evolution.content_frame.locator("g.slider-group")).to_have_count(1, timeout=LONG)
            assert evolution.content_frame.locator("g.slider-label-group").count() >= 2  # random init, an epoch

            show_step(page, "pretrain")
            check_step(page, "pretrain", shots)
            page.locator("#step-pretrain-button").focus()
            for _ in range(40):  # Tab from the step's tab to its Start button
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.id") == "start":
                    break
            assert page.evaluate("document.activeElement.id") == "start", "Start is not reachable by keyboard"

            show_step(page, "compare")
            for method in ("Rotation", "SimCLR"):
                page.locator("#queue-tasks").get_by_label(method, exact=True).check()
            page.locator("#queue-minutes input").fill("0.1")
            page.locator("#queue").click()
            expect(page.locator("#queue-message")).to_contain_text("Queued 2 runs", timeout=LONG)
            expect(page.locator("#live-status")).to_contain_text(re.compile(r"FINISHED.*simclr-"), timeout=4 * LONG)
            expect(page.locator("#live-status")).not_to_contain_text("queued")
            lesson_runs = page.locator("#lesson-runs")
            expect(lesson_runs).to_contain_text("simclr", timeout=LONG)  # the table filled in as the runs went
            expect(lesson_runs).not_to_contain_text("queued")
            pick_newest(page, "compare-runs", "simclr-")
            pick_newest(page, "compare-runs", "rotation-")  # the queue's: newer than the demo's
            page.locator("#compare").click()
            table = page.locator("#compare-table")
            expect(table).to_contain_text("SimCLR", timeout=4 * LONG)
            expect(table).to_contain_text("Rotation")
            expect(table).to_contain_text("raw pixels")
            assert page.locator("#compare-loss .scatterlayer .trace").count() == 2  # the two losses, overlaid
            maps = page.locator("#compare-maps iframe")
            expect(maps.content_frame.locator("body[data-ready=yes]")).to_have_count(1, timeout=LONG)
            assert maps.content_frame.locator(".map").count() == 2
            page.locator("#compare-x").get_by_label("seconds").check()
            expect(page.locator("#compare-loss")).to_contain_text("training seconds", timeout=LONG)
            check_step(page, "compare", shots)
            page.locator("#compare-x").scroll_into_view_if_needed()  # the comparison itself, for the README
            page.screenshot(path=str(shots / "compare-results.png"))

            page.locator("#handout").click()
            link = page.locator("#handout-file a").first
            expect(link).to_be_visible(timeout=4 * LONG)
            handout = tmp_path / "lesson.html"
            with urllib.request.urlopen(urllib.parse.urljoin(app_url, link.get_attribute("href"))) as response:
                handout.write_bytes(response.read())
            offline = page.context.browser.new_context(offline=True).new_page()
            offline.goto(handout.as_uri())
            expect(offline.locator("body[data-ready=yes]")).to_have_count(1, timeout=LONG)
            assert offline.locator(".map").count() == 2
            expect(offline.locator("body")).to_contain_text("SimCLR")

            page.locator("#projector").click()  # the projector setting: larger type
            assert page.evaluate("document.body.classList.contains('wb-projector')")
            page.screenshot(path=str(shots / "projector.png"))
        finally:
            stop_run(page)  # the app is shared with other tests: never leave a run going


@pytest.mark.browser
def test_the_data_box_follows_a_preset_that_names_its_data_and_keeps_the_user_s_own_choice(app_url):
    """Colorization trains on Painted shapes: picking it takes the data box from Shapes, and the next task gives
    it back. A data set the user picked stays."""
    with page_at(app_url) as page:
        info = page.locator("#data-info")
        expect(info).to_contain_text("shapes: 5,000 training", timeout=LONG)
        show_step(page, "task")
        pick(page, "task", "^Colorization")
        expect(page.locator("#task-card")).to_contain_text("Painted shapes", timeout=LONG)
        show_step(page, "data")
        expect(page.locator("#data input")).to_have_value(re.compile("^Painted shapes"), timeout=LONG)
        expect(info).to_contain_text("painted_shapes: 5,000 training", timeout=LONG)
        show_step(page, "task")
        pick(page, "task", "^Rotation")
        show_step(page, "data")
        expect(info).to_contain_text(re.compile(r"(^|\s)shapes: 5,000 training"), timeout=LONG)
        pick(page, "data", "^Digits")
        expect(info).to_contain_text("digits", timeout=LONG)
        show_step(page, "task")
        pick(page, "task", "^Colorization")
        expect(page.locator("#task-card")).to_contain_text("Painted shapes", timeout=LONG)
        page.wait_for_timeout(2000)  # time for a switch that must not come
        show_step(page, "data")
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
        show_step(page, "task")
        pick(page, "task", "^Barlow")
        card = page.locator("#task-card")
        expect(card).to_contain_text("cross-correlation", timeout=LONG)
        expect(card.locator(".katex").nth(1)).to_be_visible()
        left_as_text = page.evaluate("""() => { const card = document.querySelector('#task-card').cloneNode(true);
            card.querySelectorAll('.katex, .katex-display').forEach(m => m.remove()); return card.textContent; }""")
        assert "$" not in left_as_text and "\\frac" not in left_as_text
        pick(page, "task", "^GPT")
        show_step(page, "data")
        expect(page.locator("#data input")).to_have_value(re.compile("^Roles"), timeout=LONG)
        show_step(page, "pretrain")
        expect(page.locator("#epochs input[type=number]").first).to_have_value(str(NextToken.preset.epochs))
        assert shown_preset(page) == [str(NextToken.preset.epochs), str(NextToken.preset.batch_size)]
        show_step(page, "data")
        pick(page, "data", "^Fortunes")
        show_step(page, "pretrain")
        real = NextToken.real_data_preset
        expect(page.locator("#epochs input[type=number]").first).to_have_value(str(real.epochs), timeout=LONG)
        assert shown_preset(page) == [str(real.epochs), str(real.batch_size)]
