"""A UMAP map as one HTML document that shows the items: resting the pointer on a point shows its image (or its
text), clicking a point shows it with its nearest neighbours in the embedding (cosine similarity and class under
each). Written by hand because Plotly's hover labels hold only text and Gradio's Plot sends no hover or click
events to Python: here everything the browser needs travels with the page (the figure, one sprite of
thumbnails or the texts, each point's neighbours), so hover and click answer at once, without a round trip to the
server. The page shows it in an iframe; `export --format html` writes it as a file that opens offline. Several maps —
runs compared on the same held-out items — go side by side in one document (`maps_document`), or into the
hand-out (`maps_section`), each drawn by the same script.
"""

import base64
import html
import io
import json
import math
from pathlib import Path

import numpy as np
import plotly
import plotly.graph_objects as go
from PIL import Image

from ..data.kinds import KINDS
from .plots import umap_figure

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

# Draws one map into a container: each point's item in the (one) hover tip, a clicked point and its neighbours in its
# `picked` panel. Every map document holds it once, whether it draws one map or several side by side.
DRAW_MAP = """function drawMap(map, pictures, container, tip, picked) {  // resolves once the map is drawn
  const sprite = "url(" + pictures.sprite + ")";
  function thumb(row, size) {  // the row-th text, or tile of the sprite drawn `size` px wide
    const div = document.createElement("div"), scale = size / pictures.tile;
    if (pictures.texts) {
      div.className = "text";
      div.textContent = pictures.texts[row];
      return div;
    }
    div.className = "thumb";
    Object.assign(div.style, {
      width: size + "px", height: size + "px", backgroundImage: sprite,
      backgroundSize: (pictures.columns * pictures.tile * scale) + "px auto",
      backgroundPosition: (-(row % pictures.columns) * size) + "px "
                          + (-Math.floor(row / pictures.columns) * size) + "px"});
    return div;
  }
  function figure(row, size, caption) {
    const f = document.createElement("figure"), c = document.createElement("figcaption");
    c.textContent = caption;
    f.append(thumb(row, size), c);
    return f;
  }
  function pick(row) {  // the clicked image, then its neighbours
    picked.replaceChildren(figure(row, 72, "#" + map.image[row] + " · " + map.caption[row]),
      ...map.neighbours[row].map(([other, similarity]) =>
        figure(other, 72, similarity.toFixed(2) + " · " + map.caption[other])));
    picked.dataset.row = row;
  }
  const settings = {displaylogo: false, responsive: true};
  return Plotly.newPlot(container, map.figure.data, map.figure.layout, settings).then(gd => {
    gd.on("plotly_hover", event => {
      const row = event.points[0].customdata, mouse = event.event || {clientX: 20, clientY: 20};
      tip.replaceChildren(thumb(row, 96), Object.assign(document.createElement("div"),
        {textContent: "#" + map.image[row] + " · " + map.caption[row]}));
      Object.assign(tip.style, {display: "block", left: (mouse.clientX + 14) + "px", top: (mouse.clientY + 14) + "px"});
      tip.dataset.row = row;
    });
    gd.on("plotly_unhover", () => { tip.style.display = "none"; });
    gd.on("plotly_click", event => pick(event.points[0].customdata));
    return gd;
  });
}"""

# The maps' look, in a document of their own or inside another (the hand-out).
MAP_STYLE = """
 .map { height: 520px; }
 .thumb { background-repeat: no-repeat; image-rendering: pixelated; border-radius: 3px; }
 .text { max-width: 260px; padding: 4px; background: #f9fafb; border-radius: 3px; text-align: left;
         white-space: pre-wrap; overflow-wrap: anywhere; max-height: 180px; overflow: hidden; }
 #tip { position: fixed; display: none; pointer-events: none; background: white; border: 1px solid #d1d5db;
        border-radius: 6px; padding: 6px; box-shadow: 0 2px 8px rgba(0,0,0,.15); z-index: 10; }
 .picked { display: flex; gap: 10px; flex-wrap: wrap; padding: 8px; min-height: 40px; }
 .picked figure { margin: 0; text-align: center; font-size: 12px; }
 .picked figure:first-child { border-right: 1px solid #d1d5db; padding-right: 10px; }
 .maps { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px; }
 .maps > section { min-width: 0; }  /* as wide as the grid's column, not as the map drawn in it */
 .maps h3 { margin: 4px 8px; font-size: 15px; }
"""

# The templates below are filled with str.format; the style and the script go in as values, kept as they are.
PAGE = """<!doctype html><html><head><meta charset="utf-8">{plotly}
<style>
 body {{ margin: 0; font: 13px system-ui, sans-serif; color: #1f2937; }}{style}</style></head><body>
<div id="map" class="map"></div>
<div id="tip"><div class="thumb"></div><div class="caption"></div></div>
<div id="picked" class="picked">Click a point: it and its {k} nearest neighbours among the points shown appear
here.</div>
<script>
const MAP = {data};
{draw}
drawMap(MAP, MAP, document.getElementById("map"), document.getElementById("tip"), document.getElementById("picked"))
  .then(() => {{ document.body.dataset.ready = "yes"; }});
</script></body></html>"""

