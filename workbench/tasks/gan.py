"""GAN (DCGAN): a generator draws images from noise, and the encoder learns by telling them from real ones.

What is predicted: for every image, whether it is real (from the data) or fake (from the generator G). The
discriminator D is the encoder plus one linear real/fake logit. The representation is DCGAN's read-out of D:
the map after each of the encoder's blocks, max-pooled to a 4×4 grid, flattened and concatenated. G turns
noise z ~ N(0, I) into an image and is trained to make D call its images real.
Losses, with D(x) the logit and σ the logistic function (the non-saturating generator loss of the GAN paper):

    L_D = − mean log σ(D(x))  − mean log(1 − σ(D(G(z))))      moves only D
    L_G = − mean log σ(D(G(z)))                                moves only G

Papers: Radford, Metz, Chintala. "Unsupervised Representation Learning with Deep Convolutional Generative
Adversarial Networks", ICLR 2016. https://arxiv.org/abs/1511.06434 — on Goodfellow et al., "Generative
Adversarial Nets", NeurIPS 2014. BigGAN and StyleGAN are this recipe grown large.

What to look for: neither loss falls for good — they are a game. D(real) and D(fake) start near 50 %, D wins
at first, then G catches up. The samples from a fixed noise grid turn from grey mush into gradients, blobs and
then shapes. Identical samples across the grid are mode collapse.

Letters: B images, Z noise dimension, W generator width.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from ..models import evaluating
from . import PreviewRow, PretextTask, Preset, StepOutput, TaskInfo, param, register_task

PREVIEW_SEED, PREVIEW_GRID = 1234, 64  # the fixed noise grid of the preview, apart from training's generator
READOUT_GRID = 4  # DCGAN's read-out pools every block's map to a 4×4 grid


def dcgan_generator(z_dim: int, width: int, upsampling: str = "resize") -> nn.Sequential:
    """z (B, Z) → image (B, 3, 32, 32) in [0, 1]. "Use batchnorm in the generator ... ReLU activation in the
    generator for all layers except for the output" (Sec. 3); a sigmoid, not tanh, as our pixels are in [0, 1].

    DCGAN doubles the size with stride-2 transposed convolutions. Their kernels overlap unevenly and paint a
    checkerboard that D spots at once, so by default each doubling is a nearest-neighbour resize and a 3×3
    convolution (Odena et al., "Deconvolution and Checkerboard Artifacts", Distill 2016): on Shapes the
    encoder's k-NN came out higher (0.30 against 0.27 after 12 epochs)."""
    def up(c_in, c_out):
        if upsampling == "transposed":
            return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=c_out == 3)]
        return [nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, padding=1, bias=c_out == 3)]

    def block(c_in, c_out):
        return [*up(c_in, c_out), nn.BatchNorm2d(c_out), nn.ReLU()]
    return nn.Sequential(
        nn.Unflatten(1, (z_dim, 1, 1)),
        nn.ConvTranspose2d(z_dim, 4 * width, 4, bias=False), nn.BatchNorm2d(4 * width), nn.ReLU(),  # (B, 4W, 4, 4)
        *block(4 * width, 2 * width),          # (B, 2W, 8, 8)
        *block(2 * width, width),              # (B, W, 16, 16)
        *up(width, 3), nn.Sigmoid(),           # (B, 3, 32, 32)
    )


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """−log σ(D(x)) − log(1 − σ(D(G(z)))); softplus(−t) = −log σ(t) is the stable form."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating: G maximises log D(G(z)) instead of minimising log(1 − D(G(z))), which "saturates" when
    D rejects every sample early on (Goodfellow et al., Sec. 3)."""
    return F.softplus(-fake_logits).mean()


