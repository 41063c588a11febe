"""Step 5's label efficiency: the linear probe and fine-tuning with a few labels (1 %, 10 %, 100 %)."""

import gradio as gr

from ...evaluation.probes import FRACTIONS, FineTuning
from ...inspection import plots
from ...inspection.probe_run import label_efficiency_of_run
from ...inspection.report import label_efficiency_markdown
from ..errors import shows_user_errors
from ..state import PageState
from .pick import RunPick, chosen_data, chosen_run


def label_efficiency(state: PageState, chosen: dict, progress) -> tuple:
    """The plot and the table of accuracy against the labelled share, over the label draws asked for."""
    if not chosen["fractions"]:
        raise ValueError("Pick at least one share of labels.")
    tuning = FineTuning(steps=int(chosen["steps"])) if chosen["steps"] else None
    table = label_efficiency_of_run(chosen_run(state.manager, chosen["run"]), data=chosen_data(state, chosen["data"]),
                                    fractions=sorted(chosen["fractions"]), draws=int(chosen["draws"]),
                                    fine_tuning=tuning, progress=progress)
    return plots.label_efficiency_figure(table), label_efficiency_markdown(table)


def build_efficiency_panel(state: PageState, pick: RunPick) -> None:
    """Lay out the label-efficiency settings, plot and table, and wire them."""
    with gr.Row():
        fractions = gr.CheckboxGroup([(f"{f:.0%}", f) for f in FRACTIONS], value=list(FRACTIONS),
                                     label="Labelled share of the training items", elem_id="fractions")
        draws = gr.Slider(1, 5, value=3, step=1, label="Label draws", info="mean ± std over this many draws")
        steps = gr.Slider(0, 1000, value=FineTuning.steps, step=10, label="Fine-tuning steps",
                          info="0: linear probe only")
    button = gr.Button("Measure label efficiency", elem_id="efficiency")
    plot = gr.Plot(plots.placeholder_figure("Accuracy with 1 %, 10 % and 100 % of the labels."),
                   label="Label efficiency", elem_id="efficiency-plot")
    table = gr.Markdown(elem_id="efficiency-table")

    @shows_user_errors
    def efficiency(progress=gr.Progress(), **chosen):
        return label_efficiency(state, chosen, lambda done, total, what: progress((done, total), desc=what))

    button.click(efficiency, inputs_kwargs={**pick.inputs, "fractions": fractions, "draws": draws, "steps": steps},
                 outputs=[plot, table], api_name="label_efficiency")
