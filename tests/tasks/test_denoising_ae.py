import pytest
import torch

from workbench import augment
from workbench.data.shapes import generate_shapes
from workbench.models import create_encoder
from workbench.tasks import Progress, create_task
from workbench.tasks.denoising_ae import corrupt


def shapes(n, seed=0):
    return generate_shapes(n, seed=seed)[0].float() / 255


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


def test_zero_noise_is_the_identity():
    x = shapes(4)
    for kind in ("gaussian", "masking", "salt_pepper"):
        assert torch.equal(corrupt(x, kind, 0.0, torch.Generator().manual_seed(0)), x)


def test_the_target_is_the_clean_crop_and_the_loss_its_mean_squared_error():
    task = create_task("denoising_ae", create_encoder("small_cnn"), noise_kind="masking").double()
    x = shapes(4).double()
    noisy, clean = task.make_inputs(x, torch.Generator().manual_seed(2))
    assert torch.equal(clean, augment.random_resized_crop(x, torch.Generator().manual_seed(2), scale=(0.6, 1.0)))
    kept = (noisy != 0).all(1, keepdim=True).expand_as(noisy)
    assert torch.equal(noisy[kept], clean[kept])  # the input is the target with pixels blacked out
    out = task.loss((noisy, clean), Progress())
    reconstruction = task.reconstruct(noisy)
    by_hand = sum(((reconstruction[b] - clean[b]) ** 2).sum().item() for b in range(4)) / clean.numel()
    assert out.loss.item() == pytest.approx(by_hand, rel=1e-9)
    assert out.metrics["input_mse"].item() == pytest.approx(((noisy - clean) ** 2).mean().item(), rel=1e-9)


def test_the_reconstruction_error_falls_below_the_noise_when_overfitting_one_batch():
    torch.manual_seed(0)
    task = create_task("denoising_ae", create_encoder("small_cnn", seed=0))
    inputs = task.make_inputs(shapes(16), torch.Generator().manual_seed(0))
    optimizer = torch.optim.AdamW(task.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        out = task.loss(inputs, Progress())
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5
    assert losses[-1] < out.metrics["input_mse"].item()  # it denoises, not only copies