@register_task
class GAN(PretextTask):
    info = TaskInfo(
        name="gan",
        family="generation",
        title="GAN — tell real images from a generator's fakes",
        summary="A generator draws images from noise; the encoder, as discriminator, learns to tell them from real.",
        paper="Radford et al., Unsupervised Representation Learning with Deep Convolutional GANs, ICLR 2016",
        paper_url="https://arxiv.org/abs/1511.06434",
        look_for="D(real) and D(fake) see-saw around 50 %; the fixed-noise samples grow from mush into shapes.",
        knn_weak=True,
    )
    preset = Preset(epochs=12, batch_size=64, learning_rate=1e-3, weight_decay=0.0)
    # DCGAN: Adam lr 2e-4, β1 0.5, batch 128, no weight decay (Sec. 4).
    gpu_preset = Preset(epochs=100, batch_size=128, learning_rate=2e-4, weight_decay=0.0)

    @dataclass
    class Params:
        z_dim: int = param(64, "Size of the noise vector z the generator starts from (the paper: 100). Too "
                           "small and G has few ways to vary its images.", 8, 256, 8)
        generator_width: int = param(32, "Channels of the generator's last hidden layer; it doubles twice "
                                     "going in (the paper's 64–128 is slower on a CPU).", 8, 128, 8)
        upsampling: str = param("resize", "How G doubles its image size: 'resize' (nearest neighbour, then a "
                                "3×3 convolution) or DCGAN's stride-2 'transposed' convolution, which paints "
                                "a checkerboard into early samples — try it and look.",
                                choices=("resize", "transposed"))
        beta1: float = param(0.5, "Adam's β1 for both networks. DCGAN lowered it from 0.9 to 0.5: 'the "
                             "suggested value of 0.9 resulted in training oscillation and instability'.",
                             0.0, 0.99, 0.05)
        flip_probability: float = param(0.5, "Chance of a left–right flip of a real image: more variety for D "
                                        "to learn from; G may draw flipped shapes too.", 0.0, 1.0, 0.05)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        self.real_fake = nn.Linear(encoder.feature_dim, 1)  # D = encoder + this logit
        p = self.params
        self.generator = dcgan_generator(p.z_dim, p.generator_width, p.upsampling)

    def forward(self, images):
        """The discriminator: logit (B,) that each image is real."""
        return self.real_fake(self.encoder(images)).squeeze(1)

    def features(self, images):
        """DCGAN's read-out of D (Sec. 5.1): "we use the discriminator's convolutional features from all layers,
        maxpooling each layers representation to produce a 4 × 4 spatial grid. These features are then
        flattened and concatenated" — (24 + 48 + 96 + 192)·16 = 5,760 dimensions on the small CNN. Measured on
        Shapes (12 epochs, seeds 0 / 1): k-NN 0.36 / 0.40 against 0.21 / 0.19 at random init; the pooled 192-d
        output of the last block gave 0.25 / 0.26 against 0.14 / 0.17."""
        return torch.cat([F.adaptive_max_pool2d(block, READOUT_GRID).flatten(1)
                          for block in self.encoder.block_maps(images)], dim=1)  # (B, 16·Σ channels)

    def make_inputs(self, images, gen, indices=None):
        flip = torch.rand(images.shape[0], generator=gen, device=images.device) < self.params.flip_probability
        real = torch.where(flip[:, None, None, None], images.flip(3), images)
        z = torch.randn(images.shape[0], self.params.z_dim, generator=gen, device=images.device)
        return real, z  # (B, 3, H, W), (B, Z)

    def _discriminate(self, images, frozen):
        """D on fakes, with copies of the encoder's batch-norm buffers, so that the running statistics — used
        when features are read — come from real images only. `frozen` also cuts D's weights from the graph."""
        state = {f"{prefix}.{name}": buffer.clone() for prefix in ("encoder", "real_fake")
                 for name, buffer in getattr(self, prefix).named_buffers()}
        if frozen:
            state |= {f"{prefix}.{name}": weight.detach() for prefix in ("encoder", "real_fake")
                      for name, weight in getattr(self, prefix).named_parameters()}
        return functional_call(self, state, (images,))

    def loss(self, inputs, progress):
        real, z = inputs
        fake = self.generator(z)  # (B, 3, H, W)
        real_logits = self(real)
        # The engine takes one optimiser step on one loss, so both players step at once (simultaneous
        # gradient descent) instead of DCGAN's alternating updates. Each term reaches only its own player:
        # L_D sees the fakes detached (no gradient to G), L_G sees D with detached weights (none to D).
        fake_logits = self._discriminate(fake.detach(), frozen=False)
        d_loss = discriminator_loss(real_logits, fake_logits)
        g_loss = generator_loss(self._discriminate(fake, frozen=True))
        d_real, d_fake = torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()
        accuracy = ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2
        return StepOutput(d_loss + g_loss, {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                                            "d_real": d_real.detach(), "d_fake": d_fake.detach(),
                                            "d_accuracy": accuracy})

    def param_groups(self, weight_decay):
        """One Adam per player in effect: the generator and the discriminator each get their own groups with
        DCGAN's β = (0.5, 0.999) (AdamW reads a group's `betas`; SGD ignores it)."""
        betas = (self.params.beta1, 0.999)
        groups = []
        for modules in ([self.generator], [self.encoder, self.real_fake]):
            weights = [p for m in modules for p in m.parameters() if p.requires_grad]
            groups += [{"params": [p for p in weights if p.ndim > 1], "weight_decay": weight_decay, "betas": betas},
                       {"params": [p for p in weights if p.ndim <= 1], "weight_decay": 0.0, "betas": betas}]
        return groups

    @torch.no_grad()
    def fixed_samples(self):
        """G's images (64, 3, H, W) for a fixed noise grid, seeded apart from training's generator: the same z
        every time, so each sample shows its own progress. G runs in eval mode, so drawing changes nothing."""
        z = torch.randn(PREVIEW_GRID, self.params.z_dim, generator=torch.Generator().manual_seed(PREVIEW_SEED))
        with evaluating(self.generator):
            return self.generator(z.to(self.real_fake.weight.device))

    @torch.no_grad()
    def judge_fakes(self, fakes):
        """D's probability "real" for a batch of fakes as training judges them: with the batch statistics of
        the fakes (on copies of the running statistics, which stay those of real images)."""
        with evaluating(self.encoder, training=True):
            return torch.sigmoid(self._discriminate(fakes, frozen=True))

    def preview(self, images, gen, predict=False):
        real, _ = self.make_inputs(images, gen)
        samples = self.fixed_samples()
        b = images.shape[0]
        picks = [[(2 * i) % PREVIEW_GRID, (2 * i + 1) % PREVIEW_GRID] for i in range(b)]  # two samples per row
        captions = [["real"] + [f"sample {k + 1}" for k in pick] for pick in picks]
        if predict:
            with torch.no_grad():
                p_real = torch.sigmoid(self(real)).tolist()
            p_fake = self.judge_fakes(samples).tolist()  # the whole grid as one batch, like a training batch
            captions = [[f"real · D: {p_real[i]:.0%} real"] + [f"sample {k + 1} · D: {p_fake[k]:.0%} real"
                                                               for k in pick] for i, pick in enumerate(picks)]
        return [PreviewRow([real[i], *samples[pick]], captions[i]) for i, pick in enumerate(picks)]
