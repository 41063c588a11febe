import pytest
import torch
import torch.nn.functional as F

from workbench.models import create_encoder
from workbench.tasks import Progress, create_task
from workbench.tasks.colorization import (cell_centres, lab_to_rgb, quantise_ab, rebalancing_weights,
                                          rgb_to_lab, split_colour)


def as_image(*colours):
    return torch.tensor(colours, dtype=torch.float64).T[None, :, None, :]  # (1, 3, 1, N)


def test_lab_of_the_primaries_and_white_are_the_textbook_values():
    lab = rgb_to_lab(as_image([1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [0, 0, 0]))[0, :, 0].T
    expected = torch.tensor([[53.24, 80.09, 67.20], [87.73, -86.18, 83.18], [32.30, 79.19, -107.86],
                             [100.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(lab, expected, atol=0.01)


def test_lab_round_trips_to_rgb():
    rgb = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-9)


def test_the_grey_input_is_the_lightness_of_the_colour_target(shapes):
    task = create_task("colorization", create_encoder("small_cnn"))
    rows = task.preview(shapes(3), torch.Generator().manual_seed(0))
    for row in rows:
        grey, target, _ = row.images
        # CIE lightness written out from the luminance Y of linear sRGB: L = 116·Y^(1/3) − 16 (Y > 0.008856)
        linear = torch.where(target > 0.04045, ((target + 0.055) / 1.055) ** 2.4, target / 12.92)
        y = 0.2126729 * linear[0] + 0.7151522 * linear[1] + 0.0721750 * linear[2]
        lightness = torch.where(y > 0.008856, 116 * y ** (1 / 3) - 16, 903.3 * y)
        assert torch.allclose(grey, (lightness / 100).expand(3, -1, -1), atol=1e-4)
    grey, classes = task.make_inputs(shapes(3), torch.Generator().manual_seed(0))
    assert torch.equal(grey, torch.stack([r.images[0] for r in rows]))  # the preview is what training sees
    assert classes.shape == (3, 8, 8)  # a quarter of 32 px, as the paper
    painted = torch.stack([r.images[2] for r in rows])  # the target column: the classes the loss is given
    assert torch.equal(painted, task.paint_cells(grey, classes).clamp(0, 1))
    assert (split_colour(painted, 11)[1] == classes).float().mean() > 0.95  # read back: the same classes


def test_colour_classes_are_the_cells_of_the_pooled_ab_values():
    centres = cell_centres(11)
    assert torch.equal(quantise_ab(centres.T[None, :, None, :], 11)[0, 0], torch.arange(121))
    image = torch.zeros(1, 3, 4, 4)  # one cell of the colour map
    image[:, 0] = 1.0  # pure red everywhere: a = 80.1, b = 67.2
    _, classes = split_colour(image, 11)
    a_cell, b_cell = int((80.09 + 110) / 20), int((67.20 + 110) / 20)
    assert classes.flatten().tolist() == [a_cell * 11 + b_cell]


def test_rebalancing_weights_of_a_hand_made_histogram():
    counts = torch.tensor([3.0, 1.0, 0.0, 0.0])  # two colours ever seen: Q' = 2, p̃ = (3/4, 1/4)
    raw = torch.tensor([1 / (0.5 * 0.75 + 0.5 / 2), 1 / (0.5 * 0.25 + 0.5 / 2)])
    expected = raw / (0.75 * raw[0] + 0.25 * raw[1])
    assert torch.allclose(rebalancing_weights(counts, 0.5)[:2], expected)
    assert torch.allclose(rebalancing_weights(counts, 1.0)[:2], torch.ones(2))            # λ = 1: plain CE
    assert torch.allclose(rebalancing_weights(counts, 0.0)[:2], torch.tensor([2 / 3, 2.0]))  # ∝ 1 / p̃


def test_loss_is_the_rebalanced_cross_entropy_written_out(shapes):
    task = create_task("colorization", create_encoder("small_cnn"), bins=6).double()
    task.colour_counts += torch.arange(36, dtype=torch.float64)  # colours seen before this batch
    grey, target = task.make_inputs(shapes(2).double(), torch.Generator().manual_seed(0))
    before = task.colour_counts.clone()
    out = task.loss((grey, target), Progress())
    counts = before + torch.bincount(target.flatten(), minlength=36)
    assert torch.equal(task.colour_counts, counts)  # training counts the batch's colours into p̃
    p = counts / counts.sum()
    weights = 1 / (0.5 * p + 0.5 / (counts > 0).sum())
    weights = weights / (p * weights).sum()
    log_p = task.decoder(task.encoder.feature_map(grey)).log_softmax(1)
    total = sum(-weights[q] * log_p[b, q, i, j] for b, i, j in
                [(b, i, j) for b in range(2) for i in range(8) for j in range(8)]
                for q in [target[b, i, j]])
    assert out.loss.item() == pytest.approx(total.item() / (2 * 8 * 8), rel=1e-9)
    task.eval()
    task.loss((grey, target), Progress())
    assert torch.equal(task.colour_counts, counts)  # an evaluation leaves p̃ alone


def test_features_see_only_lightness(shapes):
    task = create_task("colorization", create_encoder("small_cnn")).eval()
    x = shapes(4)
    lightness = rgb_to_lab(x)[:, :1]
    neutral = lab_to_rgb(torch.cat([lightness, torch.zeros_like(x[:, 1:])], 1))  # the same lightness, no colour
    assert torch.allclose(task.features(neutral), task.features(x), atol=1e-4)
    assert not torch.allclose(task.features(x.flip(3)), task.features(x), atol=1e-4)


def test_a_confident_prediction_colourises_with_the_centre_of_its_cell():
    task = create_task("colorization", create_encoder("small_cnn"), bins=11).eval()
    red = torch.zeros(1, 3, 32, 32)
    red[:, 0] = 1.0
    grey, classes = split_colour(red, 11)
    logits = F.one_hot(classes, 121).permute(0, 3, 1, 2).float() * 50   # (1, Q, 8, 8), sure of red's cell
    task.decoder.forward = lambda feature_map: logits
    colourised = rgb_to_lab(task.colourise(grey))
    centre = cell_centres(11)[classes[0, 0, 0]]
    assert torch.allclose(colourised[0, 1:, 16, 16], centre, atol=0.5)
    assert torch.allclose(colourised[0, 0], rgb_to_lab(red)[0, 0], atol=0.5)
