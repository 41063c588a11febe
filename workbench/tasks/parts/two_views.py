"""The joint-embedding skeleton: two random views of every image, both through the encoder and a projector in
one pass, and a criterion that compares the two batches of embeddings. SimCLR, Barlow Twins and VICReg are
this skeleton plus their `Params`, their projector and their criterion — the loss formula of their paper.
BYOL, SimSiam and MoCo take its views and projector and write their own `loss`: a predictor or a momentum
target joins the pass.

Letters: B images, P projection dimension.
"""

import torch
from torch import nn

from ..base import PretextTask, PreviewRow, StepOutput
from .views import random_view


class TwoViewTask(PretextTask):
    """Two views of each image → z = projector(encoder(view)) → `criterion(z1, z2)`. A method's Params inherit
    `ViewParams`; a `solarize_probability` among them solarises the second view (BYOL's asymmetric views)."""
    sync_batchnorm = True  # its loss compares the images of a batch with each other
    view_captions = ("view 1", "view 2")

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        self.projector = self.make_projector(encoder.feature_dim)

    def make_projector(self, feature_dim: int) -> nn.Module:
        """The head from the encoder's D features to the embedding the criterion compares."""
        raise NotImplementedError

    def criterion(self, z1: torch.Tensor, z2: torch.Tensor) -> StepOutput:
        """The method's loss on the two views' (B, P) embeddings; row i of each comes from image i."""
        raise NotImplementedError

    def embedding(self, images):
        return self.projector(self.encoder(images))  # z, where the collapse shows first

    def make_inputs(self, images, gen, indices=None):
        solarize_probability = getattr(self.params, "solarize_probability", 0.0)
        first = random_view(images, gen, self.params)
        second = random_view(images, gen, self.params, solarize_probability=solarize_probability)
        return first, second  # 2 × (B, 3, H, W)

    def loss(self, inputs, progress):
        view1, view2 = inputs
        b = view1.shape[0]
        z = self.projector(self.encoder(torch.cat([view1, view2])))  # one pass for both views: (2B, P)
        return self.criterion(z[:b], z[b:])

    def preview(self, images, gen, predict=False):
        view1, view2 = self.make_inputs(images, gen)
        return [PreviewRow([image, v1, v2], ["original", *self.view_captions])
                for image, v1, v2 in zip(images, view1, view2)]


def with_terms(terms: dict[str, torch.Tensor]) -> StepOutput:
    """{"loss": the sum to minimise, and each of its terms} → the loss, with the terms as metrics to plot."""
    terms = dict(terms)
    return StepOutput(terms.pop("loss"), {name: value.detach() for name, value in terms.items()})
