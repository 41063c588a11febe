"""Runs compared side by side — probes, curves against epochs and seconds, overlaid figures, maps of the same held-out
images — and the lesson's hand-out, one HTML file that opens offline, in a real Chromium with no network."""

import json
import re
import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from workbench import cli
from workbench.engine.checkpoints import RunFolder
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig
from workbench.inspection.compare import compare_runs, comparison_markdown, run_curves
from workbench.inspection.handout import handout_document, render_markdown
from workbench.inspection.plots import comparison_figure

from test_browser import ARGS, CHROMIUM

TASKS = {"rotation": {"epochs": 2}, "simclr": {"epochs": 2, "batch_size": 128}}  # Digits: ~4 s and ~3 s


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    """Two real runs of two families on Digits, in one runs folder."""
    root = tmp_path_factory.mktemp("runs")
    for task, settings in TASKS.items():
        status = TrainingRun(TrainConfig(data="digits", task=task, device="cpu", **settings), root / task).run()
        assert status.state == "finished", status.message
    return root


@pytest.fixture(scope="module")
def run_dirs(runs_root):
    return [runs_root / task for task in TASKS]


@pytest.fixture(scope="module")
def comparison(run_dirs):
    told = []
    result = compare_runs(run_dirs, progress=lambda done, total, what: told.append((done, total)))
    assert told == [(1, 2), (2, 2)]
    return result


@pytest.fixture(scope="module")
def handout(run_dirs, comparison, tmp_path_factory):
    path = tmp_path_factory.mktemp("handout") / "lesson.html"
    path.write_text(handout_document(run_dirs, comparison=comparison), encoding="utf-8")
    return path


def test_the_table_has_a_row_per_run_with_its_probes_and_the_data_sets_baseline(comparison):
    rows = comparison["runs"]
    assert [row["run"] for row in rows] == list(TASKS) and [row["task"] for row in rows] == list(TASKS)
    assert rows[1]["task_title"].startswith("SimCLR") and (rows[0]["epoch"], rows[0]["epochs"]) == (2, 2)
    for row in rows:
        for key in ("knn_top1", "linear_top1", "linear_10pct_top1", "random_init_knn_top1", "random_init_linear_top1"):
            assert 0 <= row[key] <= 1, (row["run"], key)
        assert row["seconds"] > 0 and row["test_items"] == 360 and row["classes"] == 10
        assert 10 <= row["labels_10pct"] <= 0.12 * 1437  # a stratified tenth of Digits' training images
    [baseline] = comparison["baselines"]  # one data set, one no-learning baseline: raw pixels
    assert (baseline["data"], baseline["key"]) == ("digits", "raw_pixels")
    assert baseline["knn_top1"] > 0.8 and 0 <= baseline["linear_10pct_top1"] <= 1  # digits are easy for pixels
    table = comparison_markdown(comparison)
    assert sum(line.startswith("|") for line in table.splitlines()) == 1 + 1 + 2 + 1  # header, rule, runs, pixels
    assert "raw pixels (no learning)" in table and "chance 0.10" in table


def test_curves_carry_epochs_and_seconds_that_grow(comparison, runs_root):
    for curve in comparison["curves"]:
        for measure in ("loss", "knn"):
            seconds = [record["seconds"] for record in curve[measure]]
            epochs = [record["epoch"] for record in curve[measure]]
            assert seconds == sorted(seconds) and seconds[-1] > seconds[0] >= 0, (curve["run"], measure)
            assert epochs == sorted(epochs) and epochs[-1] == pytest.approx(2.0)
        assert curve["knn"][0]["seconds"] == 0.0 and curve["knn"][-1]["all_images"]  # before any step; the end
    metrics = RunFolder(runs_root / "rotation").read_metrics()
    assert all("seconds" in record for record in metrics["steps"] + metrics["evals"])  # written by the loop


