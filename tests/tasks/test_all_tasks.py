"""One suite over every registered task: a new task module is tested by being registered."""

import dataclasses
import math
import re

import numpy as np
import pytest
import torch
from PIL import ImageFont

from workbench.inspection.preview import plain
from workbench.tasks import (CARD_SECTIONS, Progress, PretextTask, TextPreviewRow, build_task, explanation,
                             list_tasks, make_params, task_class)
from workbench.tasks.parts.views import ViewParams
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig

NAMES = [info.name for info in list_tasks()]
IMAGE_TASKS = [name for name in NAMES if task_class(name).kind == "image"]
JOINT_EMBEDDING = [name for name in NAMES if issubclass(task_class(name).Params, ViewParams)]


def build(name, seed=0) -> PretextTask:
    cls = task_class(name)
    return build_task(name, cls.encoders[0] if cls.encoders else "small_cnn", seed)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
@pytest.mark.parametrize("name", NAMES)
def test_step_gives_a_finite_loss_and_a_gradient_to_the_encoder_and_every_trained_part(name, precision, items):
    """In float32, and under bfloat16 autocast as the engine runs on GPUs and on CPUs with native bfloat16
    (every task's own tensors — queues, mask tokens, centres — must take the autocast outputs)."""
    task = build(name)
    progress = Progress(3, 10, 1, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        out = task.training_step(items(name, 8), torch.Generator().manual_seed(0), progress, torch.arange(8))
    assert out.loss.dim() == 0 and math.isfinite(out.loss.item())
    out.loss.backward()
    missing = [n for n, p in task.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.any())]
    assert not missing, f"no gradient reaches {missing}"
    assert any(p.grad is not None and p.grad.any() for p in task.encoder.parameters())
    task.before_optimizer_step(progress)  # the hooks too (SwAV's may zero its prototypes' gradient here)
    task.after_optimizer_step(progress)


@pytest.mark.parametrize("name", NAMES)
def test_training_draws_nothing_from_torch_global_generator(name, items):
    """The page's threads share torch's global generator: an epoch's start, a step and its hooks must draw
    every random number from the generator they are given (or one of their own), so that a run repeats its seed
    however busy the page is."""
    task, progress = build(name), Progress(3, 10, 1, 2)
    before = torch.get_rng_state()
    task.on_epoch_start(progress, lambda transform=lambda x: x: task.features(transform(items(name, 16))).detach())
    task.training_step(items(name, 8), torch.Generator().manual_seed(0), progress, torch.arange(8)).loss.backward()
    task.before_optimizer_step(progress)
    task.after_optimizer_step(progress)
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("predict", [False, True], ids=["inputs", "predictions"])
@pytest.mark.parametrize("name", NAMES)
def test_preview_rows_show_every_item_with_what_the_model_is_asked(name, predict, items):
    """Images in range with one caption each; or a text's lines with one cell per token, its input and target
    among them (and the model's answers when asked)."""
    task = build(name).eval()
    rows = task.preview(items(name, 3), torch.Generator().manual_seed(0), predict=predict)
    assert len(rows) == 3
    for row in rows:
        if isinstance(row, TextPreviewRow):
            lines = dict(row.lines)
            assert {"input", "target", *(["model"] if predict else [])} <= set(lines)
            assert len({len(cells) for cells in lines.values()}) == 1 and len(lines["input"]) >= 5
            assert any(lines["target"])
            continue
        assert len(row.images) == len(row.captions) >= 2
        for image in row.images:
            assert image.dim() == 3 and image.shape[0] == 3 and 8 <= image.shape[1] <= 64
            assert image.min() >= 0 and image.max() <= 1


@pytest.mark.parametrize("name", IMAGE_TASKS)
def test_every_preview_caption_is_drawn_in_glyphs_the_font_has(name, shapes):
    """A character Pillow's bundled font lacks is drawn as an empty box (colorization's "8 × 8" was)."""
    font = ImageFont.load_default(size=12)
    missing = np.asarray(font.getmask("\uffff"))  # what the font draws for a character it does not have
    rows = build(name).eval().preview(shapes(3), torch.Generator().manual_seed(0), predict=True)
    drawn = {c for row in rows for caption in row.captions for c in plain(caption) if not c.isspace()}
    boxes = [c for c in drawn if np.array_equal(np.asarray(font.getmask(c)), missing)]
    assert not boxes, f"{name}'s captions hold {boxes}, which the font draws as boxes"


