"""One suite over every registered task: a new task module is tested by being registered."""

import dataclasses
import math

import pytest
import torch

from workbench.data.shapes import generate_shapes
from workbench.models import create_encoder
from workbench.tasks import create_task, explanation, list_tasks, make_params, task_class

NAMES = [info.name for info in list_tasks()]


def images(n=8):
    x, _ = generate_shapes(n, seed=0)
    return x.float() / 255


@pytest.mark.parametrize("name", NAMES)
def test_step_gives_a_finite_loss_and_a_gradient_to_every_parameter(name):
    torch.manual_seed(0)
    task = create_task(name, create_encoder("small_cnn"))
    out = task.training_step(images(), torch.Generator().manual_seed(0))
    assert out.loss.dim() == 0 and math.isfinite(out.loss.item())
    out.loss.backward()
    missing = [n for n, p in task.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.any())]
    assert not missing, f"no gradient reaches {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_preview_rows_hold_images_with_one_caption_each(name):
    task = create_task(name, create_encoder("small_cnn"))
    rows = task.preview(images(3), torch.Generator().manual_seed(0))
    assert len(rows) == 3
    for row in rows:
        assert row.images.dim() == 4 and row.images.shape[1:] == (3, 32, 32)
        assert len(row.captions) == len(row.images)
        assert row.images.min() >= 0 and row.images.max() <= 1


@pytest.mark.parametrize("name", NAMES)
def test_preview_is_what_training_draws_for_the_same_seed(name):
    task = create_task(name, create_encoder("small_cnn"))
    x = images(4)
    first = task.preview(x, torch.Generator().manual_seed(5))
    second = task.preview(x, torch.Generator().manual_seed(5))
    assert all(torch.equal(a.images, b.images) for a, b in zip(first, second))


@pytest.mark.parametrize("name", NAMES)
def test_info_card_and_params_are_complete(name):
    cls = task_class(name)
    info = cls.info
    assert info.name == name and cls.__module__.endswith("." + name)  # one name everywhere
    assert all([info.family, info.title, info.summary, info.paper, info.paper_url.startswith("https://"),
                info.look_for])
    assert len(explanation(name)) > 200
    for spec in dataclasses.fields(cls.Params):
        meta = spec.metadata
        assert meta["help"], f"{name}.{spec.name} needs a help text"
        if meta["low"] is not None:
            assert meta["low"] <= spec.default <= meta["high"]


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trips(name):
    a = create_task(name, create_encoder("small_cnn", seed=1))
    b = create_task(name, create_encoder("small_cnn", seed=2))
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    x = images(4)
    assert torch.equal(a.encoder(x), b.encoder(x))


def test_bad_parameters_are_refused_with_the_reason():
    cls = task_class(NAMES[0])
    with pytest.raises(ValueError, match="has no parameter 'nonsense'"):
        make_params(cls, {"nonsense": 1})
    first = dataclasses.fields(cls.Params)[0]
    with pytest.raises(ValueError, match="outside its range"):
        make_params(cls, {first.name: first.metadata["high"] * 10 + 1})
    with pytest.raises(ValueError, match="must be a"):
        make_params(cls, {first.name: "lots"})
