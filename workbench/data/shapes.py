"""Shapes: a built-in data set generated from a seed, made to teach invariance.

Every image shows one shape drawn with a random colour, size, position, tilt and background gradient. The
colour and position change far more from image to image than the shape does, so raw pixels (and a random
network) sort images by colour, not by shape: their k-NN accuracy sits near chance (0.21 and 0.15). A
representation scores well only once it has learned *shape* and ignores the rest, which is what an SSL method
should learn.

The stored images hold no pixel noise on purpose. Noise baked into an image is a fingerprint that every view
of it inherits, and matching two views by their shared noise is easier than by their shape: SimCLR learned the
noise (k-NN 0.24) instead of the shapes. Nuisances that should vary belong in the augmentations, drawn per view.

Drawn with tensor maths rather than PIL so that thousands of images take a fraction of a second: each shape is
an inside/outside test on a grid of coordinates, evaluated for a whole batch at once and anti-aliased by
2x2 super-sampling.
"""

import math

import torch
import torch.nn.functional as F

from .pixels import lab_to_rgb, rgb_to_lab

SHAPE_NAMES = (
    "circle", "ring", "triangle", "square", "star",
    "cross", "crescent", "heart", "half-disc", "arrow",
)


def _polygon(x, y, sides, phase=0.0):
    """Inside test of a regular polygon with circumradius 1 (the polar form of its edge)."""
    theta = torch.atan2(y, x) + phase
    sector = 2 * math.pi / sides
    edge = math.cos(math.pi / sides) / torch.cos(torch.remainder(theta, sector) - sector / 2)
    return x.hypot(y) <= edge


def _star(x, y, points=5, inner=0.45):
    theta = torch.atan2(y, x) + math.pi / 2
    sector = 2 * math.pi / points
    t = (torch.remainder(theta, sector) - sector / 2).abs() / (sector / 2)  # 0 at a tip, 1 between tips
    return x.hypot(y) <= inner + (1 - inner) * (1 - t) ** 1.6


def _inside(shape, x, y):
    """Boolean mask of `shape` on coordinates x, y (shape centred at 0, fits in the unit disc)."""
    r = x.hypot(y)
    if shape == "circle":
        return r <= 0.9
    if shape == "ring":
        return (r <= 0.95) & (r >= 0.55)
    if shape == "triangle":
        return _polygon(x, y + 0.15, 3, phase=math.pi / 2)
    if shape == "square":
        return (x.abs() <= 0.7) & (y.abs() <= 0.7)
    if shape == "star":
        return _star(x, y)
    if shape == "cross":
        return ((x.abs() <= 0.28) & (y.abs() <= 0.9)) | ((x.abs() <= 0.9) & (y.abs() <= 0.28))
    if shape == "crescent":
        return (r <= 0.9) & ((x - 0.45).hypot(y) >= 0.7)
    if shape == "heart":
        u, v = x * 1.15, -y * 1.15 + 0.25  # the classic implicit heart, flipped so its point faces down
        return (u * u + v * v - 1) ** 3 - u * u * v ** 3 <= 0
    if shape == "half-disc":
        return (r <= 0.95) & (y <= 0.25)
    if shape == "arrow":
        shaft = (x.abs() <= 0.2) & (y >= -0.1) & (y <= 0.9)
        head = (y <= 0.0) & (y >= -0.9) & (x.abs() <= (y + 0.9) * 0.9)  # tip points up
        return shaft | head
    raise ValueError(f"unknown shape {shape!r}; choose from {', '.join(SHAPE_NAMES)}")


def _random_colours(n, gen):
    """Saturated random colours via a random hue, with random value and saturation."""
    hue = torch.rand(n, generator=gen) * 6
    sat = 0.4 + 0.6 * torch.rand(n, generator=gen)
    val = 0.35 + 0.65 * torch.rand(n, generator=gen)
    return _hsv_to_rgb(hue, sat, val)


def _hsv_to_rgb(hue, sat, val):
    """(n,) hue in [0, 6), saturation and value in [0, 1] → (n, 3) RGB in [0, 1]."""
    k = (torch.tensor([5.0, 3.0, 1.0]) + hue[:, None]) % 6
    return val[:, None] - val[:, None] * sat[:, None] * (torch.minimum(k, 4 - k).clamp(0, 1))


def _class_colours(labels, gen):
    """Painted shapes: each kind its own hue, ten hues around the a, b plane of CIE Lab (±10°), at a random
    chroma and a random lightness L* drawn alike for every kind: a grey image keeps only L*, so it tells the
    hue through the shape alone. (Hues of equal HSV value differ in lightness, yellow far lighter than blue:
    drawn in HSV, the grey images gave the kind away — a random network's k-NN on them 0.31 instead of 0.23.)"""
    n = len(labels)
    angle = torch.deg2rad(labels * 36.0 + (torch.rand(n, generator=gen) - 0.5) * 20).double()
    lightness = (35 + 45 * torch.rand(n, generator=gen)).double()
    chroma = (0.6 + 0.4 * torch.rand(n, generator=gen)).double() * _most_chroma(lightness, angle)
    return lab_to_rgb(_lab(lightness, chroma, angle))[:, :, 0, 0].float()


