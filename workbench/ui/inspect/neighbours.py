"""Step 5's nearest neighbours in the run's feature space: of a held-out item (its number), of an uploaded
image, or of a sentence the user types — shown as the run's kind shows items: a gallery of images, a table of
texts."""

from functools import lru_cache
from pathlib import Path

import gradio as gr
import torch

from ...data import load_run_data
from ...data.folder import DECODE_ERRORS, read_image, why_unreadable
from ...data.kinds import IMAGE, TEXT
from ...engine.checkpoints import load_task
from ...evaluation.metrics import embed, nearest_neighbours
from ...inspection.text import nearest_texts
from ..errors import shows_user_errors
from ..kinds import kind_values, show_by_kind
from ..state import PageState
from .pick import RunPick, checkpoint_time, chosen_data, chosen_run

NEIGHBOURS = 8


@lru_cache(maxsize=4)
def embedded(run_dir: Path, data: str | None, checkpoint_written: float):
    """The run's task, its features of the held-out items and the data set (cached per checkpoint)."""
    task, config = load_task(run_dir)
    dataset = load_run_data(config, data)
    return task, embed(task, dataset.test_items), dataset


def held_out_query(bank, dataset, chosen: dict) -> tuple[int, list[tuple[float, int]]]:
    """The held-out item number the user picked and its nearest other held-out items: (similarity, row)."""
    index = int(chosen["index"] or 0)
    if not 0 <= index < len(bank):
        raise ValueError(f"Pick a held-out {dataset.kind.items[:-1]} number from 0 to {len(bank) - 1}.")
    similarity, rows = nearest_neighbours(bank, bank[index:index + 1], NEIGHBOURS + 1)
    return index, [(s, r) for s, r in zip(similarity[0].tolist(), rows[0].tolist()) if r != index][:NEIGHBOURS]


def image_neighbours(run_dir, task, bank, dataset, chosen: dict) -> list:
    """The query (the `upload`, or held-out image number `index`), then its nearest held-out images, captioned
    with their cosine similarity and label."""
    if chosen["upload"]:
        try:
            query = torch.from_numpy(read_image(Path(chosen["upload"]), dataset.image_size)[0]).permute(2, 0, 1)
        except DECODE_ERRORS as error:
            raise ValueError(f"That image cannot be read: {why_unreadable(Path(chosen['upload']), error)}") from error
        similarity, rows = nearest_neighbours(bank, embed(task, query[None]), NEIGHBOURS)
        caption, found = "your image", list(zip(similarity[0].tolist(), rows[0].tolist()))
    else:
        index, found = held_out_query(bank, dataset, chosen)
        query, caption = dataset.test_items[index], f"#{index}: {dataset.class_names[dataset.test_labels[index]]}"
    return [(IMAGE.picture(query), f"query — {caption}")] + [
        (IMAGE.picture(dataset.test_items[r]), f"{s:.2f} · {dataset.class_names[dataset.test_labels[r]]}")
        for s, r in found]


def text_neighbours(run_dir, task, bank, dataset, chosen: dict) -> list[list]:
    """Rows (similarity, class, text): the query — the typed `sentence`, or held-out text number `index` — then
    its nearest held-out texts."""
    sentence = (chosen["sentence"] or "").strip()
    if sentence:
        found = nearest_texts(run_dir, sentence, NEIGHBOURS, chosen["data_spec"])
        return [["your text", "", sentence]] + [[f"{s:.2f}", name, text] for text, s, name in found]
    index, found = held_out_query(bank, dataset, chosen)
    texts = dataset.texts(dataset.test_items[[index] + [r for _, r in found]])
    names = [dataset.class_names[dataset.test_labels[r]] for r in [index] + [r for _, r in found]]
    return [[f"query #{index}", names[0], texts[0]]] + [[f"{s:.2f}", name, text] for (s, _), name, text in
                                                         zip(found, names[1:], texts[1:])]


NEIGHBOURS_AS = {IMAGE.name: image_neighbours, TEXT.name: text_neighbours}  # how each kind shows them


def neighbours(state: PageState, chosen: dict) -> tuple[str, list]:
    """The picked run's data kind, and the query with its nearest neighbours as that kind shows them."""
    run_dir = chosen_run(state.manager, chosen["run"])
    data = chosen_data(state, chosen["data"])
    task, bank, dataset = embedded(run_dir, data, checkpoint_time(run_dir))
    shown = NEIGHBOURS_AS[dataset.kind.name](run_dir, task, bank, dataset, {**chosen, "data_spec": data})
    return dataset.kind.name, shown


def build_neighbours_panel(state: PageState, pick: RunPick) -> None:
    """Lay out the query and its neighbours (a gallery of images, a table of texts), and wire them."""
    with gr.Row():
        index = gr.Number(0, precision=0, minimum=0, label="Held-out item number", elem_id="query-index")
        upload = gr.Image(type="filepath", label="…or your own image", height=140, elem_id="query-upload")
        sentence = gr.Textbox("", label="…or a sentence of your own (a text run)", lines=2, elem_id="query-text",
                              placeholder="the big dog quickly chased the small cat .")
        button = gr.Button("Find neighbours", elem_id="neighbours")
    shown = {IMAGE.name: gr.Gallery(label="Query, then its nearest neighbours (cosine similarity, label)", columns=9,
                                    height=200, allow_preview=False, elem_id="neighbours-gallery"),
             TEXT.name: gr.Dataframe(headers=["similarity", "class", "text"], label="Query, then its nearest texts",
                                     wrap=True, interactive=False, visible=False, elem_id="neighbours-texts",
                                     column_widths=["12%", "13%", "75%"])}
    kind = gr.State(IMAGE.name)  # the run's kind: which of the two shows its neighbours

    @shows_user_errors
    def find_neighbours(**chosen):
        run_kind, found = neighbours(state, chosen)
        return *kind_values(shown, run_kind, found), run_kind

    show_by_kind(button.click(find_neighbours, inputs_kwargs={**pick.inputs, "index": index, "upload": upload,
                                                              "sentence": sentence},
                              outputs=[*shown.values(), kind], api_name="neighbours"), shown, kind)
