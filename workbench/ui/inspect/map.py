"""Step 5's map: UMAP of the held-out items in the trained encoder, its random init or the data kind's
no-learning baseline — raw pixels, a bag of words — (or all three side by side), each point's image or text on
hover and its neighbours on click."""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import gradio as gr

from ...inspection.maps import MapSettings, map_run
from ...inspection.mapview import PLOTLY_JS, iframe, map_document, map_title
from ..errors import shows_user_errors
from ..state import PageState
from .pick import RunPick, checkpoint_time, chosen_data, chosen_run

PLOTLY_URL = f"/gradio_api/file={PLOTLY_JS}"  # served as a static file (see `build_inspection_section`)
REPRESENTATIONS = ["trained", "random_init", "baseline"]  # "baseline": the data kind's first no-learning one


@dataclass
class MapPanel:
    inputs: dict           # the map's settings, by MapSettings's names
    plot: gr.HTML


@lru_cache(maxsize=16)
def mapped(run_dir: Path, data: str | None, settings: MapSettings, checkpoint_written: float) -> dict:
    """`map_run`, cached per run checkpoint, data set and settings: a map is computed once."""
    return map_run(run_dir, data=data, settings=settings)


def map_settings(chosen: dict) -> list[MapSettings]:
    """The maps the page's settings ask for: one, or (representation "all") one per representation."""
    shown = REPRESENTATIONS if chosen["representation"] == "all" else [chosen["representation"]]
    return [MapSettings(each, int(chosen["dimensions"]), int(chosen["n_neighbors"]), float(chosen["min_dist"]),
                        chosen["metric"], int(chosen["sample"]), chosen["colour"]) for each in shown]


def map_html(state: PageState, chosen: dict) -> str:
    """One map, or the trained encoder, its random init and raw pixels side by side — each its own document, so
    hovering and clicking work in each."""
    run_dir, data = chosen_run(state.manager, chosen["run"]), chosen_data(state, chosen["data"])
    shown = map_settings(chosen)
    documents = []
    for settings in shown:
        result = mapped(run_dir, data, settings, checkpoint_time(run_dir))
        documents.append(map_document(result, result["items"], map_title(result), plotly_src=PLOTLY_URL,
                                      compact=len(shown) > 1))
    if len(documents) == 1:
        return iframe(documents[0])
    return ('<div style="display:flex;gap:6px">' + "".join(
        f'<div style="flex:1;min-width:0">{iframe(document, height=600)}</div>' for document in documents)
        + "</div>")


def map_controls() -> dict:
    """The map's settings, by MapSettings's names (and "representation" "all": the three side by side)."""
    with gr.Row():
        representation = gr.Radio([("trained encoder", "trained"), ("random init", "random_init"),
                                   ("no learning: raw pixels, or a bag of words", "baseline"),
                                   ("all three, side by side", "all")],
                                  value="trained", label="Representation", elem_id="map-representation")
        colour = gr.Radio([("class", "label"), ("k-NN right / wrong", "knn"), ("k-means cluster", "cluster")],
                          value="label", label="Colour by", elem_id="map-colour")
        dimensions = gr.Radio([2, 3], value=2, label="Dimensions", elem_id="map-dimensions")
    with gr.Row():
        n_neighbors = gr.Slider(2, 100, value=15, step=1, label="n_neighbors",
                                info="larger keeps more of the global layout")
        min_dist = gr.Slider(0.0, 1.0, value=0.1, step=0.05, label="min_dist",
                             info="smaller packs the clusters tighter")
        metric = gr.Radio(["cosine", "euclidean"], value="cosine", label="Metric")
        sample = gr.Slider(100, 10000, value=1000, step=100, label="Points at most",
                           info="held-out items, drawn per class")
    return {"representation": representation, "colour": colour, "dimensions": dimensions,
            "n_neighbors": n_neighbors, "min_dist": min_dist, "metric": metric, "sample": sample}


def build_map_panel(state: PageState, pick: RunPick) -> MapPanel:
    """Lay out the map's settings and the map, and wire Redraw."""
    with gr.Accordion("Map settings", open=False):
        settings = map_controls()
        redraw = gr.Button("Redraw the map", elem_id="redraw-map")
    plot = gr.HTML("<p>The map appears here once you press Measure. Rest the pointer on a point to see "
                   "its image or text; click it to see its nearest neighbours.</p>", elem_id="umap-map", js_on_load=None)
    gr.Markdown("*Read a UMAP map with care: the sizes of clusters and the gaps between them are not distances. "
                "The accuracies above are measured in the original feature space, not on the map.*")

    @shows_user_errors
    def draw_map(**chosen):
        return map_html(state, chosen)

    redraw.click(draw_map, inputs_kwargs={**pick.inputs, **settings}, outputs=plot, api_name="map")
    return MapPanel(settings, plot)
