"""A lesson's hand-out: one run, or several compared, as ONE HTML file that opens offline — on a projector, on a
laptop without a network, or printed. Plotly.js is inside it once, the images are data URIs, and it loads no
fonts or styles from anywhere: each task's card (the page's text), the curves against epochs and seconds, the
table of probes against random init and the no-learning baselines, and the maps side by side with the images on
hover.

    python -m workbench compare runs/simclr-… runs/rotation-… --handout lesson.html
"""

import html
import re
import time
from pathlib import Path

from markdown_it import MarkdownIt

from ..data.kinds import KINDS
from ..tasks import card, task_class
from . import plots
from .compare import compare_runs, comparison_markdown
from .maps import MapSettings, map_run
from .mapview import MAP_STYLE, maps_section, plotly_script

# Plain CSS that reads on a projector (large type, strong contrast) and prints (no backgrounds, no split figures).
STYLE = """
 body { margin: 0; font: 18px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; }
 main { max-width: 1150px; margin: 0 auto; padding: 24px 28px 60px; }
 h1 { font-size: 34px; line-height: 1.2; margin: 0 0 6px; }
 h2 { font-size: 26px; margin: 40px 0 12px; border-bottom: 2px solid #e5e7eb; padding-bottom: 4px; }
 h3 { font-size: 21px; }
 .meta { color: #4b5563; margin: 0 0 20px; }
 .card { border: 1px solid #d1d5db; border-radius: 8px; padding: 4px 22px; margin: 16px 0; }
 .math { font-family: "Cambria Math", "STIX Two Math", serif; }
 .math.display { display: block; text-align: center; margin: 10px 0; overflow-x: auto; }
 /* auto-fill: each figure is drawn as its cell comes, and the columns must be there before the cells */
 .curves { display: grid; grid-template-columns: repeat(auto-fill, minmax(500px, 1fr)); gap: 8px 18px; }
 .curves > div { min-width: 0; }  /* a cell as wide as the grid gives it, not as wide as its figure */
 table { border-collapse: collapse; width: 100%; font-size: 17px; margin: 12px 0; }
 th, td { border: 1px solid #d1d5db; padding: 6px 8px; text-align: left; }
 th { background: #f3f4f6; }
 a { color: #1d4ed8; }
 .maps h3 { font-size: 18px; }
 @media print {
   body { font-size: 12pt; }
   main { max-width: none; padding: 0; }
   .card, section, .curves > div, tr { break-inside: avoid; }
   .picked, #tip { display: none; }
 }
"""

HANDOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}{map_style}</style>
{plotly}
</head><body><main>
<h1>{title}</h1>
<p class="meta">{meta}</p>
<h2>The {methods}</h2>
{cards}
<h2>How fast they learn</h2>
<p>The pretext loss and the online k-NN accuracy after each epoch, against epochs and against training seconds
(pauses not counted): a method may learn more per epoch and still less per second.</p>
<div class="curves">{curves}</div>
<h2>What they learned</h2>
{table}
<h2>Their maps of the held-out images</h2>
<p>{maps_note}</p>
{maps}
</main></body></html>"""

# Math in the cards, $$…$$ on a line of its own or $…$ in a sentence, stays TeX (no typesetting offline without a
# library inside the file); taken out before the Markdown is rendered, so that its _ and * do not become emphasis.
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.DOTALL)


def handout_document(run_dirs, device="cpu", progress=None, comparison: dict | None = None) -> str:
    """The hand-out of `run_dirs` (one run or several) as an HTML document. Probes each run (`compare_runs`;
    or takes `comparison`, that of the same runs, already made) and maps its held-out items; `progress(done,
    total, what)` after each run's probes and each map."""
    run_dirs = [Path(run_dir) for run_dir in run_dirs]
    steps = len(run_dirs) if comparison else 2 * len(run_dirs)

    def report(done, what):
        if progress:
            progress(done, steps, what)

    if comparison is None:
        comparison = compare_runs(run_dirs, device, lambda done, _, what: report(done, what))
    maps = []
    for done, (run_dir, row) in enumerate(zip(run_dirs, comparison["runs"]), steps - len(run_dirs) + 1):
        result = map_run(run_dir, device, settings=MapSettings())
        maps.append((result, result["items"], f"{_short(row['task_title'])} — {row['run']}"))
        report(done, f"mapped {row['run']}")
    tasks = list(dict.fromkeys(row["task"] for row in comparison["runs"]))
    data_sets = sorted({Path(row["data"]).name for row in comparison["runs"]})
    title = f"{' vs '.join(_short(task_class(task).info.title) for task in tasks)} on {', '.join(data_sets)}"
    return HANDOUT.format(
        title=html.escape(title), style=STYLE, map_style=MAP_STYLE, plotly=plotly_script(),
        meta=html.escape(f"SSL Workbench, {time.strftime('%Y-%m-%d %H:%M')} — runs: "
                         + ", ".join(row["run"] for row in comparison["runs"])),
        methods="method" if len(tasks) == 1 else "methods",
        cards="\n".join(f'<div class="card">{render_markdown(card(task))}</div>' for task in tasks),
        curves="\n".join(_figure_html(plots.comparison_figure(comparison["curves"], measure, x))
                         for measure in ("loss", "knn") for x in ("epoch", "seconds")),
        table=render_markdown(comparison_markdown(comparison)), maps_note=html.escape(_maps_note(maps)),
        maps=maps_section(maps))


def render_markdown(text: str) -> str:
    """Markdown (CommonMark and tables) as HTML, its math kept as TeX in spans of class "math"."""
    formulas = []

    def set_aside(match) -> str:
        formulas.append(match)
        return f"MATHFORMULA{len(formulas) - 1}END"  # letters and digits alone: Markdown leaves them be

    rendered = MarkdownIt("commonmark").enable("table").render(MATH.sub(set_aside, text))

    def put_back(match) -> str:
        formula = formulas[int(match.group(1))]
        if formula.group(1) is not None:
            return f'<span class="math display">{html.escape(formula.group(1).strip())}</span>'
        return f'<span class="math">{html.escape(formula.group(2))}</span>'

    return re.sub(r"MATHFORMULA(\d+)END", put_back, rendered)


def _figure_html(figure) -> str:
    """A figure as a <div> and the script that draws it with the plotly.js the page holds; type large enough
    for the back of a classroom."""
    figure.update_layout(font_size=15, title_font_size=17, height=380)
    return figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


def _maps_note(maps: list) -> str:
    """What the maps show, and that runs on the same data show the same items."""
    by_data = {}
    for result, _, _ in maps:
        by_data.setdefault(result["data"], []).append(result)
    same = "; ".join(f"{len(results)} maps of the same {results[0]['shown']:,} held-out "
                     f"{KINDS[results[0]['kind']].items} of {data}"
                     for data, results in by_data.items() if len(results) > 1)
    return ("Each map lays out held-out items by UMAP of one run's features, coloured by class: rest the pointer on "
            "a point to see it, click it for its nearest neighbours in that run's features. "
            + (f"The sample is drawn the same way for every run: {same} — the same points, placed by each "
               "representation." if same else ""))


def _short(title: str) -> str:
    """"SimCLR" of "SimCLR — contrast two augmented views"."""
    return title.split(" — ")[0]
