import math

import pytest
import torch

from workbench.models import create_encoder
from workbench.tasks import create_task
from workbench.tasks.relative_position import NAMES, drop_colours
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig

# Every colour change off and no resizing: the patches are the image's own pixels.
PLAIN = {"resolution": 32, "crop_min_scale": 1.0, "color_drop_probability": 0.0, "patch_color_jitter": 0.0,
         "patch_grayscale_probability": 0.0}


def coordinate_images(n, size=32):
    """Images whose red channel is the pixel's row and green its column (in units of 1/31)."""
    axis = torch.arange(size).float() / (size - 1)
    x = torch.zeros(n, 3, size, size)
    x[:, 0] = axis[:, None]
    x[:, 1] = axis[None, :]
    return x


def test_the_label_names_the_offset_of_b_from_a():
    task = create_task("relative_position", create_encoder("small_cnn"), gap=2, jitter=1, pairs_per_image=3,
                       **PLAIN)
    _, a, b, labels = task.make_inputs(coordinate_images(100), torch.Generator().manual_seed(0))
    assert b.shape == (100, 3, 3, 8, 8) and labels.shape == (100, 3)
    assert set(labels.flatten().tolist()) == set(range(8))
    assert all(len(set(row)) == 3 for row in labels.tolist())  # three different neighbours of one A
    row_a, col_a = (a[:, None, 0, 0, 0] * 31).round(), (a[:, None, 1, 0, 0] * 31).round()  # top-left pixels
    row_b, col_b = (b[:, :, 0, 0, 0] * 31).round(), (b[:, :, 1, 0, 0] * 31).round()
    dys, dxs = (row_b - row_a).flatten().tolist(), (col_b - col_a).flatten().tolist()
    for y, dy, dx in zip(labels.flatten().tolist(), dys, dxs):
        name = NAMES[y]
        expected_dy = -1 if "above" in name else 1 if "below" in name else 0
        expected_dx = -1 if "left" in name else 1 if "right" in name else 0
        # one cell (10 px) apart in each direction named, give or take the jitter of both patches (1 px each)
        assert abs(dy - 10 * expected_dy) <= 2 and abs(dx - 10 * expected_dx) <= 2


def test_a_is_the_centre_cell_and_the_patches_are_cut_with_the_gap():
    task = create_task("relative_position", create_encoder("small_cnn"), gap=2, jitter=0, **PLAIN)
    x = coordinate_images(4)
    _, a, b, _ = task.make_inputs(x, torch.Generator().manual_seed(0))
    assert a.shape == (4, 3, 8, 8) and b.shape == (4, 8, 3, 8, 8)  # cells of 10 px (1 px margin), less the gap
    assert torch.equal(a, x[:, :, 12:20, 12:20])  # margin 1 + cell 10 + gap / 2


def test_a_gap_that_leaves_patches_too_small_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="raise the resolution"):
        create_task("relative_position", create_encoder("small_cnn"), resolution=32, gap=4)


def test_colour_dropping_keeps_one_channel_and_flattens_the_others(shapes):
    patches = shapes(16)[:, :, :8, :8]
    dropped = drop_colours(patches, torch.Generator().manual_seed(0), probability=1.0)
    kept = (dropped == patches).flatten(2).all(2)                        # (N, 3)
    flat = ((dropped - 0.5).abs() < 0.06).flatten(2).all(2)
    assert (kept.sum(1) >= 1).all() and (flat.sum(1) >= 2).all()
    assert (kept | flat).all()
    assert torch.equal(drop_colours(patches, torch.Generator().manual_seed(0), probability=0.0), patches)


def test_a_classifier_that_knows_nothing_scores_ln_8(shapes):
    task = create_task("relative_position", create_encoder("small_cnn"))
    last = task.classifier[-1]
    torch.nn.init.zeros_(last.weight), torch.nn.init.zeros_(last.bias)
    out = task.training_step(shapes(8), torch.Generator().manual_seed(0))
    assert math.isclose(out.loss.item(), math.log(8), rel_tol=1e-6)


def test_a_short_run_on_shapes_teaches_the_encoder_something(tmp_path):
    run = TrainingRun(TrainConfig(data="shapes", task="relative_position", epochs=4, device="cpu"), tmp_path)
    status = run.run()
    assert status.state == "finished", status.message
    knn = [e["knn_top1"] for e in status.evals]
    assert knn[-1] > knn[0] + 0.05, knn  # whole-image features, never trained on, sort shapes better
    last = status.steps[-20:]
    assert sum(s["position_accuracy"] for s in last) / len(last) > 2 / 8  # well above chance, 1/8
