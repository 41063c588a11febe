"""Section 5's nearest neighbours: a held-out image's, or an uploaded image's, nearest held-out images in the
run's feature space."""

from functools import lru_cache
from pathlib import Path

import gradio as gr
import torch

from ...data import load_run_data
from ...data.folder import DECODE_ERRORS, read_image, why_unreadable
from ...data.kinds import picture
from ...engine.checkpoints import load_task
from ...evaluation.metrics import embed, nearest_neighbours
from ..errors import shows_user_errors
from ..state import PageState
from .pick import RunPick, checkpoint_time, chosen_data, chosen_run

NEIGHBOURS = 8


@lru_cache(maxsize=4)
def embedded(run_dir: Path, data: str | None, checkpoint_written: float):
    """The run's task, its features of the held-out images and the data set (cached per checkpoint)."""
    task, config = load_task(run_dir)
    dataset = load_run_data(config, data)
    return task, embed(task, dataset.test_images), dataset


def neighbours_gallery(state: PageState, chosen: dict) -> list:
    """The query (held-out image number `index`, or the `upload`), then its nearest held-out images, captioned
    with their cosine similarity and label."""
    run_dir = chosen_run(state.manager, chosen["run"])
    task, bank, dataset = embedded(run_dir, chosen_data(state, chosen["data"]), checkpoint_time(run_dir))
    upload, index = chosen["upload"], int(chosen["index"] or 0)
    if upload:
        try:
            query = torch.from_numpy(read_image(Path(upload), dataset.image_size)[0]).permute(2, 0, 1)
        except DECODE_ERRORS as error:
            raise ValueError(f"That image cannot be read: {why_unreadable(Path(upload), error)}") from error
        caption, features = "your image", embed(task, query[None])
    else:
        if not 0 <= index < len(bank):
            raise ValueError(f"Pick a held-out image number from 0 to {len(bank) - 1}.")
        query = dataset.test_images[index]
        caption, features = f"#{index}: {dataset.class_names[dataset.test_labels[index]]}", bank[index:index + 1]
    similarity, rows = nearest_neighbours(bank, features, NEIGHBOURS + (0 if upload else 1))
    found = [(s, r) for s, r in zip(similarity[0].tolist(), rows[0].tolist()) if upload or r != index]
    return [(picture(query), f"query — {caption}")] + [
        (picture(dataset.test_images[r]), f"{s:.2f} · {dataset.class_names[dataset.test_labels[r]]}")
        for s, r in found[:NEIGHBOURS]]


def build_neighbours_panel(state: PageState, pick: RunPick) -> None:
    """Lay out the query and the gallery of its neighbours, and wire them."""
    gr.Markdown("### Nearest neighbours")
    with gr.Row():
        index = gr.Number(0, precision=0, minimum=0, label="Held-out image number", elem_id="query-index")
        upload = gr.Image(type="filepath", label="…or your own image", height=140, elem_id="query-upload")
        button = gr.Button("Find neighbours", elem_id="neighbours")
    gallery = gr.Gallery(label="Query, then its nearest neighbours (cosine similarity, label)", columns=9,
                         height=200, allow_preview=False, elem_id="neighbours-gallery")

    @shows_user_errors
    def find_neighbours(**chosen):
        return neighbours_gallery(state, chosen)

    button.click(find_neighbours, inputs_kwargs={**pick.inputs, "index": index, "upload": upload}, outputs=gallery,
                 api_name="neighbours")
