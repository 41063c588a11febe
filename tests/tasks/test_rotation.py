import math

import torch

from workbench.data.shapes import generate_shapes
from workbench.models import create_encoder
from workbench.tasks import create_task
from workbench.tasks.rotation import rotate_all


def test_four_rotations_of_every_image_with_their_labels():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    rotated, labels = rotate_all(x)
    assert rotated.shape == (8, 3, 4, 4)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert torch.equal(rotated[:2], x)
    assert torch.equal(rotated[4:6], x.flip(2).flip(3))  # 180° turns the image upside down and mirrors it
    # turning by 90° four times is no turn: label 1 applied to the 270° images gives back the originals
    assert torch.equal(torch.rot90(rotated[6:], 1, dims=(2, 3)), x)


def test_a_classifier_that_knows_nothing_scores_ln4_and_a_quarter():
    task = create_task("rotation", create_encoder("small_cnn"))
    torch.nn.init.zeros_(task.classifier.weight)
    torch.nn.init.zeros_(task.classifier.bias)
    images, _ = generate_shapes(6)
    out = task.training_step(images.float() / 255, torch.Generator().manual_seed(0))
    assert math.isclose(out.loss.item(), math.log(4), rel_tol=1e-6)
    assert out.metrics["rotation_accuracy"] == 0.25  # argmax of equal logits is always "0°"
