"""Step 5's look inside a text run's transformer: the attention a sentence the user types draws, layer by
layer (the heads averaged)."""

import gradio as gr

from ...inspection import plots
from ...inspection.text import attention
from ..errors import shows_user_errors
from ..state import PageState
from .pick import RunPick, chosen_run


def build_attention_panel(state: PageState, pick: RunPick) -> None:
    """Lay out the sentence and its attention maps, and wire them."""
    with gr.Row():
        sentence = gr.Textbox("the big dog quickly chased the small cat . then the small cat bit the old fox .",
                              label="Sentence (a text run's transformer)", scale=4, elem_id="attention-text")
        button = gr.Button("Show its attention", scale=1, elem_id="attention")
    plot = gr.Plot(plots.placeholder_figure("Which tokens each token reads, in every layer."),
                   label="Attention", elem_id="attention-plot")

    @shows_user_errors
    def show_attention(**chosen):
        return plots.attention_figure(attention(chosen_run(state.manager, chosen["run"]), chosen["sentence"]))

    button.click(show_attention, inputs_kwargs={"run": pick.run, "sentence": sentence}, outputs=plot,
                 api_name="attention")
