"""A UMAP map as one HTML document that shows the items: resting the pointer on a point shows its image (or its
text), clicking a point shows it with its nearest neighbours in the embedding (cosine similarity and class under
each). Written by hand because Plotly's hover labels hold only text and Gradio's Plot sends no hover or click
events to Python: here everything the browser needs travels with the page (the figure, one sprite of
thumbnails or the texts, each point's neighbours), so hover and click answer at once, without a round trip to the server.
The page shows it in an iframe; `export --format html` writes it as a file that opens offline.
"""

import base64
import html
import io
import json
import math
from pathlib import Path

import numpy as np
import plotly
from PIL import Image

from ..data.kinds import KINDS
from .plots import umap_figure

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

PAGE = """<!doctype html><html><head><meta charset="utf-8">{plotly}
<style>
 body {{ margin: 0; font: 13px system-ui, sans-serif; color: #1f2937; }}
 #map {{ height: 520px; }}
 .thumb {{ background-repeat: no-repeat; image-rendering: pixelated; border-radius: 3px; }}
 .text {{ max-width: 260px; padding: 4px; background: #f9fafb; border-radius: 3px; text-align: left;
         white-space: pre-wrap; overflow-wrap: anywhere; max-height: 180px; overflow: hidden; }}
 #tip {{ position: fixed; display: none; pointer-events: none; background: white; border: 1px solid #d1d5db;
        border-radius: 6px; padding: 6px; box-shadow: 0 2px 8px rgba(0,0,0,.15); z-index: 10; }}
 #picked {{ display: flex; gap: 10px; flex-wrap: wrap; padding: 8px; min-height: 40px; }}
 #picked figure {{ margin: 0; text-align: center; font-size: 12px; }}
 #picked figure:first-child {{ border-right: 1px solid #d1d5db; padding-right: 10px; }}
</style></head><body>
<div id="map"></div>
<div id="tip"><div class="thumb"></div><div class="caption"></div></div>
<div id="picked">Click a point: it and its {k} nearest neighbours among the points shown appear here.</div>
<script>
const MAP = {data};
const SPRITE = "url(" + MAP.sprite + ")";
function thumb(row, size) {{  // the row-th text, or tile of the sprite drawn `size` px wide
  const div = document.createElement("div"), scale = size / MAP.tile;
  if (MAP.texts) {{
    div.className = "text";
    div.textContent = MAP.texts[row];
    return div;
  }}
  div.className = "thumb";
  Object.assign(div.style, {{
    width: size + "px", height: size + "px", backgroundImage: SPRITE,
    backgroundSize: (MAP.columns * MAP.tile * scale) + "px auto",
    backgroundPosition: (-(row % MAP.columns) * size) + "px " + (-Math.floor(row / MAP.columns) * size) + "px"}});
  return div;
}}
function figure(row, size, caption) {{
  const f = document.createElement("figure"), c = document.createElement("figcaption");
  c.textContent = caption;
  f.append(thumb(row, size), c);
  return f;
}}
const tip = document.getElementById("tip"), picked = document.getElementById("picked");
function pick(row) {{  // the clicked image, then its neighbours
  picked.replaceChildren(figure(row, 72, "#" + MAP.image[row] + " · " + MAP.caption[row]),
    ...MAP.neighbours[row].map(([other, similarity]) =>
      figure(other, 72, similarity.toFixed(2) + " · " + MAP.caption[other])));
  picked.dataset.row = row;
}}
Plotly.newPlot("map", MAP.figure.data, MAP.figure.layout, {{displaylogo: false, responsive: true}}).then(gd => {{
  gd.on("plotly_hover", event => {{
    const row = event.points[0].customdata, mouse = event.event || {{clientX: 20, clientY: 20}};
    tip.replaceChildren(thumb(row, 96), Object.assign(document.createElement("div"),
      {{textContent: "#" + MAP.image[row] + " · " + MAP.caption[row]}}));
    Object.assign(tip.style, {{display: "block", left: (mouse.clientX + 14) + "px", top: (mouse.clientY + 14) + "px"}});
    tip.dataset.row = row;
  }});
  gd.on("plotly_unhover", () => {{ tip.style.display = "none"; }});
  gd.on("plotly_click", event => pick(event.points[0].customdata));
  document.body.dataset.ready = "yes";
}});
</script></body></html>"""


