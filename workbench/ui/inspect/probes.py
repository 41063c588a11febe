"""Step 5's probes: the k-NN (its settings), the linear probe and the k-NN's confusion matrix, for the
trained encoder against its random init and raw pixels."""

from dataclasses import dataclass

import gradio as gr

from ...evaluation.probes import KnnSettings
from ...inspection import plots
from ...inspection.probe_run import probe_run
from ...inspection.report import probe_markdown
from ..state import PageState
from .pick import chosen_data, chosen_run


@dataclass
class ProbesPanel:
    inputs: dict           # the k-NN's settings, by name
    button: gr.Button      # measure (and map: the section wires it)
    outputs: list          # the table, the confusion matrix


def measured(state: PageState, chosen: dict) -> tuple:
    """The probes' table and the k-NN's confusion matrix of the picked run, and the numbers behind them."""
    knn = KnnSettings(int(chosen["knn_k"]), float(chosen["knn_temperature"]), chosen["knn_metric"])
    result = probe_run(chosen_run(state.manager, chosen["run"]), data=chosen_data(state, chosen["data"]), knn=knn)
    return probe_markdown(result), plots.confusion_figure(result["knn"], result["class_names"]), result


def build_probes_panel() -> ProbesPanel:
    """Lay out the Measure button, the results, and, folded, the k-NN's settings and confusion matrix."""
    button = gr.Button("Measure and map", variant="primary", elem_id="analyse")
    table = gr.Markdown(elem_id="probe")
    with gr.Accordion("k-NN settings", open=False, elem_id="knn-settings"):
        knn_k = gr.Slider(1, 200, value=KnnSettings.k, step=1, label="k-NN: k", elem_id="knn-k")
        with gr.Row():
            knn_temperature = gr.Number(KnnSettings.temperature, label="k-NN: temperature",
                                        info="each neighbour votes exp(similarity / T)")
            knn_metric = gr.Radio(["cosine", "euclidean"], value=KnnSettings.metric, label="k-NN: metric",
                                  info="euclidean: one vote each")
    with gr.Accordion("The k-NN's confusion matrix", open=False, elem_id="confusion"):
        confusion = gr.Plot(plots.placeholder_figure("The k-NN confusion matrix appears here."),
                            label="k-NN confusion", elem_id="confusion-plot")
    return ProbesPanel({"knn_k": knn_k, "knn_temperature": knn_temperature, "knn_metric": knn_metric}, button,
                       [table, confusion])
