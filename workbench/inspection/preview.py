"""What a task feeds its model — and what the model answers — for the page and the command line: a picture for
an image task, an HTML table of tokens for a text task (`DRAWN_AS`, the one place that tells them apart).

    python -m workbench preview --task jigsaw --out jigsaw.png [--run RUN_DIR]
"""

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..data import load_dataset
from ..data.kinds import IMAGE, TEXT
from ..engine.checkpoints import load_task
from ..engine.settings import default_encoder, task_defaults
from ..tasks import build_task
from .textview import preview_table

PREVIEW_IMAGES = 6


# Pillow's bundled font has no arrow, times sign or dashes: "applied → predicted" is drawn "applied -> predicted".
PLAIN = str.maketrans({"→": "->", "×": "x", "–": "-", "—": "-"})


def plain(caption: str) -> str:
    """The caption in characters the bundled font draws (a missing one is drawn as an empty box)."""
    return caption.translate(PLAIN)


def wrap(caption: str, draw: ImageDraw.ImageDraw, font, width: int) -> list[str]:
    """The caption's words in lines no wider than `width` pixels (a longer word stands alone on its line), so
    that no caption runs under its neighbour's."""
    lines = []
    for word in caption.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def preview_grid(rows, picture, gap=8, line_height=15) -> np.ndarray:
    """One picture of a whole preview: a row per source item, each cell captioned underneath. `picture`: how the
    data kind draws an item. Cells are as large as the largest picture; smaller ones (multi-crop's local views)
    sit centred in theirs."""
    pictures = [[picture(image) for image in row.images] for row in rows]
    cell = max(max(drawn.shape[:2]) for row in pictures for drawn in row)
    columns = max(len(row.images) for row in rows)
    draw, font = ImageDraw.Draw(Image.new("RGB", (1, 1))), ImageFont.load_default(size=12)
    captions = [[wrap(plain(caption), draw, font, cell + gap // 2) for caption in row.captions]
                for row in rows]
    caption_height = 3 + line_height * max((len(lines) for row in captions for lines in row), default=0)
    grid = Image.new("RGB", (columns * (cell + gap) + gap, len(rows) * (cell + caption_height + gap) + gap),
                     "white")
    draw = ImageDraw.Draw(grid)
    for r, (row_pictures, row_captions) in enumerate(zip(pictures, captions)):
        top = gap + r * (cell + caption_height + gap)
        for c, (cell_picture, lines) in enumerate(zip(row_pictures, row_captions)):
            left = gap + c * (cell + gap)
            grid.paste(Image.fromarray(cell_picture),
                       (left + (cell - cell_picture.shape[1]) // 2, top + (cell - cell_picture.shape[0]) // 2))
            for i, line in enumerate(lines):
                draw.text((left + cell / 2, top + cell + 3 + i * line_height), line, fill="#374151", font=font,
                          anchor="mt")
    return np.asarray(grid)


def task_preview(data_spec: str, task_name: str, params: dict, seed: int, run_dir=None,
                 **data_options) -> np.ndarray | str:
    """The preview of `task_name` on random items of the data (read with `data_options`, as training reads it:
    image_size, grayscale, test_fraction), drawn by the task's own `make_inputs` with its defaults on that data
    (overridden by `params`) and drawn as its kind draws (`DRAWN_AS`): a picture (H, W, 3) of images, an HTML
    table of texts. With a run folder of that task, the trained model's answers are drawn too, with the run's
    own settings."""
    data = load_dataset(data_spec, **data_options)
    if run_dir is not None:
        task, config = load_task(run_dir)
        if config["task"] != task_name:
            raise ValueError(f"{run_dir} trained {config['task']}, not {task_name}")
    else:
        encoder = default_encoder(task_name, torch.device("cpu"))
        task = build_task(task_name, encoder, 0, **{**task_defaults(task_name, data_spec), **params}).eval()
    if data.kind.name != task.kind:
        raise ValueError(f"{task_name} trains on {task.kind} data, and {data.name} holds {data.kind.items}")
    gen = torch.Generator().manual_seed(int(seed))
    pick = torch.randperm(len(data.train_items), generator=gen)[:PREVIEW_IMAGES]
    with torch.no_grad():
        rows = task.preview(data.kind.model_input(data.train_items[pick]), gen, predict=run_dir is not None)
    return DRAWN_AS[task.kind](rows)


# How each kind of item draws a preview's rows: images as one picture, texts as tables of tokens.
DRAWN_AS = {IMAGE.name: lambda rows: preview_grid(rows, IMAGE.picture), TEXT.name: preview_table}


def save_preview(drawn: np.ndarray | str, path) -> None:
    """A drawn preview to a file: a picture as PNG, a table as an HTML page."""
    if isinstance(drawn, str):
        Path(path).write_text(f'<!doctype html><meta charset="utf-8">{drawn}', encoding="utf-8")
    else:
        Image.fromarray(drawn).save(path)
