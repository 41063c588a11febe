"""BYOL: predict, from one view, what a slowly moving copy of the network makes of another view — no negatives.

What is predicted: the target network's projection z′ of view 2, from the online network's prediction p of
view 1 (and the other way round). Loss, with cos the cosine similarity, summed over both directions:

    L = (2 − 2·cos(p₁, z′₂)) + (2 − 2·cos(p₂, z′₁)),   averaged over the batch,

i.e. the squared distance of the L2-normalised vectors. The target (encoder + projector) is never trained by
gradients; after every step it moves towards the online network, θ_t ← τ·θ_t + (1 − τ)·θ_o, with τ raised
from τ_base to 1 along half a cosine: τ = 1 − (1 − τ_base)·(cos(πk/K) + 1)/2 at step k of K.

Paper: Grill, Strub, Altché, Tallec, Richemond et al. "Bootstrap Your Own Latent: A New Approach to
Self-Supervised Learning", NeurIPS 2020. https://arxiv.org/abs/2006.07733

What to look for: the loss falls from about 4 towards 0 without any negative pair to keep the embeddings apart;
the collapse monitor stays up all the same. What keeps the trivial answer (one embedding for every image) away
is the asymmetry: a predictor on one side only, and a target that lags behind.

Letters: B images, D encoder features, H hidden width, P projection dimension.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import Preset, StepOutput, TaskInfo, param, register_task
from .parts.heads import mlp
from .parts.momentum import cosine_schedule, ema_update, frozen_copy
from .parts.two_views import TwoViewTask
from .parts.views import ViewParams


def regression_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """‖p/‖p‖ − z/‖z‖‖² = 2 − 2·cos(p, z) for predictions p and targets z (B, P), averaged over the batch."""
    return (2 - 2 * F.cosine_similarity(p, z, dim=1)).mean()


@register_task
class BYOL(TwoViewTask):
    info = TaskInfo(
        name="byol",
        family="self-distillation",
        title="BYOL — predict a slowly moving copy of yourself",
        summary="From one view, predict the projection that a momentum copy of the network makes of another "
                "view of the same image; no negatives.",
        paper="Grill et al., Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning, NeurIPS 2020",
        paper_url="https://arxiv.org/abs/2006.07733",
        look_for="The loss falls from about 4 with no negatives at all, yet the feature spread stays up; "
                 "the momentum τ climbs to 1 as training ends.",
    )
    # Batch 64 for twice the steps in the same CPU time: the target moves with every step, not every image.
    # What it reaches: benchmarks/results/tasks-shapes-cpu2-bfloat16.csv.
    preset = Preset(epochs=26, batch_size=64, learning_rate=3e-3)
    # Adam at 3e-4 as in byol-pytorch's CIFAR recipe: much higher rates collapse (byol-pytorch #44).
    gpu_preset = Preset(epochs=200, batch_size=256, learning_rate=3e-4, weight_decay=1e-6)

    @dataclass
    class Params(ViewParams):
        momentum_base: float = param(0.99, "τ_base, where the target's momentum starts before it climbs to 1 "
                                     "(the paper: 0.996 over hundreds of epochs; short runs need a target that "
                                     "keeps up: 0.99).", 0.0, 1.0, 0.001)
        momentum_target: bool = param(True, "Keep a momentum (EMA) target. Off: the target is the online network "
                                      "itself under stop-gradient (τ = 0), which the paper reports collapses.",
                                      lab="Off: the target is the online network itself (τ = 0) — watch the "
                                          "feature spread and effective rank.")
        solarize_probability: float = param(0.2, "Chance that the second view is solarised (the paper: 0.2 on "
                                            "view 2, never on view 1): BYOL's views are asymmetric.",
                                            0.0, 1.0, 0.05)
        hidden_dim: int = param(512, "H, hidden width of the projector and of the predictor (the paper: 4096 "
                                "for a ResNet-50).", 32, 4096, 32)
        projection_dim: int = param(128, "P, output size of the projector and the predictor (the paper: 256).",
                                    8, 1024, 8)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        p = self.params
        self.predictor = mlp(p.projection_dim, p.hidden_dim, p.projection_dim)
        self.target_encoder = frozen_copy(self.encoder)
        self.target_projector = frozen_copy(self.projector)

    def make_projector(self, feature_dim):
        # "a linear layer with output size 4096 followed by batch normalization, rectified linear units (ReLU),
        # and a final linear layer with output dimension 256" — the projector, and the predictor alike (Sec. 3.3).
        return mlp(feature_dim, self.params.hidden_dim, self.params.projection_dim)

    def momentum_at(self, progress) -> float:
        """τ at this step: τ_base at the start, 1 at the end; 0 without a momentum target."""
        return cosine_schedule(self.params.momentum_base, 1.0, progress.fraction) if self.params.momentum_target \
            else 0.0

    def loss(self, inputs, progress):
        view1, view2 = inputs
        b = view1.shape[0]
        both = torch.cat([view1, view2])                       # one pass for both views: (2B, 3, H, W)
        z = self.projector(self.encoder(both))                 # (2B, P)
        p = self.predictor(z)                                  # (2B, P)
        if self.params.momentum_target:
            with torch.no_grad():
                target = self.target_projector(self.target_encoder(both))  # (2B, P)
        else:
            target = z.detach()  # τ = 0: the target *is* the online network, with the gradient stopped
        target = target.roll(b, dims=0)                        # view 1's prediction meets view 2's target
        loss = 2 * regression_loss(p, target)                  # the sum of both directions, L + L̃
        return StepOutput(loss, {"momentum": self.momentum_at(progress)})

    def after_optimizer_step(self, progress):
        if self.params.momentum_target:
            tau = self.momentum_at(progress)
            ema_update(self.target_encoder, self.encoder, tau)
            ema_update(self.target_projector, self.projector, tau)

    @property
    def view_captions(self):
        return "view 1", f"view 2 (solarised {self.params.solarize_probability:.0%} of the time)"
