"""The small convolutional decoder of the reconstruction tasks (colorization, inpainting, denoising AE, VAE),
and the pixel targets it is asked to paint.

It turns the encoder's spatial features (B, D, H/8, W/8) — or a code vector laid out on that grid — back into
an image-sized map (B, C, H, W): 2× up-samplings by transposed convolutions, as in DCGAN's generator and the
context encoder's decoder, the last one a bilinear resize of the painted map. There are no skip connections
from the encoder on purpose: a U-Net could copy the input's pixels straight through and the encoder would need
to learn nothing. Inpainting, the denoising AE and the VAE decode from the pooled code vector, the very
representation the probes measure, so that everything the decoder needs must pass through it.

It is deliberately thin (about the cost of the small CNN itself): the encoder should do the understanding,
the decoder only the painting.
"""

import torch
import torch.nn.functional as F
from torch import nn

UPSAMPLINGS = 3  # encoders give H/8 × W/8 maps: 3 doublings back to H × W


def _up(c_in: int, c_out: int) -> nn.Sequential:
    """Double the resolution: a 4×4 transposed convolution with stride 2 (no overlap gaps, cheap on a CPU)."""
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ConvDecoder(nn.Module):
    """(B, D, h, w) features → (B, C, 2ᵘh, 2ᵘw) raw outputs, u = `upsamplings`, the last of them a bilinear
    resize unless `resize_last` is off (no final activation: the task picks sigmoid for pixels, nothing for
    logits or normalised patches).

        ConvDecoder(192, 3)(encoder.feature_map(x))  # (B, 192, 4, 4) → (B, 3, 32, 32)
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 96, upsamplings: int = UPSAMPLINGS,
                 resize_last: bool = True):
        super().__init__()
        self.resize_last = resize_last
        learned = upsamplings - 1 if resize_last else upsamplings
        widths = [width // 2 ** i for i in range(learned + 1)]  # 96 → 48 → 24 (→ 12 when the last is learned)
        self.squeeze = nn.Sequential(nn.Conv2d(in_channels, widths[0], 1, bias=False),
                                     nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        self.up = nn.Sequential(*[_up(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.out = nn.Conv2d(widths[-1], out_channels, 3, padding=1)

    def forward(self, feature_map):
        out = self.out(self.up(self.squeeze(feature_map)))
        # With `resize_last` the decoder paints at half the output size and a bilinear resize doubles it. A learned
        # last doubling (12 channels at 32 × 32, with its batch norm) costs a CPU as much as the rest of the
        # decoder together; the denoising AE and inpainting reach the same k-NN without it
        # (benchmarks/JOURNAL.md, 2026-12-02).
        return F.interpolate(out, scale_factor=2, mode="bilinear") if self.resize_last else out


class VectorToMap(nn.Module):
    """A latent vector (B, Z) → a (B, D, g, g) map for `ConvDecoder`: one linear layer, as in the VAE
    paper's MLP decoder, before the convolutions take over."""

    def __init__(self, latent_dim: int, channels: int, grid: int):
        super().__init__()
        self.channels, self.grid = channels, grid
        self.linear = nn.Linear(latent_dim, channels * grid * grid)

    def forward(self, z):
        return self.linear(z).relu().view(-1, self.channels, self.grid, self.grid)  # (B, D, g, g)


# --- what the decoder paints ---------------------------------------------------------------------------
# Pixels are dominated by what covers the most area: the background's and the shape's colours. A decoder
# trained on raw pixels makes its code a colour histogram first and a shape last. Two countermeasures, both
# switchable in the tasks that use them: reconstruct the lightness only, and normalise every patch of the
# target to zero mean and unit variance (MAE's "normalized pixels" target, He et al. 2022, Sec. 4.1), so that
# what is left to predict is where the edges are, not how bright or which colour things are.
PATCH = 8           # one patch per cell of the encoders' H/8 map
PATCH_EPS = 1e-2    # a flat patch stays flat instead of blowing its faint gradient up to full contrast


def patch_stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation (with PATCH_EPS) of every PATCH × PATCH patch of every channel, spread back
    over its pixels: two (B, C, H, W) tensors."""
    mean = F.avg_pool2d(images, PATCH)
    var = (F.avg_pool2d(images ** 2, PATCH) - mean ** 2).clamp_min(0)
    spread = F.interpolate(torch.cat([mean, (var + PATCH_EPS).sqrt()], 1), scale_factor=PATCH, mode="nearest")
    return spread.chunk(2, dim=1)


def normalise_image_patches(images: torch.Tensor) -> torch.Tensor:
    """The target: every PATCH × PATCH patch of every channel of an image at zero mean and unit variance, the
    image's shape kept (B, C, H, W)."""
    mean, std = patch_stats(images)
    return (images - mean) / std


def denormalise_image_patches(normalised: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """A prediction of normalised image patches shown as an image, with the brightness and contrast of
    `reference` (the true patches, as MAE's figures do): (B, C, H, W) in [0, 1]."""
    mean, std = patch_stats(reference)
    return (normalised * std + mean).clamp(0, 1)
