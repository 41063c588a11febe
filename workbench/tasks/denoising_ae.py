"""Denoising autoencoder: corrupt the image, squeeze it into a code, and reconstruct the clean image from it.

What is predicted: the clean image x from the code y = f(x̃) of a corrupted copy x̃ ~ q(x̃ | x) — Gaussian
noise, masking noise (pixels set to black) or salt-and-pepper noise. The code is the encoder's pooled output,
the very vector the probes measure, as the paper's hidden layer y = f_θ(x̃) is its representation.
Loss: squared error between the decoded code and the target t(x) — the clean pixels or, by default, the clean
lightness with every 8 × 8 patch normalised (MAE's target: edges, not brightness),

    L = 1/(B·C·H·W) Σ_b ‖ g(f(x̃_b)) − t(x_b) ‖²,   x̃_b ~ q(x̃ | x_b).

Paper: Vincent, Larochelle, Bengio, Manzagol. "Extracting and Composing Robust Features with Denoising
Autoencoders", ICML 2008. https://www.cs.toronto.edu/~larocheh/publications/icml-2008-denoising-autoencoders.pdf

What to look for: the loss must fall well below "copy_mse", the error of handing back the corrupted input —
only then is the network denoising rather than copying. Masking half the pixels makes it fill them in from the
shape around them; a little Gaussian noise is removed by blurring and teaches little.

Letters: B images, C channels, H×W pixels, D encoder features (the code).
"""

from dataclasses import dataclass

import torch

from .. import augment
from . import PreviewRow, Preset, StepOutput, TaskInfo, param, register_task
from .parts.reconstruction import CodeReconstruction


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
class DenoisingAE(CodeReconstruction):
    info = TaskInfo(
        name="denoising_ae",
        family="reconstruction",
        title="Denoising autoencoder — clean up the corrupted image",
        summary="Corrupt the image with noise or dropped pixels, squeeze it into a code, and reconstruct the "
                "clean original from the code.",
        paper="Vincent et al., Extracting and Composing Robust Features with Denoising Autoencoders, ICML 2008",
        paper_url="https://www.cs.toronto.edu/~larocheh/publications/icml-2008-denoising-autoencoders.pdf",
        look_for="The loss must fall well below copy_mse (handing back the noisy input); with weak noise both "
                 "are tiny and the k-NN barely moves.",
    )
    # The code keeps learning shape long after the loss flattens, and faster with a high rate and AdamW's weight
    # decay at 0.05: 40 epochs at 8e-3. What it reaches: benchmarks/results/tasks-shapes-cpu2-bfloat16.csv.
    preset = Preset(epochs=40, batch_size=64, learning_rate=8e-3, weight_decay=0.05)
    # Photos: colour tells classes apart (sky, grass, water), and the raw pixels' k-NN rests on it; the lightness
    # and the normalised patches throw it away, and the code ends below the random network (the card's figures).
    real_data_params = {"grey": False, "normalized_target": False}
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
        grey: bool = param(True, "Work on the lightness only. Colour covers most pixels, so with it the code "
                           "becomes a colour histogram, and Shapes' colours are random.",
                           lab="Off: the code spends itself on colours; k-NN stays near random init.")
        normalized_target: bool = param(True, "Reconstruct every 8 × 8 patch at zero mean and unit variance "
                                        "(MAE's target) instead of raw pixels: what is left to predict is where "
                                        "the edges are.", lab="Off: the loss is won by getting brightness "
                                        "right, and the code learns less about shape.")
        crop_min_scale: float = param(0.6, "Smallest random crop (fraction of the area) before corrupting; 1.0 "
                                      "turns cropping off.", 0.1, 1.0, 0.05)

    def make_inputs(self, images, gen, indices=None):
        p = self.params
        clean = self.clean_crops(images, gen)
        return corrupt(clean, p.noise_kind, p.noise_level, gen), clean  # x̃, x: (B, 3, H, W) each

    def loss(self, inputs, progress):
        noisy, clean = inputs
        target = self.target(clean)
        mse = ((self.reconstruct(noisy) - target) ** 2).mean()
        return StepOutput(mse, {"copy_mse": ((self.target(noisy) - target) ** 2).mean()})  # the bar to get under

    def preview(self, images, gen, predict=False):
        noisy, clean = self.make_inputs(images, gen)
        columns, captions = [noisy, clean], [f"{self.params.noise_kind} {self.params.noise_level:g}", "clean target"]
        if predict:
            with torch.no_grad():
                out = self.reconstruct(noisy)
            columns.append(self.shown(out, clean))
            captions.append("reconstruction")
        return [PreviewRow([c[i] for c in columns], captions) for i in range(len(images))]