@pytest.mark.parametrize("name", NAMES)
def test_make_inputs_and_preview_are_reproducible_for_a_seed(name, items):
    task = build(name)
    x = items(name, 4)

    def flat(inputs):
        if torch.is_tensor(inputs):
            return [inputs]
        if isinstance(inputs, dict):
            inputs = list(inputs.values())
        return [t for item in inputs for t in flat(item)] if isinstance(inputs, (list, tuple)) else []

    first = flat(task.make_inputs(x, torch.Generator().manual_seed(5), torch.arange(4)))
    second = flat(task.make_inputs(x, torch.Generator().manual_seed(5), torch.arange(4)))
    assert first and all(torch.equal(a, b) for a, b in zip(first, second))
    rows_a = task.preview(x, torch.Generator().manual_seed(5))
    rows_b = task.preview(x, torch.Generator().manual_seed(5))
    if isinstance(rows_a[0], TextPreviewRow):
        assert [row.lines for row in rows_a] == [row.lines for row in rows_b]
    else:
        assert all(torch.equal(a, b) for ra, rb in zip(rows_a, rows_b) for a, b in zip(ra.images, rb.images))


@pytest.mark.parametrize("name", NAMES)
def test_info_card_preset_and_params_are_complete(name):
    cls = task_class(name)
    info = cls.info
    assert info.name == name and cls.__module__.endswith("." + name)  # one name everywhere
    assert all([info.family, info.title, info.summary, info.paper, info.paper_url.startswith("https://"),
                info.look_for])
    card = explanation(name)
    for section in CARD_SECTIONS:
        assert re.search(rf"\*\*{section}[^*]*\*\*", card), f"the card of {name} lacks '{section}'"
    assert "$$" in card and info.paper_url in card
    for preset in (cls.preset, cls.gpu_preset, *([cls.real_data_preset] if cls.real_data_preset else [])):
        assert preset.epochs >= 1 and preset.batch_size >= 2 and 0 < preset.learning_rate < 1
        assert preset.optimizer in ("adamw", "sgd")
    make_params(cls, cls.real_data_params)  # names and values it has
    if cls.real_data_preset or cls.real_data_params:  # the card says what runs on photos, and why
        presets = re.search(r"\*\*Its presets\.\*\*(.*?)(\n\n|$)", card, re.S)
        assert presets, f"the card of {name} must say which preset runs on real data, and why"
        if cls.real_data_preset:
            assert f"{cls.real_data_preset.epochs} epochs" in presets.group(1)
    for spec in dataclasses.fields(cls.Params):
        meta = spec.metadata
        assert meta["help"], f"{name}.{spec.name} needs a help text"
        if meta["low"] is not None:
            assert meta["low"] <= spec.default <= meta["high"]
        if meta["choices"] is not None:
            assert spec.default in meta["choices"]


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trips_and_rebuilds_the_same_features(name, items):
    a, b = build(name, seed=1), build(name, seed=2)
    a.training_step(items(name, 8), torch.Generator().manual_seed(0), Progress(), torch.arange(8))  # state moves
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    x = items(name, 4, seed=3)
    assert torch.equal(a.features(x), b.features(x))
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key


@pytest.mark.parametrize("name", NAMES)
def test_loss_falls_when_overfitting_one_batch(name, one_batch):
    """Every task must be able to learn one fixed batch; how far, and on what, tests/tasks/conftest.py's
    ONE_BATCH says (a task it does not name must halve its loss)."""
    run = one_batch(name)
    case, values = run.case, run.series()
    early, late = sum(values[case.early:case.early + 5]) / 5, sum(values[-5:]) / 5
    assert late < case.ratio * early - case.fall, (f"{name}'s {case.metric} fell from {early:.4g} to {late:.4g}; "
                                                   "declare how it learns one batch in ONE_BATCH", values)


def test_bad_parameters_are_refused_with_the_reason():
    cls = task_class("simclr")
    with pytest.raises(ValueError, match="has no parameter 'nonsense'"):
        make_params(cls, {"nonsense": 1})
    with pytest.raises(ValueError, match="outside its range"):
        make_params(cls, {"temperature": 1e6})
    with pytest.raises(ValueError, match="must be a"):
        make_params(cls, {"temperature": "lots"})


@pytest.mark.parametrize("name", JOINT_EMBEDDING)
def test_one_epoch_on_shapes_spreads_the_embeddings_out(name, tmp_path):
    """A random network points every image in nearly the same direction (feature spread ≈ 0.1). One epoch of a
    joint-embedding method through the engine, with its own preset, must spread the images out — read off the
    collapse monitor that the page shows. (Its k-NN needs more epochs: see benchmarks/tasks_table.py.)"""
    status = TrainingRun(TrainConfig(data="shapes", task=name, epochs=1, device="cpu"), tmp_path).run()
    assert status.state == "finished", status.message
    before, after = status.evals[0]["feature_spread"], status.evals[-1]["feature_spread"]
    assert after > 2.5 * before, (before, after)