def sprite_sheet(tiles: np.ndarray, square: bool = False) -> np.ndarray:
    """(N, S, S, 3) uint8 tiles laid row by row on one sheet, ⌈√N⌉ tiles wide; as tall as the tiles need, or
    `square` (the Projector's sprite must be)."""
    count, size = len(tiles), tiles.shape[2]
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = columns if square else math.ceil(count / columns)
    sheet = np.zeros((rows * size, columns * size, 3), dtype=np.uint8)
    for i, tile in enumerate(tiles):
        row, col = divmod(i, columns)
        sheet[row * size:(row + 1) * size, col * size:(col + 1) * size] = tile
    return sheet


def sprite_data_uri(tiles: np.ndarray) -> tuple[str, int]:
    """The tiles' sprite sheet as a PNG data URI, and how many tiles wide it is."""
    sheet = sprite_sheet(tiles)
    buffer = io.BytesIO()
    Image.fromarray(sheet).save(buffer, format="PNG", optimize=True)
    columns = sheet.shape[1] // tiles.shape[2]
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(), columns


def hover_data(hover) -> dict:
    """What the document shows of each point, from its kind's `hover`: the texts themselves, or one sprite of
    the images' tiles (its URI, the tile's size, how many tiles wide)."""
    if isinstance(hover, list):
        return {"texts": hover}
    sprite, columns = sprite_data_uri(hover)
    return {"sprite": sprite, "tile": int(hover.shape[2]), "columns": columns}


def map_title(result: dict) -> str:
    """"UMAP of mlm features, held-out texts of roles"."""
    return f"UMAP of {result['what']}, held-out {KINDS[result['kind']].items} of {result['data']}"


def map_document(result: dict, items, title: str, plotly_src: str | None = None, compact: bool = False) -> str:
    """The map of `inspection.maps.map_run` (with its "neighbours" and data "kind") as an HTML document.
    `items`: the points' items, in the map's order, shown as their kind's `hover` shows them. `plotly_src`:
    the URL of plotly.min.js; None puts the library inside (a file that opens offline, 4.8 MB). `compact`: for
    a third of the page's width (no legend)."""
    figure = umap_figure({**result, "indices": np.arange(len(result["labels"]))}, title)  # customdata = row
    figure.update_traces(hovertemplate=None, hoverinfo="none")  # the picture is the hover label
    if compact:
        figure.update_layout(showlegend=False, title_font_size=11, margin=dict(l=5, r=5, t=40, b=5))
    data = {"figure": json.loads(figure.to_json()), **hover_data(KINDS[result["kind"]].hover(items)),
            "image": [int(i) for i in result["indices"]],
            "caption": [result["class_names"][c] for c in result["labels"]],
            "neighbours": [[[int(j), round(float(s), 3)] for j, s in zip(rows, sims)]
                           for rows, sims in zip(result["neighbours"], result["similarities"])]}
    script = (f'<script src="{html.escape(plotly_src)}"></script>' if plotly_src
              else f"<script>{PLOTLY_JS.read_text(encoding='utf-8')}</script>")
    return PAGE.format(plotly=script, data=json.dumps(data).replace("</", "<\\/"), k=len(data["neighbours"][0]))


def iframe(document: str, height: int = 640) -> str:
    """The document inside an iframe (its scripts run there, apart from the page's)."""
    return (f'<iframe title="UMAP map" srcdoc="{html.escape(document, quote=True)}" '
            f'style="width:100%;height:{height}px;border:0"></iframe>')
