"""The small convolutional decoder of the reconstruction tasks (colorization, inpainting, denoising AE, VAE).

It turns the encoder's spatial features (B, D, H/8, W/8) — or a latent vector laid out on that grid — back
into an image-sized map (B, C, H, W): three 2× up-samplings by transposed convolutions, as in DCGAN's
generator and the context encoder's decoder. There are no skip connections from the encoder on purpose: a
U-Net could copy the input's pixels straight through and the encoder would need to learn nothing.

It is deliberately thin (about the cost of the small CNN itself): the encoder should do the understanding,
the decoder only the painting.
"""

from torch import nn

UPSAMPLINGS = 3  # encoders give H/8 × W/8 maps: 3 doublings back to H × W


def _up(c_in: int, c_out: int) -> nn.Sequential:
    """Double the resolution: a 4×4 transposed convolution with stride 2 (no overlap gaps, cheap on a CPU)."""
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ConvDecoder(nn.Module):
    """(B, D, h, w) features → (B, C, 2ᵘh, 2ᵘw) raw outputs, u = `upsamplings` (no final activation: the task picks sigmoid for
    pixels, nothing for logits or colour regression).

        ConvDecoder(192, 3)(encoder.feature_map(x))  # (B, 192, 4, 4) → (B, 3, 32, 32)
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 96, upsamplings: int = UPSAMPLINGS):
        super().__init__()
        widths = [width // 2 ** i for i in range(upsamplings + 1)]  # 96 → 48 → 24 → 12
        self.squeeze = nn.Sequential(nn.Conv2d(in_channels, widths[0], 1, bias=False),
                                     nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        self.up = nn.Sequential(*[_up(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.out = nn.Conv2d(widths[-1], out_channels, 3, padding=1)

    def forward(self, feature_map):
        return self.out(self.up(self.squeeze(feature_map)))


class VectorToMap(nn.Module):
    """A latent vector (B, Z) → a (B, D, g, g) map for `ConvDecoder`: one linear layer, as in the VAE
    paper's MLP decoder, before the convolutions take over."""

    def __init__(self, latent_dim: int, channels: int, grid: int):
        super().__init__()
        self.channels, self.grid = channels, grid
        self.linear = nn.Linear(latent_dim, channels * grid * grid)

    def forward(self, z):
        return self.linear(z).relu().view(-1, self.channels, self.grid, self.grid)  # (B, D, g, g)