SECTION = """<div class="maps">{maps}</div>
<div id="tip"><div class="thumb"></div><div class="caption"></div></div>
<script>
const MAPS = {maps_data}, PICTURES = {pictures};
{draw}
Promise.all(MAPS.map((map, i) => drawMap(map, PICTURES[map.pictures], document.getElementById("map-" + (i + 1)),
  document.getElementById("tip"), document.getElementById("picked-" + (i + 1)))))
  .then(() => {{ document.body.dataset.ready = "yes"; }});
</script>"""

ONE_OF_THE_MAPS = """<section><h3>{title}</h3><div id="map-{n}" class="map"></div>
<div id="picked-{n}" class="picked">Click a point: it and its {k} nearest neighbours appear here.</div></section>"""

MAPS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>{plotly}
<style>
 body {{ margin: 8px; font: 13px system-ui, sans-serif; color: #1f2937; }}{style}</style></head><body>
{section}
</body></html>"""


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
    figure = map_figure(result, title)
    if compact:
        figure.update_layout(showlegend=False, title_font_size=11, margin=dict(l=5, r=5, t=40, b=5))
    data = {**_points(result, figure), **hover_data(KINDS[result["kind"]].hover(items))}
    return PAGE.format(plotly=plotly_script(plotly_src), style=MAP_STYLE, data=_script_json(data),
                       k=len(data["neighbours"][0]), draw=DRAW_MAP)


def maps_document(entries, plotly_src: str | None = None) -> str:
    """Several maps side by side in one HTML document, plotly.js in it once (`plotly_src`: its URL; None:
    inside, so the file opens offline), each map with its items on hover and its neighbours on click.
    `entries`: (map result, items, title) as `map_document` takes them."""
    titles = " · ".join(title for _, _, title in entries)
    return MAPS_PAGE.format(title=html.escape(titles), plotly=plotly_script(plotly_src), style=MAP_STYLE,
                            section=maps_section(entries))


def maps_section(entries) -> str:
    """The maps of `maps_document` as a part of a page that loads plotly.js itself (and `MAP_STYLE`): the
    hand-out's. Maps of the same data set show the same held-out items — `map_run` draws its sample of the test
    split with a fixed seed — so they carry one sprite of the items between them."""
    maps, pictures, drawn_items = [], [], []
    for result, items, title in entries:
        figure = map_figure(result, "").update_layout(  # the title above it, in the page; the legend below
            title_text="", legend=dict(orientation="h", x=0, y=0, yanchor="top", itemsizing="constant"),
            margin=dict(l=5, r=5, t=10, b=5))
        same = next((i for i, drawn in enumerate(drawn_items) if _same_items(drawn, items)), None)
        if same is None:
            same = len(pictures)
            pictures.append(hover_data(KINDS[result["kind"]].hover(items)))
            drawn_items.append(items)
        maps.append({**_points(result, figure), "pictures": same})
    shown = [ONE_OF_THE_MAPS.format(n=n, title=html.escape(_shown_title(result, title)),
                                    k=len(result["neighbours"][0]))
             for n, (result, _, title) in enumerate(entries, 1)]
    return SECTION.format(maps="\n".join(shown), maps_data=_script_json(maps), pictures=_script_json(pictures),
                          draw=DRAW_MAP)


def map_figure(result: dict, title: str) -> go.Figure:
    """The map's figure, each point's customdata its row in the map, and no hover label of plotly's own: the
    document shows the item instead."""
    figure = umap_figure({**result, "indices": np.arange(len(result["labels"]))}, title)  # customdata = row
    return figure.update_traces(hovertemplate=None, hoverinfo="none")


def _points(result: dict, figure: go.Figure) -> dict:
    """What the script needs of a map besides its items: the figure, and each point's held-out image number,
    class and nearest neighbours (row, cosine similarity)."""
    return {"figure": json.loads(figure.to_json()), "image": [int(i) for i in result["indices"]],
            "caption": [result["class_names"][c] for c in result["labels"]],
            "neighbours": [[[int(j), round(float(s), 3)] for j, s in zip(rows, sims)]
                           for rows, sims in zip(result["neighbours"], result["similarities"])]}


def _shown_title(result: dict, title: str) -> str:
    if result["shown"] < result["total"]:
        return f"{title} — {result['shown']:,} of {result['total']:,} held-out {KINDS[result['kind']].items}"
    return title


def _same_items(a, b) -> bool:
    return len(a) == len(b) and np.array_equal(np.asarray(a), np.asarray(b))


def _script_json(data) -> str:
    """JSON to write inside a <script>: a "</" in a string would end the script early."""
    return json.dumps(data).replace("</", "<\\/")


def plotly_script(plotly_src: str | None = None) -> str:
    """The <script> that loads plotly.js: from `plotly_src`, or the library itself inside the page (offline)."""
    if plotly_src:
        return f'<script src="{html.escape(plotly_src)}"></script>'
    return f"<script>{PLOTLY_JS.read_text(encoding='utf-8')}</script>"


def iframe(document: str, height: int = 640) -> str:
    """The document inside an iframe (its scripts run there, apart from the page's)."""
    return (f'<iframe title="UMAP map" srcdoc="{html.escape(document, quote=True)}" '
            f'style="width:100%;height:{height}px;border:0"></iframe>')
