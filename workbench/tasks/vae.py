"""Variational autoencoder: squeeze every image into a small random code and decode it back.

What is predicted: the image itself, decoded from a latent z drawn from the encoder's Gaussian
q(z | x) = N(μ(x), diag σ²(x)), while q is kept close to the prior N(0, I) — so that z drawn from the prior
decodes to new images.
Loss: the negative evidence lower bound, with the KL term weighted by β (β = 1 is the paper's VAE),

    L = 1/B Σ_b [ ‖ decoder(μ_b + σ_b ⊙ ε_b) − x_b ‖²  +  β · ½ Σ_j (μ_bj² + σ_bj² − log σ_bj² − 1) ],   ε ~ N(0, I).

The squared error is the log-likelihood of a Gaussian decoder with variance ½, summed over pixels.

Paper: Kingma, Welling. "Auto-Encoding Variational Bayes", ICLR 2014. https://arxiv.org/abs/1312.6114

What to look for: the reconstruction error falls and the KL rises from 0 as the code starts to carry
information; reconstructions are blurry (the Gaussian decoder predicts an average); samples from the prior are
blurrier still. The features are weak under k-NN (colour and position dominate the code): read the linear
probe.

Letters: B images, H×W pixels, Z latent dimensions, D encoder features (a D × H/8 × W/8 map).
"""

from dataclasses import dataclass

import torch
from torch import nn

from .. import augment
from ..data.pixels import grey
from ..models import evaluating
from . import PreviewRow, PretextTask, Preset, StepOutput, TaskInfo, param, register_task
from .parts.decoders import ConvDecoder, VectorToMap

PRIOR_SEED = 1312  # the fixed noise grid of the preview's prior samples, apart from any training draw
DECODER_WIDTH = 96
GRID = 4  # the code is decoded from the 4 × 4 grid of a 32-px image's H/8 map


def reparameterise(mu: torch.Tensor, log_var: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = μ + σ ⊙ ε: a sample of q(z | x) through which gradients reach μ and σ (Sec. 2.4)."""
    return mu + (0.5 * log_var).exp() * eps


def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) per image, summed over the Z dimensions (Appendix B): (B,)."""
    return 0.5 * (mu ** 2 + log_var.exp() - log_var - 1).sum(1)


@register_task
class VAE(PretextTask):
    info = TaskInfo(
        name="vae",
        family="reconstruction",
        title="VAE — encode to a random code, decode it back",
        summary="Encode each image as a Gaussian over a small latent code, decode a sample of it, and keep the "
                "codes close to a standard normal so that the decoder can also dream.",
        paper="Kingma, Welling, Auto-Encoding Variational Bayes, ICLR 2014",
        paper_url="https://arxiv.org/abs/1312.6114",
        look_for="Reconstruction error falls and the KL rises from 0; reconstructions and prior samples stay "
                 "blurry. k-NN is weak for a VAE: check the linear probe.",
        knn_weak=True,
    )
    # A high rate for the most epochs that fit the 200 s a preset may take on two cores (12 left μ's k-NN at
    # random init's): 36. What it reaches: benchmarks/results/tasks-shapes-cpu2-bfloat16.csv.
    preset = Preset(epochs=36, batch_size=64, learning_rate=8e-3)
    # Photos: their colours tell classes apart (Shapes' are random): the code keeps them (the card's figures).
    real_data_params = {"grey": False}
    gpu_preset = Preset(epochs=100, batch_size=256, learning_rate=1e-3, weight_decay=1e-4)

    @dataclass
    class Params:
        latent_dim: int = param(64, "Size Z of the latent code. Small codes force the network to keep only "
                                "what matters most for the pixels (colour and place first, shape after).",
                                2, 512, 1)
        beta: float = param(0.25, "Weight β of the KL term (1 is the paper's VAE; β-VAE raises it to untangle "
                            "the code). Higher gives smoother, blurrier images and samples that look more "
                            "like the data; lower gives sharper reconstructions and worse samples. 0.25 "
                            "leaves the code room for shape: on Shapes, k-NN 0.28 – 0.30 against 0.22 at 1.",
                            0.0, 20.0, 0.05,
                            lab="Above ~10 the code is squeezed to nothing (posterior collapse): the KL falls "
                                "to 0 and every reconstruction is the same average image.")
        grey: bool = param(True, "Encode and decode the lightness only. Colour covers most pixels, so with it "
                           "the code spends itself on Shapes' random colours.",
                           lab="Off: the code is a colour histogram; k-NN stays near random init.")
        crop_min_scale: float = param(0.6, "Smallest random crop (fraction of the area) before encoding; 1.0 "
                                      "turns cropping off.", 0.1, 1.0, 0.05)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        z = self.params.latent_dim
        self.posterior = nn.Linear(encoder.feature_dim, 2 * z)  # the encoder's output h → μ, log σ² (App. C.2)
        # The last doubling stays learned: with the decoders' cheaper bilinear one, μ's k-NN on Shapes fell from
        # 0.28 / 0.30 to 0.26 / 0.26 (seeds 0 / 1), under the +10 points over random init it reaches now.
        self.decoder = nn.Sequential(VectorToMap(z, DECODER_WIDTH, GRID),
                                     ConvDecoder(DECODER_WIDTH, 3, resize_last=False))

    def _view(self, images):
        return grey(images) if self.params.grey else images

    def make_inputs(self, images, gen, indices=None):
        images = self._view(augment.random_resized_crop(images, gen, scale=(self.params.crop_min_scale, 1.0)))
        eps = torch.randn(images.shape[0], self.params.latent_dim, generator=gen, device=images.device)
        return images, eps  # x (B, 3, H, W), ε (B, Z)

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.posterior(self.encoder(images)).chunk(2, dim=1)  # μ, log σ²: (B, Z) each

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))  # (B, 3, H, W) in [0, 1]

    def loss(self, inputs, progress):
        images, eps = inputs
        mu, log_var = self.encode(images)
        reconstruction = ((self.decode(reparameterise(mu, log_var, eps)) - images) ** 2).sum(dim=(1, 2, 3))
        kl = gaussian_kl(mu, log_var)
        loss = (reconstruction + self.params.beta * kl).mean()
        metrics = {"reconstruction": reconstruction.mean().detach(), "kl": kl.mean().detach()}
        return StepOutput(loss, metrics)

    def features(self, images):
        return self.encode(self._view(images))[0]  # μ: the code, without the sampling noise

    def prior_samples(self, n: int) -> torch.Tensor:
        """n images decoded from a fixed grid of z ~ N(0, I): the same z at every call, whatever `gen` did."""
        z = torch.randn(n, self.params.latent_dim, generator=torch.Generator().manual_seed(PRIOR_SEED))
        with evaluating(self), torch.no_grad():  # batch norm uses its running statistics and leaves them alone
            return self.decode(z.to(next(self.parameters()).device))

    def preview(self, images, gen, predict=False):
        x, _ = self.make_inputs(images, gen)
        samples = self.prior_samples(len(images))
        columns, captions = [x], ["input"]
        if predict:
            with torch.no_grad():
                columns.append(self.decode(self.encode(x)[0]))
            captions.append("reconstruction (z = its mean)")
        columns.append(samples)
        captions.append("sample from the prior")
        return [PreviewRow([c[i] for c in columns], captions) for i in range(len(images))]
