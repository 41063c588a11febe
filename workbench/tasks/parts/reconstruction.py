"""What inpainting and the denoising autoencoder share: a decoder that paints the whole image back from the
encoder's pooled code, the view they work on (the lightness or the colours) and the target they paint
(normalised image patches or pixels). Each task adds what makes it its paper: how the input is spoilt, and how
the error is scored."""

import torch
from torch import nn

from ... import augment
from ...data.pixels import grey
from ..base import PretextTask
from .decoders import ConvDecoder, VectorToMap, denormalise_image_patches, normalise_image_patches

DECODER_WIDTH, GRID = 96, 4  # the code is laid out on the 4 × 4 grid of a 32-px image's H/8 map


class CodeReconstruction(PretextTask):
    """Reconstruct the clean image from the code of a spoilt one. The task's Params carry `grey`,
    `normalized_target` and `crop_min_scale`."""

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        self.decoder = nn.Sequential(VectorToMap(encoder.feature_dim, DECODER_WIDTH, GRID),
                                     ConvDecoder(DECODER_WIDTH, 3))

    def view(self, images: torch.Tensor) -> torch.Tensor:
        """What the task works on: the lightness (in three equal channels) or the colours."""
        return grey(images) if self.params.grey else images

    def clean_crops(self, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """A random crop of every image in the task's view: the clean image to spoil and to reconstruct."""
        return self.view(augment.random_resized_crop(images, gen, scale=(self.params.crop_min_scale, 1.0)))

    def target(self, clean: torch.Tensor) -> torch.Tensor:
        return normalise_image_patches(clean) if self.params.normalized_target else clean

    def reconstruct(self, spoilt: torch.Tensor) -> torch.Tensor:
        """g(f(x̃)) in the target's space: normalised patches, or pixels in [0, 1] (B, 3, H, W)."""
        out = self.decoder(self.encoder(spoilt))  # code (B, D) → (B, 3, H, W)
        return out if self.params.normalized_target else torch.sigmoid(out)

    def shown(self, reconstruction: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        """A reconstruction as a picture: normalised patches are shown with the true patches' brightness and
        contrast, as in MAE's figures."""
        return denormalise_image_patches(reconstruction, clean) if self.params.normalized_target else reconstruction

    def features(self, images):
        return self.encoder(self.view(images))
