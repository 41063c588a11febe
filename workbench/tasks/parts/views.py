"""The views of the joint-embedding family: SimCLR's augmentation recipe, which MoCo v2, BYOL, SimSiam,
Barlow Twins, VICReg, SwAV and DINO all reuse — random resized crop and flip, colour jitter, random grey, and
(for BYOL-style asymmetric views) solarisation. No blur: the SimCLR and SimSiam papers drop it at 32 px.

A method's `Params` inherits `ViewParams`, so every augmentation strength is a control in the page and a
`--param` on the command line, and may redeclare a field to change its default. The defaults are the papers',
made for photos; a data set whose nuisances differ (the built-in Shapes: random tilts and colours) brings its
own strengths for these fields (`workbench.data.VIEW_PRESETS`), used wherever the user sets none.
"""

from dataclasses import dataclass

import torch

from ... import augment
from ..base import param


@dataclass
class ViewParams:
    crop_min_scale: float = param(0.2, "Smallest random crop, as a fraction of the image area (SimCLR: 0.08 on "
                                  "ImageNet; 0.2 for small images, as in SimSiam and VICReg).", 0.05, 1.0, 0.05)
    color_jitter: float = param(0.5, "Colour-jitter strength s: brightness, contrast, saturation 0.8·s, hue "
                                "0.2·s (SimCLR: 1.0 on ImageNet, 0.5 on CIFAR). At 0, views are matched by "
                                "their colours alone.", 0.0, 1.5, 0.1)
    jitter_probability: float = param(0.8, "Chance that a view is colour-jittered.", 0.0, 1.0, 0.05)
    grayscale_probability: float = param(0.2, "Chance that a view is turned grey (the papers: 0.2).",
                                         0.0, 1.0, 0.05)
    rotation_degrees: float = param(0.0, "Each view turned by up to ± this many degrees (the papers: 0 — their "
                                    "photos stand upright). Where objects sit at any tilt, two views of one "
                                    "image share it and match by it unless the views turn too.",
                                    0.0, 180.0, 5.0)


def random_view(images: torch.Tensor, gen: torch.Generator, p: ViewParams, size: int | None = None,
                scale: tuple[float, float] | None = None, solarize_probability: float = 0.0) -> torch.Tensor:
    """One random view of every image (B, 3, H, W) → (B, 3, size, size); `scale` overrides the crop range."""
    s = p.color_jitter
    views = augment.random_resized_crop(images, gen, scale=scale or (p.crop_min_scale, 1.0), size=size,
                                        degrees=p.rotation_degrees)
    views = augment.color_jitter(views, gen, 0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s, p=p.jitter_probability)
    views = augment.random_grayscale(views, gen, p=p.grayscale_probability)
    if solarize_probability:
        views = augment.solarize(views, gen, p=solarize_probability)
    return views
