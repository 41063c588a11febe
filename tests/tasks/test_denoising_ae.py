import pytest
import torch

from workbench import augment
from workbench.models import create_encoder
from workbench.tasks import Progress, create_task
from workbench.tasks.denoising_ae import corrupt
from workbench.tasks.parts.decoders import denormalise_image_patches, normalise_image_patches


def test_masking_noise_blacks_out_the_asked_fraction_of_pixels_and_leaves_the_rest():
    x = torch.rand(64, 3, 32, 32) * 0.9 + 0.05  # no pixel is black already
    noisy = corrupt(x, "masking", 0.3, torch.Generator().manual_seed(0))
    hit = (noisy == 0).all(1)                    # a pixel loses all three channels at once
    assert torch.equal((noisy == 0).any(1), hit)
    assert abs(hit.float().mean().item() - 0.3) < 0.01
    assert torch.equal(noisy.permute(1, 0, 2, 3)[:, ~hit], x.permute(1, 0, 2, 3)[:, ~hit])


def test_salt_and_pepper_sets_pixels_to_black_or_white_half_and_half():
    x = torch.full((64, 3, 32, 32), 0.5)
    noisy = corrupt(x, "salt_pepper", 0.2, torch.Generator().manual_seed(0))
    black, white = (noisy == 0).all(1), (noisy == 1).all(1)
    assert abs((black | white).float().mean().item() - 0.2) < 0.01
    assert abs(black.float().mean().item() - white.float().mean().item()) < 0.01
    assert (noisy[~(black | white)[:, None].expand_as(noisy)] == 0.5).all()


def test_gaussian_noise_has_the_asked_standard_deviation():
    x = torch.full((64, 3, 32, 32), 0.5)  # far from 0 and 1: the clamp hardly cuts at std 0.1
    noisy = corrupt(x, "gaussian", 0.1, torch.Generator().manual_seed(0))
    assert abs((noisy - x).mean().item()) < 0.002 and abs((noisy - x).std().item() - 0.1) < 0.002


def test_zero_noise_is_the_identity(shapes):
    x = shapes(4)
    for kind in ("gaussian", "masking", "salt_pepper"):
        assert torch.equal(corrupt(x, kind, 0.0, torch.Generator().manual_seed(0)), x)


def test_the_input_is_the_grey_clean_crop_with_pixels_blacked_out(shapes):
    task = create_task("denoising_ae", create_encoder("small_cnn"), noise_kind="masking")
    x = shapes(4)
    noisy, clean = task.make_inputs(x, torch.Generator().manual_seed(2))
    crop = augment.random_resized_crop(x, torch.Generator().manual_seed(2), scale=(0.6, 1.0))
    luma = 0.299 * crop[:, 0] + 0.587 * crop[:, 1] + 0.114 * crop[:, 2]
    assert torch.allclose(clean, luma[:, None].expand(-1, 3, -1, -1), atol=1e-6)
    kept = (noisy != 0).all(1, keepdim=True).expand_as(noisy)
    assert torch.equal(noisy[kept], clean[kept])
    colour = create_task("denoising_ae", create_encoder("small_cnn"), grey=False)
    assert torch.equal(colour.make_inputs(x, torch.Generator().manual_seed(2))[1], crop)


def slow_normalized_patches(images, patch=8, eps=1e-2):
    """Every patch of every channel at zero mean and unit variance, one patch at a time."""
    out = torch.empty_like(images)
    for i in range(0, images.shape[2], patch):
        for j in range(0, images.shape[3], patch):
            block = images[:, :, i:i + patch, j:j + patch]
            mean = block.mean(dim=(2, 3), keepdim=True)
            var = block.var(dim=(2, 3), unbiased=False, keepdim=True)
            out[:, :, i:i + patch, j:j + patch] = (block - mean) / (var + eps).sqrt()
    return out


def test_patch_normalisation_written_out_and_undone(shapes):
    x = shapes(3).double()
    assert torch.allclose(normalise_image_patches(x), slow_normalized_patches(x), atol=1e-9)
    assert torch.allclose(denormalise_image_patches(normalise_image_patches(x), x), x, atol=1e-9)
    flat = torch.full((1, 3, 16, 16), 0.7, dtype=torch.float64)
    assert normalise_image_patches(flat).abs().max() < 1e-12  # a flat patch stays flat


@pytest.mark.parametrize("normalized", [True, False])
def test_loss_is_the_mean_squared_error_to_the_target_written_out(normalized, shapes):
    task = create_task("denoising_ae", create_encoder("small_cnn"), normalized_target=normalized).double()
    noisy, clean = task.make_inputs(shapes(4).double(), torch.Generator().manual_seed(2))
    out = task.loss((noisy, clean), Progress())
    target = slow_normalized_patches(clean) if normalized else clean
    decoded = task.decoder(task.encoder(noisy))
    reconstruction = decoded if normalized else torch.sigmoid(decoded)
    by_hand = sum(((reconstruction[b] - target[b]) ** 2).sum().item() for b in range(4)) / target.numel()
    assert out.loss.item() == pytest.approx(by_hand, rel=1e-9)
    copy = slow_normalized_patches(noisy) if normalized else noisy
    assert out.metrics["copy_mse"].item() == pytest.approx(((copy - target) ** 2).mean().item(), rel=1e-9)


def test_features_see_the_grey_image(shapes):
    task = create_task("denoising_ae", create_encoder("small_cnn")).eval()
    x = shapes(4)
    grey = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:]).expand_as(x)
    assert torch.allclose(task.features(x), task.features(grey), atol=1e-5)


def test_overfitting_one_batch_brings_the_error_below_handing_back_the_noisy_input(one_batch):
    """The registry suite's one-batch run: the loss falls, and below copy_mse — it denoises, not only copies."""
    last = one_batch("denoising_ae").steps[-1]
    assert last["loss"] < last["copy_mse"]
