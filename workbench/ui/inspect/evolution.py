"""Step 5's evolution: a map of the random-init network and of each epoch kept in the run's history, each
laid out from the one before, played as an animation."""

from functools import lru_cache
from pathlib import Path

import gradio as gr

from ...inspection import plots
from ...inspection.evolution import evolution
from ...inspection.mapview import iframe
from ..errors import shows_user_errors
from ..state import PageState
from .map import PLOTLY_URL
from .pick import RunPick, checkpoint_time, chosen_run


@lru_cache(maxsize=4)
def evolved(run_dir: Path, points: int, checkpoint_written: float) -> dict:
    """`evolution`, cached per run checkpoint and number of points."""
    return evolution(run_dir, sample=points)


def build_evolution_panel(state: PageState, pick: RunPick) -> None:
    """Lay out the evolution's settings and its animated map, and wire them."""
    with gr.Row():
        points = gr.Slider(100, 3000, value=600, step=100, label="Points", scale=3,
                           info="held-out items, drawn per class")
        button = gr.Button("Map every saved epoch", elem_id="evolution", scale=1)
    animation = gr.HTML("<p>Maps of the random-init network and of each epoch kept in the run's history "
                        "(1, 2, 4, 8, … and the last five), each laid out from the one before so that they "
                        "compare: press ▶ or move the slider to watch the classes separate.</p>",
                        elem_id="evolution-map")

    @shows_user_errors
    def play_evolution(**chosen):
        run_dir = chosen_run(state.manager, chosen["run"])
        figure = plots.evolution_figure(evolved(run_dir, int(chosen["points"]), checkpoint_time(run_dir)))
        return iframe(figure.to_html(include_plotlyjs=PLOTLY_URL, full_html=True, auto_play=False), height=640)

    button.click(play_evolution, inputs_kwargs={"run": pick.run, "points": points}, outputs=animation,
                 api_name="evolution")
