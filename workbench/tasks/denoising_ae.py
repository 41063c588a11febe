"""Denoising autoencoder: corrupt the image, then reconstruct the clean one.

What is predicted: every pixel of the clean image x from a corrupted copy x̃ ~ q(x̃ | x) — Gaussian noise,
masking noise (pixels set to black) or salt-and-pepper noise.
Loss: squared reconstruction error over all pixels,

    L = 1/(B·H·W) Σ_b ‖ decoder(encoder(x̃_b)) − x_b ‖²,   x̃_b ~ q(x̃ | x_b).

Paper: Vincent, Larochelle, Bengio, Manzagol. "Extracting and Composing Robust Features with Denoising
Autoencoders", ICML 2008. https://www.cs.toronto.edu/~larocheh/publications/icml-2008-denoising-autoencoders.pdf

What to look for: the reconstruction MSE falls below the corrupted input's own error (the "input_mse"
metric) — only then is the network denoising rather than copying. Masking half the pixels forces it to fill
them in from the shape around them; a little Gaussian noise is removed by smoothing and teaches little.

Letters: B images, H×W pixels, D encoder features.
"""

from dataclasses import dataclass

import torch

from .. import augment
from . import PreviewRow, PretextTask, Preset, StepOutput, TaskInfo, param, register_task
from .parts.decoders import ConvDecoder


def corrupt(images: torch.Tensor, kind: str, level: float, gen: torch.Generator) -> torch.Tensor:
    """x̃ ~ q(x̃ | x), drawn afresh for every image and every call (B, 3, H, W) in [0, 1].

    gaussian: x + N(0, level²) per pixel and channel; masking: a fraction `level` of the pixels set to 0 (the
    paper's "masking noise"); salt_pepper: a fraction `level` of the pixels set to 0 or 1 at random."""
    if kind == "gaussian":
        return augment.gaussian_noise(images, gen, std=level)
    b, _, h, w = images.shape
    hit = torch.rand(b, 1, h, w, generator=gen, device=images.device) < level  # a pixel loses all 3 channels
    if kind == "masking":
        return images.masked_fill(hit, 0.0)
    salt = (torch.rand(b, 1, h, w, generator=gen, device=images.device) < 0.5).to(images.dtype)
    return torch.where(hit, salt.expand_as(images), images)


@register_task
class DenoisingAE(PretextTask):
    info = TaskInfo(
        name="denoising_ae",
        family="reconstruction",
        title="Denoising autoencoder — clean up the corrupted image",
        summary="Corrupt the image with noise or dropped pixels and reconstruct the clean original.",
        paper="Vincent et al., Extracting and Composing Robust Features with Denoising Autoencoders, ICML 2008",
        paper_url="https://www.cs.toronto.edu/~larocheh/publications/icml-2008-denoising-autoencoders.pdf",
        look_for="Reconstruction MSE must fall well below input_mse (the noise's own error); with weak noise "
                 "both are tiny and the k-NN barely moves.",
    )
    preset = Preset(epochs=12, batch_size=64, learning_rate=4e-3)
    gpu_preset = Preset(epochs=100, batch_size=256, learning_rate=1e-3, weight_decay=1e-4)

    @dataclass
    class Params:
        noise_kind: str = param("masking", "How the input is corrupted: 'gaussian' (added noise), 'masking' "
                                "(pixels set to black: the paper's choice) or 'salt_pepper' (pixels set to "
                                "black or white).", choices=("gaussian", "masking", "salt_pepper"))
        noise_level: float = param(0.5, "Noise strength: the standard deviation for gaussian, the fraction of "
                                   "pixels hit for masking and salt_pepper (the paper: 10–50 % masked). Near "
                                   "0 the task is the identity and teaches nothing.", 0.0, 1.0, 0.05,
                                   lab="At 0 the network copies its input: the loss drops to ~0 and the "
                                       "features stay near random.")
        crop_min_scale: float = param(0.6, "Smallest random crop (fraction of the area) before corrupting; 1.0 "
                                      "turns cropping off.", 0.1, 1.0, 0.05)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        self.decoder = ConvDecoder(encoder.feature_dim, 3)

    def make_inputs(self, images, gen, indices=None):
        p = self.params
        clean = augment.random_resized_crop(images, gen, scale=(p.crop_min_scale, 1.0))
        return corrupt(clean, p.noise_kind, p.noise_level, gen), clean  # x̃, x: (B, 3, H, W) each

    def reconstruct(self, noisy: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(self.encoder.feature_map(noisy)))  # (B, 3, H, W) in [0, 1]

    def loss(self, inputs, progress):
        noisy, clean = inputs
        mse = ((self.reconstruct(noisy) - clean) ** 2).mean()
        return StepOutput(mse, {"input_mse": ((noisy - clean) ** 2).mean()})  # the bar to get under

    def preview(self, images, gen, predict=False):
        noisy, clean = self.make_inputs(images, gen)
        columns, captions = [noisy, clean], [f"{self.params.noise_kind} {self.params.noise_level:g}", "clean target"]
        if predict:
            with torch.no_grad():
                columns.append(self.reconstruct(noisy))
            captions.append("reconstruction")
        return [PreviewRow([c[i] for c in columns], captions) for i in range(len(images))]
