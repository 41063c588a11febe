import pytest
import torch

from workbench.models import create_encoder
from workbench.tasks import Progress, create_task
from workbench.tasks.inpainting import hole_masks, masked_mse


def test_the_centre_hole_is_the_middle_square_of_the_asked_side():
    mask = hole_masks(2, 32, "centre", 0.5, torch.Generator().manual_seed(0), "cpu")
    expected = torch.zeros(32, 32)
    expected[8:24, 8:24] = 1
    assert mask.shape == (2, 1, 32, 32) and torch.equal(mask[0, 0], expected) and torch.equal(mask[1, 0], expected)


def test_a_random_square_has_the_asked_side_inside_the_image():
    mask = hole_masks(50, 32, "random_square", 0.25, torch.Generator().manual_seed(0), "cpu")
    assert torch.equal(mask.sum(dim=(1, 2, 3)), torch.full((50,), 64.0))  # 8 × 8 pixels each
    rows, cols = mask[:, 0].amax(2), mask[:, 0].amax(1)                    # which rows / columns it covers
    assert torch.equal(rows.sum(1), torch.full((50,), 8.0)) and torch.equal(cols.sum(1), torch.full((50,), 8.0))
    assert len({tuple(r.nonzero().flatten().tolist()) for r in rows}) > 5  # it moves from image to image


def test_random_blocks_drop_whole_cells_and_the_square_holes_area_on_average():
    mask = hole_masks(400, 32, "random_blocks", 0.5, torch.Generator().manual_seed(0), "cpu")
    cells = mask[:, 0].unfold(1, 4, 4).unfold(2, 4, 4)                    # (B, 8, 8, 4, 4) cells of 4 × 4 px
    assert torch.equal(cells.amin(dim=(3, 4)), cells.amax(dim=(3, 4)))  # a cell goes whole or stays whole
    assert abs(mask.mean().item() - 0.25) < 0.01


def test_the_input_keeps_the_context_and_fills_the_hole_with_the_mean_colour(shapes):
    task = create_task("inpainting", create_encoder("small_cnn"), hole_kind="random_square")
    x = shapes(16)
    masked, target, mask = task.make_inputs(x, torch.Generator().manual_seed(3))
    keep = mask.expand_as(target) == 0
    assert torch.equal(masked[keep], target[keep])
    mean = target.mean(dim=(0, 2, 3))  # the batch's mean colour, the same everywhere in every hole
    hole = masked.permute(1, 0, 2, 3)[:, mask[:, 0] == 1]                  # (3, pixels in holes)
    assert torch.allclose(hole, mean[:, None].expand_as(hole), atol=1e-6)


def slow_normalized_patches(images, patch=8, eps=1e-2):
    """Every 8 × 8 patch of every channel at zero mean and unit variance, one patch at a time."""
    out = torch.empty_like(images)
    for i in range(0, images.shape[2], patch):
        for j in range(0, images.shape[3], patch):
            block = images[:, :, i:i + patch, j:j + patch]
            var = block.var(dim=(2, 3), unbiased=False, keepdim=True)
            out[:, :, i:i + patch, j:j + patch] = (block - block.mean(dim=(2, 3), keepdim=True)) / (var + eps).sqrt()
    return out


@pytest.mark.parametrize("normalized", [True, False])
def test_loss_is_the_hole_error_plus_a_small_weight_on_the_context_written_out(normalized, shapes):
    task = create_task("inpainting", create_encoder("small_cnn"), outside_weight=0.3,
                       normalized_target=normalized).double()
    masked, clean, mask = task.make_inputs(shapes(4).double(), torch.Generator().manual_seed(1))
    out = task.loss((masked, clean, mask), Progress())
    decoded = task.decoder(task.encoder(masked))
    prediction = decoded if normalized else torch.sigmoid(decoded)
    target = slow_normalized_patches(clean) if normalized else clean
    hole_sum, hole_n, rest_sum, rest_n = 0.0, 0, 0.0, 0
    for b in range(4):
        for i in range(32):
            for j in range(32):
                error = ((prediction[b, :, i, j] - target[b, :, i, j]) ** 2).sum().item()
                if mask[b, 0, i, j]:
                    hole_sum, hole_n = hole_sum + error, hole_n + 1
                else:
                    rest_sum, rest_n = rest_sum + error, rest_n + 1
    assert out.loss.item() == pytest.approx(hole_sum / hole_n + 0.3 * rest_sum / rest_n, rel=1e-9)


def test_the_model_sees_and_paints_the_lightness(shapes):
    task = create_task("inpainting", create_encoder("small_cnn")).eval()
    x = shapes(4)
    grey = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:]).expand_as(x)
    _, clean, _ = task.make_inputs(x, torch.Generator().manual_seed(0))
    assert torch.equal(clean[:, 0], clean[:, 1]) and torch.equal(clean[:, 1], clean[:, 2])
    assert torch.allclose(task.features(x), task.features(grey), atol=1e-5)


def test_masked_mse_of_a_hand_made_case():
    prediction, target = torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    target[0, :, 0, 0] = 1.0                  # error 3 (1 per channel) at one pixel
    mask = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    assert masked_mse(prediction, target, mask).item() == pytest.approx(1.5)       # (3 + 0) / 2 pixels
    assert masked_mse(prediction, target, 1 - mask).item() == pytest.approx(0.0)


def test_preview_fills_only_the_hole(shapes):
    task = create_task("inpainting", create_encoder("small_cnn")).eval()
    x = shapes(2)
    masked, _, mask = task.make_inputs(x, torch.Generator().manual_seed(7))
    rows = task.preview(x, torch.Generator().manual_seed(7), predict=True)
    for i, row in enumerate(rows):
        filled = row.images[2]
        keep = mask[i].expand_as(filled) == 0
        assert torch.equal(filled[keep], masked[i][keep])
        assert row.captions[0] == f"input, {mask[i].mean():.0%} removed"