def _lab(lightness, chroma, angle):
    """(n,) L*, chroma and hue angle → (n, 3, 1, 1) CIE Lab."""
    return torch.stack([lightness, chroma * angle.cos(), chroma * angle.sin()], dim=1)[:, :, None, None]


def _most_chroma(lightness, angle, limit=70.0, steps=16):
    """The largest chroma up to `limit` whose colour the sRGB cube holds at this lightness and hue (bisection)."""
    low, high = torch.zeros_like(lightness), torch.full_like(lightness, limit)
    for _ in range(steps):
        middle = (low + high) / 2
        lab = _lab(lightness, middle, angle)
        inside = (rgb_to_lab(lab_to_rgb(lab)) - lab).abs().amax(dim=(1, 2, 3)) < 0.5  # lab_to_rgb clips
        low, high = torch.where(inside, middle, low), torch.where(inside, high, middle)
    return low


def generate_shapes(count, seed=0, image_size=32, max_tilt_degrees=30.0, batch=2048, painted=False):
    """Draw `count` shape images, balanced over classes, reproducibly from `seed`.

    Returns (images uint8 (N, 3, S, S), labels int64 (N,)). The tilt is limited to ±`max_tilt_degrees` so that
    shapes keep an "up": rotation prediction has something to learn on the asymmetric shapes. `painted`: each
    kind of shape in its own hue (Painted shapes) instead of a random one.
    """
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % len(SHAPE_NAMES)
    labels = labels[torch.randperm(count, generator=gen)]
    chunks = [
        _draw_batch(labels[i:i + batch], gen, image_size, max_tilt_degrees, painted)
        for i in range(0, count, batch)
    ]
    return torch.cat(chunks), labels


def _draw_batch(labels, gen, size, max_tilt_degrees, painted):
    n = len(labels)
    fine = 2 * size  # super-sample 2x2, then average: smooth edges without a distance function
    axis = (torch.arange(fine) + 0.5) / fine * 2 - 1  # pixel centres in [-1, 1]
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")

    radius = 0.35 + 0.45 * torch.rand(n, generator=gen)  # shape size as a fraction of half the image
    centre = (torch.rand(n, 2, generator=gen) * 2 - 1) * (1 - radius[:, None]) * 0.95
    tilt = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(max_tilt_degrees)

    # Move each image's pixel grid into its shape's own frame: translate, rotate, scale.
    dx = gx[None] - centre[:, 0, None, None]
    dy = gy[None] - centre[:, 1, None, None]
    cos, sin = tilt.cos()[:, None, None], tilt.sin()[:, None, None]
    x = (cos * dx + sin * dy) / radius[:, None, None]
    y = (-sin * dx + cos * dy) / radius[:, None, None]

    mask = torch.zeros(n, fine, fine)
    for index, shape in enumerate(SHAPE_NAMES):
        rows = labels == index
        if rows.any():
            mask[rows] = _inside(shape, x[rows], y[rows]).float()
    mask = F.avg_pool2d(mask[:, None], 2)  # (N, 1, S, S) coverage in [0, 1]

    # Background: a linear gradient between two random colours in a random direction.
    bg_a, bg_b = _random_colours(n, gen), _random_colours(n, gen)
    angle = torch.rand(n, generator=gen) * 2 * math.pi
    small = F.avg_pool2d(torch.stack([gx, gy])[None], 2)[0]  # (2, S, S) coordinates at output size
    ramp = (angle.cos()[:, None, None] * small[0] + angle.sin()[:, None, None] * small[1] + 1) / 2
    background = bg_a[:, :, None, None] + (bg_b - bg_a)[:, :, None, None] * ramp[:, None]

    # Foreground: kept visibly apart from the background behind the shape. Too close a colour is swapped for
    # its opposite: the shape's own where it is random, the background's where the shape's is its kind's.
    fg = _class_colours(labels, gen) if painted else _random_colours(n, gen)
    bg_mean = (bg_a + bg_b) / 2
    too_close = (fg - bg_mean).abs().sum(1) < 0.75
    if painted:
        background[too_close] = 1 - background[too_close]
    else:
        fg[too_close] = 1 - bg_mean[too_close]
    image = background * (1 - mask) + fg[:, :, None, None] * mask
    return (image.clamp(0, 1) * 255).round().to(torch.uint8)
