"""Rotation prediction (RotNet): rotate each image by 0°, 90°, 180° or 270° and predict which.

What is predicted: the rotation r ∈ {0, 1, 2, 3} (× 90°) applied to an image; the label comes free with it.
Loss: cross-entropy over the four rotations of every image in the batch,

    L = − 1/(4B) Σ_b Σ_r log p(r | rotate(x_b, r·90°)).

Paper: Gidaris, Singh, Komodakis. "Unsupervised Representation Learning by Predicting Image Rotations",
ICLR 2018. https://arxiv.org/abs/1803.07728

What to look for: the loss starts at ln 4 ≈ 1.386 and the rotation accuracy climbs from 25 %. To tell up from
down the network must recognise the object and its orientation — but a shape that looks the same turned by
90° (circle, ring, square, cross) gives it nothing to learn from, and the accuracy stalls below 100 %.

Letters: B images, R = 4 rotations, D encoder features.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import augment
from . import PreviewRow, PretextTask, Preset, StepOutput, TaskInfo, param, register_task

ROTATIONS = 4


def rotate_all(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image in all four rotations: (R·B, 3, H, W) images grouped by rotation, and (R·B,) labels."""
    rotated = torch.cat([torch.rot90(images, r, dims=(2, 3)) for r in range(ROTATIONS)])
    labels = torch.arange(ROTATIONS, device=images.device).repeat_interleave(images.shape[0])
    return rotated, labels


@register_task
class Rotation(PretextTask):
    info = TaskInfo(
        name="rotation",
        family="transformation prediction",
        title="Rotation — predict how far the image was turned",
        summary="Show every image turned by 0°, 90°, 180° and 270°, and classify which turn it was.",
        paper="Gidaris et al., Unsupervised Representation Learning by Predicting Image Rotations, ICLR 2018",
        paper_url="https://arxiv.org/abs/1803.07728",
        look_for="Loss falls from ln 4 ≈ 1.39; rotation accuracy rises from 25 % but stalls on symmetric shapes.",
    )
    # The quickest preset: about two minutes on two CPU cores with the small CNN on Shapes. What it reaches:
    # benchmarks/results/tasks-shapes-cpu2-bfloat16.csv.
    preset = Preset(epochs=12, batch_size=64, learning_rate=4e-3)
    gpu_preset = Preset(epochs=100, batch_size=256, learning_rate=1e-3, weight_decay=5e-4)

    @dataclass
    class Params:
        crop_min_scale: float = param(0.6, "Smallest random crop (fraction of the area) before rotating. 1.0 "
                                      "turns cropping off, as in the paper.", 0.1, 1.0, 0.05)
        flip_probability: float = param(0.5, "Chance of a left–right flip before rotating; a flip keeps 'up' "
                                        "where it was, so the labels stay true.", 0.0, 1.0, 0.05)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        self.classifier = nn.Linear(encoder.feature_dim, ROTATIONS)

    def make_inputs(self, images, gen, indices=None):
        p = self.params
        images = augment.random_resized_crop(images, gen, scale=(p.crop_min_scale, 1.0),
                                             flip_p=p.flip_probability)
        return rotate_all(images)  # "all four rotations of each image in the same batch" (Sec. 3.2)

    def loss(self, inputs, progress):
        rotated, labels = inputs
        logits = self.classifier(self.encoder(rotated))  # (R·B, R)
        accuracy = (logits.argmax(1) == labels).float().mean()
        return StepOutput(F.cross_entropy(logits, labels), {"rotation_accuracy": accuracy})

    def preview(self, images, gen, predict=False):
        rotated, labels = self.make_inputs(images, gen)
        captions = [f"label {r}: {90 * r}°" for r in labels.tolist()]
        if predict:
            with torch.no_grad():
                probabilities = self.classifier(self.encoder(rotated)).softmax(1)  # (R·B, R)
            confidence, guess = probabilities.max(1)
            captions = [f"{90 * r}° → {90 * g}° {c:.0%}" for r, g, c in
                        zip(labels.tolist(), guess.tolist(), confidence.tolist())]
        b = images.shape[0]
        return [PreviewRow(list(rotated[i::b]), captions[i::b]) for i in range(b)]
