"""Step 1 of the page — the data: a built-in set (images or texts), a torchvision set or a folder of the user's
own images (typed, or uploaded as a zip), how it is read (resolution, grey, the share held out), what it holds,
and a few samples of every class: pictures of images, a table of texts.

A typed path is read only inside the folders the app was started with (`--data-root`); an uploaded zip is
unpacked, safely, into the app's own uploads folder.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import gradio as gr

from ..data import IMAGE_SIZES, available_builtins, load_dataset
from ..data.archive import unpack_zip
from ..data.check import check_folder, check_markdown
from ..data.kinds import IMAGE, TEXT
from ..data.roots import allowed_spec
from ..data.torchvision_sets import SETS, parse_spec
from ..engine.settings import TrainConfig, preset_data
from .errors import USER_ERRORS, shows_user_errors, warning
from .kinds import kind_values, show_by_kind
from .state import PageState

SAMPLES_PER_CLASS, CLASSES_SHOWN = 2, 20
T = TypeVar("T")


@dataclass
class DataControls:
    """What the later sections read: the data choice and how it is read."""
    data: gr.Dropdown
    image_size: gr.Number
    grayscale: gr.Checkbox
    test_fraction: gr.Slider

    @property
    def options(self) -> dict:
        """How the data is read: the controls by the name of the setting each holds (TrainConfig's), for an
        event's `inputs_kwargs`."""
        return {"image_size": self.image_size, "grayscale": self.grayscale, "test_fraction": self.test_fraction}

    @property
    def inputs(self) -> dict:
        """The data choice, then how it is read."""
        return {"data": self.data, **self.options}


def read_options(chosen: dict) -> dict:
    """How the page's values ask for the data to be read, typed as the data sets take it."""
    return dict(image_size=int(chosen["image_size"]), grayscale=bool(chosen["grayscale"]),
                test_fraction=float(chosen["test_fraction"]))


def checked_spec(state: PageState, spec: str) -> str:
    """The data box's text, refused (DataError) when it names a folder outside the app's data roots."""
    return allowed_spec(spec, (*state.data_roots, state.uploads), available_builtins())


# How each kind shows its samples: a gallery of captioned pictures, or rows of a table (class, text).
SAMPLES_AS = {IMAGE.name: lambda data, rows, names: [(IMAGE.picture(data.train_items[i]), name)
                                                     for i, name in zip(rows, names)],
              TEXT.name: lambda data, rows, names: [[name, text] for name, text in
                                                    zip(names, data.texts(data.train_items[rows]))]}


def samples(data) -> list:
    """A few training items of each class, as the data's kind shows them (`SAMPLES_AS`)."""
    rows, names = [], []
    for c, name in enumerate(data.class_names[:CLASSES_SHOWN]):
        per_class = SAMPLES_PER_CLASS if data.labelled else SAMPLES_PER_CLASS * CLASSES_SHOWN // 2
        picked = (data.train_labels == c).nonzero().flatten()[:per_class].tolist()
        rows, names = rows + picked, names + [name] * len(picked)
    return SAMPLES_AS[data.kind.name](data, rows, names)


def describe_data(state: PageState, spec: str, options: dict, download=False):
    """The data set's summary — for a folder, the whole check report (classes, sizes, modes, every file skipped
    and why) — the name of its kind, and samples of each class. `options`: how it is read (`read_options`);
    `download`: fetch a torchvision set that is not on disk."""
    spec = checked_spec(state, spec)
    data = load_dataset(spec, **options, download=bool(download) and parse_spec(spec) is not None)
    if Path(spec).is_dir():
        report = check_folder(spec, options["image_size"], options["test_fraction"])
        return f"{data.describe()}\n\n{check_markdown(report)}", data.kind.name, samples(data)
    return data.describe() + "".join(f"\n- {note}" for note in data.notes[:10]), data.kind.name, samples(data)


def unpacked_upload(state: PageState, zip_file: str) -> Path:
    """The uploaded zip, unpacked safely into a new folder of its own in the app's uploads folder."""
    stem = re.sub(r"[^\w.-]+", "_", Path(zip_file).stem)[:60] or "upload"
    target, n = state.uploads / stem, 2
    while target.exists():
        target, n = state.uploads / f"{stem}-{n}", n + 1
    return unpack_zip(zip_file, target)


def build_data_section(demo: gr.Blocks, state: PageState, beside: Callable[[], T]) -> tuple[DataControls, T]:
    """Lay out step 1 and wire it; `beside` lays out what sits under the data box (the quick demo), and what it
    returns is returned with the data controls."""
    with gr.Row():
        with gr.Column(scale=2):
            data = gr.Dropdown([(label, name) for name, label in available_builtins().items()],
                               value=preset_data(TrainConfig.task), allow_custom_value=True, label="Data set",
                               elem_id="data",
                               info=f"A built-in set of images or texts; the path of a folder of images (one "
                                    f"sub-folder per class, or flat: unlabelled); or NAME:ROOT for a torchvision "
                                    f"set under ROOT ({', '.join(SETS)}).")
            placed = beside()
        data_info = gr.Markdown(elem_id="data-info")
    with gr.Accordion("How the data is read — resolution, grey, held out — or upload a zip of images", open=False,
                      elem_id="data-options"):
        with gr.Row():
            image_size = gr.Number(TrainConfig.image_size, precision=0, minimum=IMAGE_SIZES[0],
                                   maximum=IMAGE_SIZES[1], label="Resolution (px)", elem_id="image-size", scale=1)
            test_fraction = gr.Slider(0.05, 0.5, value=TrainConfig.test_fraction, step=0.05, scale=2,
                                      label="Held out for the k-NN and probes", elem_id="test-fraction",
                                      info="of every class, where the data has no test/ folder")
            grayscale = gr.Checkbox(TrainConfig.grayscale, label="Grey", elem_id="grayscale", scale=1,
                                    info="read every image in grey")
            download = gr.Checkbox(False, label="Download if missing", elem_id="download", scale=1,
                                   info="a torchvision set not yet under ROOT, when the network allows")
            upload = gr.File(label="…or upload a zip of images", file_types=[".zip"], type="filepath",
                             elem_id="data-zip", height=120, scale=2)
    shown = {IMAGE.name: gr.Gallery(label="Samples, two per class", columns=10, height=260, elem_id="samples",
                                    allow_preview=False),
             TEXT.name: gr.Dataframe(headers=["class", "text"], label="Samples, two per class", wrap=True,
                                     interactive=False, visible=False, elem_id="text-samples", max_height=320,
                                     column_widths=["15%", "85%"])}
    kind = gr.State(IMAGE.name)  # the data's kind: which samples are shown
    controls = DataControls(data, image_size, grayscale, test_fraction)

    def show_data(**chosen):
        try:
            info, data_kind, items = describe_data(state, chosen["data"], read_options(chosen), chosen["download"])
        except USER_ERRORS as error:
            return warning(error), *([] for _ in shown), gr.skip()
        return info, *kind_values(shown, data_kind, items), data_kind

    @shows_user_errors
    def unpack(zip_file):
        """The uploaded zip becomes the data choice."""
        return str(unpacked_upload(state, zip_file)) if zip_file else gr.skip()

    shown_inputs = {**controls.inputs, "download": download}
    outputs = [data_info, *shown.values(), kind]
    for control in shown_inputs.values():
        show_by_kind(control.change(show_data, inputs_kwargs=shown_inputs, outputs=outputs,
                                    api_name="data" if control is data else False), shown, kind)
    upload.upload(unpack, upload, data, api_name="upload_zip")
    show_by_kind(demo.load(show_data, inputs_kwargs=shown_inputs, outputs=outputs, api_name=False), shown, kind)
    return controls, placed
