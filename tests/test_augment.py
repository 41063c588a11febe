import torch

from workbench import augment
from workbench.data.shapes import generate_shapes


def batch(n=16):
    images, _ = generate_shapes(n, seed=0)
    return images.float() / 255


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_crop_keeps_shape_and_range_and_differs_per_sample():
    x = batch()
    out = augment.random_resized_crop(x, gen(), scale=(0.2, 0.5))
    assert out.shape == x.shape
    assert out.min() >= 0 and out.max() <= 1
    same_image = torch.stack([x[0]] * 8)
    crops = augment.random_resized_crop(same_image, gen())
    assert (crops[0] - crops[1:]).abs().amax(dim=(1, 2, 3)).min() > 0.05  # every sample got its own crop


def test_full_crop_without_flip_is_the_identity():
    x = batch()
    out = augment.random_resized_crop(x, gen(), scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=0.0)
    assert torch.allclose(out, x, atol=1e-5)


def test_certain_flip_mirrors_the_image():
    x = batch()
    out = augment.random_resized_crop(x, gen(), scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=1.0)
    assert torch.allclose(out, x.flip(3), atol=1e-5)


def test_same_seed_same_views():
    x = batch()
    a = augment.color_jitter(augment.random_resized_crop(x, gen(7)), gen(7))
    b = augment.color_jitter(augment.random_resized_crop(x, gen(7)), gen(7))
    assert torch.equal(a, b)


def test_grayscale_with_certainty_makes_channels_equal():
    out = augment.random_grayscale(batch(), gen(), p=1.0)
    assert torch.allclose(out[:, 0], out[:, 1]) and torch.allclose(out[:, 1], out[:, 2])


def test_color_jitter_of_zero_strength_changes_nothing_and_full_strength_changes_colours():
    x = batch()
    assert torch.allclose(augment.color_jitter(x, gen(), 0, 0, 0, 0, p=1.0), x, atol=1e-5)
    out = augment.color_jitter(x, gen(), 0.8, 0.8, 0.8, 0.2, p=1.0)
    assert out.min() >= 0 and out.max() <= 1
    assert (out - x).abs().mean() > 0.05


def test_hue_rotation_keeps_grey_pixels_grey():
    grey = torch.full((4, 3, 8, 8), 0.5)
    out = augment.color_jitter(grey, gen(), 0, 0, 0, 0.5, p=1.0)
    assert torch.allclose(out, grey, atol=1e-5)
