"""SimSiam: one network predicts its own embedding of another view, and a stop-gradient keeps it from collapsing.

What is predicted: the projection z₂ of view 2, from the prediction p₁ = h(z₁) of view 1 (and the other way
round), by the same network — no negatives, no momentum copy. Loss, with D the negative cosine similarity and
sg a stop-gradient (the target is treated as a constant), averaged over both directions:

    L = ½·D(p₁, sg(z₂)) + ½·D(p₂, sg(z₁)),   D(p, z) = −cos(p, z),   averaged over the batch.

Paper: Chen, He. "Exploring Simple Siamese Representation Learning", CVPR 2021. https://arxiv.org/abs/2011.10566

What to look for: the loss falls from about 0 towards −1. The trivial answer — one embedding for every image —
also scores −1; the paper's point is that the stop-gradient and the predictor alone keep the network away from
it. Both are collapse-lab switches: turn either off and the feature spread drops to about 0 within a minute.

Letters: B images, D encoder features, P projection dimension, H predictor bottleneck.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import Preset, StepOutput, TaskInfo, param, register_task
from .parts.heads import mlp
from .parts.two_views import TwoViewTask
from .parts.views import ViewParams


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """D(p, z) = −cos(p, z) for predictions p and targets z (B, P), averaged over the batch."""
    return -F.cosine_similarity(p, z, dim=1).mean()


@register_task
class SimSiam(TwoViewTask):
    info = TaskInfo(
        name="simsiam",
        family="self-distillation",
        title="SimSiam — predict your own other view, with a stop-gradient",
        summary="From one view, predict the network's own projection of another view of the same image; the "
                "target gets no gradient.",
        paper="Chen and He, Exploring Simple Siamese Representation Learning, CVPR 2021",
        paper_url="https://arxiv.org/abs/2011.10566",
        look_for="The loss falls towards −1 while the feature spread stays up. Flip the stop-gradient or the "
                 "predictor off and watch the spread and the effective rank drop to the floor.",
    )
    # AdamW at a gentle rate, batch 64 for more steps: the paper's SGD learned little in a preset's time, and a
    # higher rate partly collapsed z (its effective rank fell: SimSiam's partial collapse). What it reaches:
    # benchmarks/results/tasks-shapes-cpu2-bfloat16.csv.
    preset = Preset(epochs=40, batch_size=64, learning_rate=1e-3)
    # The paper's CIFAR recipe (Appendix D): SGD, lr 0.03·bs/256 at batch 512, weight decay 5e-4.
    gpu_preset = Preset(epochs=200, batch_size=512, learning_rate=0.06, weight_decay=5e-4, optimizer="sgd")

    @dataclass
    class Params(ViewParams):
        stop_gradient: bool = param(True, "Treat the other view's projection as a constant target. The paper "
                                    "(Fig. 2): without it the network collapses at once.",
                                    lab="Off: the target is trained too and both branches agree on a "
                                        "degenerate answer — the loss races to −1, the effective rank of z "
                                        "falls and the k-NN drops below chance.")
        predictor: bool = param(True, "Predict the target through the small MLP h. The paper (Table 1): without "
                                "it (h = identity) SimSiam collapses.",
                                lab="Off: p = z, the loss is plain agreement of two views — and it collapses.")
        projection_dim: int = param(256, "P, output size of the projector (the paper: 2048 for a ResNet-50).",
                                    16, 2048, 16)
        predictor_dim: int = param(64, "H, the predictor's hidden width: a bottleneck of P/4 (the paper: 512 "
                                   "for P = 2048).", 8, 2048, 8)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        p = self.params
        # "The prediction MLP (h) has BN applied to its hidden fc layers. Its output fc does not have BN or ReLU.
        # ... a bottleneck structure" (Sec. 4).
        self.head = mlp(p.projection_dim, p.predictor_dim, p.projection_dim) if p.predictor else None

    def make_projector(self, feature_dim):
        # "The projection MLP (in f) has BN applied to each fully-connected (fc) layer, including its output fc.
        # Its output fc has no ReLU." (Sec. 4). Two layers, as for CIFAR.
        size = self.params.projection_dim
        projector = mlp(feature_dim, size, size, last_batch_norm=True)
        projector[-2].bias.requires_grad_(False)  # the output BN removes the bias: it would get no gradient
        return projector


    def loss(self, inputs, progress):
        view1, view2 = inputs
        b = view1.shape[0]
        z = self.projector(self.encoder(torch.cat([view1, view2])))  # one pass for both views: (2B, P)
        p = self.head(z) if self.head is not None else z               # (2B, P)
        target = z.detach() if self.params.stop_gradient else z
        # Row i of p (view 1) meets row i + B of the target (view 2) and vice versa; the mean over 2B rows is
        # ½·D(p₁, z₂) + ½·D(p₂, z₁).
        loss = negative_cosine(p, target.roll(b, dims=0))
        with torch.no_grad():  # the paper's collapse monitor (Sec. 4.1): std of the normalised outputs, × √P
            spread = F.normalize(z, dim=1).std(dim=0).mean() * z.shape[1] ** 0.5  # ≈ 1 healthy, 0 collapsed
        return StepOutput(loss, {"output_spread": spread})
