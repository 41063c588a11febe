"""Step 5 of the page — inspect a representation: measure it with labels (k-NN, linear probe, label
efficiency), map it, find an item's neighbours, look at a text model's attention, export it. One module per panel, each laying out and wiring
its own components; what they share is the run and data picked at the top (`pick.RunPick`). What the section
shares with the rest of the page is the `PageState` (which runs exist, which one is training) and the run
picked in the training section's table."""

import gradio as gr

from ...inspection.mapview import PLOTLY_JS
from ..data_section import DataControls
from ..errors import shows_user_errors
from ..quick_demo import wire_quick_demo
from ..state import PageState
from ..training_section import Training
from .attention import build_attention_panel
from .efficiency import build_efficiency_panel
from .evolution import build_evolution_panel
from .export import build_export_panel
from .map import build_map_panel, map_html
from .neighbours import build_neighbours_panel
from .probes import build_probes_panel, measured
from .pick import build_run_pick


def build_inspection_section(demo: gr.Blocks, state: PageState, training: Training, data: DataControls,
                             quick_demo: tuple[gr.Button, gr.Markdown], steps: gr.Tabs) -> None:
    """Lay out step 5 inside the current Blocks and wire it: the measurement and the map side by side, the other
    panels folded below. A run picked in step 4's table is opened here, and step 1's quick demo
    (its button and message, reading `data`) ends here with its table and map, the page turned to this step."""
    gr.set_static_paths([PLOTLY_JS])  # that one file of the installed plotly package, for the map's iframe
    with gr.Row():
        with gr.Column(scale=2):
            pick = build_run_pick(state, training.saved_run)
            probes = build_probes_panel()
        with gr.Column(scale=3):
            maps = build_map_panel(state, pick)

    @shows_user_errors
    def analyse(**chosen):
        """The probes, then the map: one press measures and draws."""
        return analysed(chosen)[1:]

    def analysed(chosen: dict) -> tuple:
        """The probes' numbers, then what the page shows of them: their table and confusion matrix, the map."""
        table, confusion, result = measured(state, chosen)
        return result, table, confusion, map_html(state, chosen)

    analyse_inputs, analyse_outputs = {**pick.inputs, **probes.inputs, **maps.inputs}, [*probes.outputs, maps.plot]
    probes.button.click(analyse, inputs_kwargs=analyse_inputs, outputs=analyse_outputs, api_name="analyse")
    wire_quick_demo(state, *quick_demo, data.inputs, analysed, analyse_inputs, analyse_outputs, training.timer,
                    steps)
    for label, build in (("How the embedding changed during training", build_evolution_panel),
                         ("Few labels: linear probe and fine-tuning", build_efficiency_panel),
                         ("Nearest neighbours", build_neighbours_panel),
                         ("Attention inside a text run's transformer", build_attention_panel),
                         ("Export", build_export_panel)):
        with gr.Accordion(label, open=False):
            build(state, pick)
