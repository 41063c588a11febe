"""Step 5's export: the run's embeddings for the Embedding Projector, offline HTML plots, or its weights."""

import tempfile

import gradio as gr

from ...inspection.export import FORMATS, export_run
from ..errors import shows_user_errors
from ..state import PageState
from .pick import RunPick, chosen_run


def build_export_panel(state: PageState, pick: RunPick) -> None:
    """Lay out the format and the files, and wire Export."""
    with gr.Row():
        export_format = gr.Dropdown(list(FORMATS), value="projector", label="Format", elem_id="export-format",
                                    info="projector: loads in projector.tensorflow.org; html: plots that open "
                                         "offline; weights: safetensors + a loading snippet")
        button = gr.Button("Export", elem_id="export")
    exported = gr.File(label="Files", file_count="multiple", elem_id="exported")

    @shows_user_errors
    def export(**chosen):
        run_dir = chosen_run(state.manager, chosen["run"])
        out = tempfile.mkdtemp(prefix=f"{run_dir.name}-{chosen['format']}-")  # in the temp folder: Gradio may serve it
        return [str(path) for path in export_run(run_dir, chosen["format"], out)]

    button.click(export, inputs_kwargs={"run": pick.run, "format": export_format}, outputs=exported, api_name="export")