def test_a_run_written_before_the_records_held_seconds_gets_them_from_its_elapsed_time(runs_root, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(runs_root / "rotation" / "config.json", old)
    metrics = RunFolder(runs_root / "rotation").read_metrics()
    for record in metrics["steps"] + metrics["evals"]:
        del record["seconds"]
    (old / "metrics.json").write_text(json.dumps(metrics))
    curves = run_curves(RunFolder(old))
    seconds = [record["seconds"] for record in curves["loss"]]
    assert seconds == sorted(seconds) and seconds[-1] == pytest.approx(metrics["elapsed_seconds"])


def test_the_figures_overlay_one_line_per_run_named_by_task_and_by_run_where_tasks_repeat(comparison):
    for measure in ("loss", "knn"):
        for x in ("epoch", "seconds"):
            figure = comparison_figure(comparison["curves"], measure, x)
            assert [trace.name for trace in figure.data] == ["Rotation", "SimCLR"]
            assert figure.data[0].line.color != figure.data[1].line.color
    again = comparison["curves"] + [{**comparison["curves"][0], "run": "rotation-2"}]
    assert [trace.name for trace in comparison_figure(again).data] == ["Rotation (rotation)", "SimCLR",
                                                                      "Rotation (rotation-2)"]
    with pytest.raises(ValueError, match="loss or knn"):
        comparison_figure(comparison["curves"], "accuracy")


def test_cards_render_their_markdown_and_keep_their_math_as_text():
    rendered = render_markdown("**The loss.** $z_i$ and $$\\sum_b z_{b,i}$$\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<strong>The loss.</strong>" in rendered and "<table>" in rendered
    assert '<span class="math">z_i</span>' in rendered and "<em>" not in rendered  # _ stayed TeX, not emphasis
    assert '<span class="math display">\\sum_b z_{b,i}</span>' in rendered


def test_the_handout_is_self_contained_and_holds_every_part(handout, comparison):
    document = handout.read_text(encoding="utf-8")
    # The markup, with the scripts' code left out: plotly.js holds URLs of map tiles that it never loads here.
    markup = re.sub(r"(<script\b[^>]*>).*?(</script>)", r"\1\2", document, flags=re.S)
    fetched = re.findall(r"<(\w+)\b[^>]*?\s(?:src|href)\s*=\s*[\"']?(https?:[^\"' >]*)", markup)
    assert [(tag, url) for tag, url in fetched if tag != "a"] == []  # no <script src>, <link href>, <img src>
    assert any(tag == "a" and "arxiv.org" in url for tag, url in fetched)  # the papers' links stay
    assert not re.search(r"url\(\s*[\"']?https?:|@import", markup)
    assert document.count("* plotly.js v") == 1  # the library inside, once
    assert "Rotation — which way is up?" in document and "SimCLR — find your twin in the crowd" in document
    assert document.count('class="map"') == len(comparison["runs"])
    assert "raw pixels (no learning)" in document and "the same 360 held-out images of digits" in document
    print(f"\nhand-out of two runs: {handout.stat().st_size / 1e6:.2f} MB")


@pytest.mark.browser
def test_the_handout_opens_offline_in_chromium_with_both_maps_and_an_image_on_hover(handout):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
            page = context.new_page()
            page.set_default_timeout(60_000)
            requested = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(handout.as_uri())
            expect(page.locator("body[data-ready=yes]")).to_have_count(1)
            assert [url for url in requested if not url.startswith(("file:", "data:"))] == []
            expect(page.locator(".map .main-svg").first).to_be_visible()
            assert page.locator(".map").count() == 2 and page.locator(".curves .plotly-graph-div").count() == 4
            second = page.locator("#map-2")
            second.scroll_into_view_if_needed()
            x, y = page.evaluate("""() => {  // the first point of the second map's first trace, on screen
                const gd = document.getElementById("map-2"), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
                const box = gd.getBoundingClientRect(), trace = gd._fullData[0];
                return [box.left + xa._offset + xa.d2p(trace.x[0]), box.top + ya._offset + ya.d2p(trace.y[0])];
            }""")
            page.mouse.move(x, y)
            tip = page.locator("#tip")
            expect(tip).to_be_visible(timeout=10_000)
            expect(tip.locator(".thumb")).to_have_css("width", "96px")
            assert "data:image/png" in (tip.locator(".thumb").get_attribute("style") or "")
            page.mouse.click(x, y)
            expect(page.locator("#picked-2 figure")).to_have_count(9)  # the image and its 8 neighbours
            expect(page.locator("#picked-1 figure")).to_have_count(0)  # the first map's panel is its own
        finally:
            browser.close()


def compare_cli(*args) -> int:
    """`python -m workbench compare …` in this process (a subprocess adds torch's start-up, 6 s)."""
    return cli.main(["compare", *args])


def test_the_cli_prints_the_table_of_runs_named_in_the_runs_folder(runs_root, capsys):
    assert compare_cli("rotation", str(runs_root / "simclr"), "--root", str(runs_root)) == 0
    out, err = capsys.readouterr()
    assert "| rotation | Rotation | digits |" in out and "| simclr | SimCLR | digits |" in out
    assert "[2/2] probed simclr" in err
    assert compare_cli("nowhere", "--root", str(runs_root)) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: nowhere is not a run folder") and len(error.strip().splitlines()) == 1
