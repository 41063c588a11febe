"""SwAV: swap assignments between views — predict the cluster code of one view from another view.

What is predicted: every view's soft assignment ("code") to K learnable prototypes, computed from ANOTHER view
of the same image. Codes come from the Sinkhorn-Knopp algorithm, which spreads the batch evenly over the
prototypes; that equal split is what stops everything falling into one cluster. With prototypes C (K, P) and
L2-normalised projections z, the scores are s = Cᵀz, and for two views s, t of one image with codes q_s, q_t:

    L = ℓ(z_t, q_s) + ℓ(z_s, q_t),   ℓ(z, q) = − Σ_k q_k log softmax(Cᵀz / τ)_k,

summed over every view predicted from each global crop's code (codes only from global crops), averaged.
Codes: Q = argmax_{Q ∈ 𝒬} Tr(QᵀCᵀZ) + ε H(Q), 𝒬 = {Q ≥ 0 : Q 1_B = 1_K / K, Qᵀ 1_K = 1_B / B}.

Paper: Caron, Misra, Mairal, Goyal, Bojanowski, Joulin. "Unsupervised Learning of Visual Features by
Contrasting Cluster Assignments", NeurIPS 2020. https://arxiv.org/abs/2006.09882

What to look for: the loss starts near ln K (every prototype equally likely) and falls as views agree on a
prototype. The equal split keeps codes from collapsing, so the collapse monitor should stay healthy.

Letters: B images, V views (2 global + local crops), K prototypes, P projection dimension, L queue length.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import PretextTask, Preset, StepOutput, TaskInfo, param, register_task
from .parts.crops import GLOBAL_CROPS, crop_names, crop_rows, encode_crops, multi_crop
from .parts.heads import mlp
from .parts.views import ViewParams


@torch.no_grad()
def sinkhorn(scores: torch.Tensor, epsilon: float, iterations: int) -> torch.Tensor:
    """Scores (B, K) → codes (B, K), each row a distribution over the prototypes.

    Solves the entropy-regularised transport problem of the paper's Eq. 3 by alternately rescaling the
    rows and columns of Q = exp(Sᵀ/ε) towards the marginals 1_K/K (prototypes) and 1_B/B (samples).
    The last step fixes the samples' marginal exactly, so every code is a distribution once multiplied by
    B; the prototypes' marginal holds approximately after a few iterations ("3 iterations are enough")."""
    q = torch.exp((scores - scores.max()) / epsilon).T   # (K, B); the max cancels out, it only avoids inf
    q /= q.sum()
    k, b = q.shape
    for _ in range(iterations):
        q /= q.sum(dim=1, keepdim=True) * k               # every prototype gets 1/K of the mass
        q /= q.sum(dim=0, keepdim=True) * b               # every sample gets 1/B of the mass
    return (q * b).T                                      # rows sum to 1: a soft assignment per sample


def swapped_prediction(scores: list[torch.Tensor], codes: list[torch.Tensor], temperature: float) -> torch.Tensor:
    """Each global crop's code is predicted by every OTHER view's scores; cross-entropy, averaged.
    `scores` holds all V views (B, K), globals first; `codes` the codes of the global crops."""
    total = 0.0
    for i, q in enumerate(codes):
        others = [s for v, s in enumerate(scores) if v != i]
        total += sum(-(q * F.log_softmax(s / temperature, dim=1)).sum(1).mean() for s in others) / len(others)
    return total / len(codes)


@register_task
class SwAV(PretextTask):
    sync_batchnorm = True  # its loss compares the images of a batch with each other
    info = TaskInfo(
        name="swav",
        family="clustering",
        title="SwAV — predict one view's cluster from another",
        summary="Assign each global crop to prototypes with an equal split over the batch, and predict that "
                "assignment from every other crop of the same image.",
        paper="Caron et al., Unsupervised Learning of Visual Features by Contrasting Cluster Assignments, "
              "NeurIPS 2020",
        paper_url="https://arxiv.org/abs/2006.09882",
        look_for="The loss falls from ln K; the prototype entropy stays high (the equal split), the k-NN rises.",
    )
    preset = Preset(epochs=24, batch_size=128, learning_rate=4e-3)
    # Photos: more epochs, paid for with fewer small crops (the card's figures).
    real_data_preset = Preset(epochs=36, batch_size=128, learning_rate=4e-3)
    real_data_params = {"local_crops": 2}
    gpu_preset = Preset(epochs=200, batch_size=256, learning_rate=0.6, weight_decay=1e-6, optimizer="sgd")

    @dataclass
    class Params(ViewParams):
        prototypes: int = param(64, "K, the number of prototypes (clusters). The paper: 3000 on ImageNet; "
                                "a few times the number of classes is plenty here.", 8, 1024, 8)
        temperature: float = param(0.2, "τ of the softmax over prototype scores that predicts a code. The "
                                   "paper: 0.1, with 3000 prototypes and a ResNet-50. Here 0.2: on Shapes the "
                                   "k-NN reaches 0.60 against 0.41 at 0.5, on CIFAR-10 photos 0.50 against "
                                   "0.45. Too low, and while the codes are still hard to guess a flat "
                                   "prediction is the cheapest answer: at the paper's 0.1 Shapes sticks at "
                                   "loss ln K (as reported for CIFAR-10 in facebookresearch/swav#23), while "
                                   "photos still learn (0.49).", 0.01, 1.0, 0.01,
                                   lab="At the paper's 0.1 Shapes sticks at loss ln K: every prediction goes "
                                   "flat, the codes go uniform and the k-NN stays at chance (0.12).")
        sinkhorn_epsilon: float = param(0.05, "ε, the entropy weight of the codes: lower makes them harder "
                                        "(nearer one-hot). The paper: 0.05.", 0.01, 1.0, 0.01)
        sinkhorn_iterations: int = param(3, "Sinkhorn-Knopp iterations (the paper: 3). 0 skips the equal "
                                         "split: codes are a plain softmax and can all pick one prototype.",
                                         0, 20, 1, lab="At 0 nothing spreads the batch over the prototypes: "
                                         "every image may land in one cluster and the k-NN drops.")
        local_crops: int = param(4, "Small crops per image (multi-crop; the paper: 6 of 96 px on ImageNet). "
                                 "They only predict, they never give codes.", 0, 8, 1)
        local_size: int = param(16, "Side of a local crop in pixels (globals keep the image size).", 8, 24, 4)
        local_min_scale: float = param(0.2, "Smallest local crop as a fraction of the image area (the paper: "
                                       "0.05 of a 224-px photo; at 32 px a 5 % crop is 7 px wide and often "
                                       "misses the object).", 0.01, 0.5, 0.01)
        local_max_scale: float = param(0.5, "Largest local crop as a fraction of the image area; global crops "
                                       "cover from here (or crop_min_scale if larger) to all of it. The "
                                       "paper: 0.14.", 0.1, 0.6, 0.05)
        projection_dim: int = param(64, "P, the size of the projection z (the paper: 128).", 8, 512, 8)
        freeze_prototypes_epochs: int = param(1, "Epochs at the start during which the prototypes do not move "
                                              "(the paper: the first epoch), while the encoder settles.",
                                              0, 10, 1)
        queue_length: int = param(0, "L projections of earlier batches that join the Sinkhorn step (not the "
                                  "loss). The equal split needs clearly more samples than prototypes: turn it "
                                  "on when the batch is not several times K (the paper: a queue of 3840 for "
                                  "batch 256 and 3000 prototypes). 0 turns it off.", 0, 8192, 128)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        p, d = self.params, encoder.feature_dim
        self.projector = mlp(d, 2 * d, p.projection_dim)
        self.prototypes = nn.Linear(p.projection_dim, p.prototypes, bias=False)
        self.normalize_prototypes()
        # Projections of earlier batches' global crops, newest first; `queue_filled` counts the valid rows.
        self.register_buffer("queue", torch.zeros(GLOBAL_CROPS, p.queue_length, p.projection_dim))
        self.register_buffer("queue_filled", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def normalize_prototypes(self):
        """Prototypes live on the unit sphere, like z, so that a score is a cosine."""
        self.prototypes.weight.copy_(F.normalize(self.prototypes.weight, dim=1))

    def make_inputs(self, images, gen, indices=None):
        return multi_crop(images, gen, self.params)  # list of (B, 3, h, h)

    def embed(self, crops: list[torch.Tensor]) -> list[torch.Tensor]:
        """Every crop → L2-normalised projection z (B, P); one projector pass over all crops, as the paper."""
        z = self.projector(torch.cat(encode_crops(self.encoder, crops)))
        return list(F.normalize(z, dim=1).split(crops[0].shape[0]))

    def codes(self, z_globals: list[torch.Tensor]) -> list[torch.Tensor]:
        """Sinkhorn codes of each global crop, its batch joined by the queue's earlier projections."""
        p, b = self.params, z_globals[0].shape[0]
        codes = []
        for i, z in enumerate(z_globals):
            z = torch.cat([z.detach(), self.queue[i, :self.queue_filled]])  # the queue when p.queue_length > 0
            scores = self.prototypes(z).detach()
            if p.sinkhorn_iterations:
                codes.append(sinkhorn(scores, p.sinkhorn_epsilon, p.sinkhorn_iterations)[:b])
            else:
                codes.append(F.softmax(scores[:b] / p.sinkhorn_epsilon, dim=1))
        return codes

    @torch.no_grad()
    def enqueue(self, z_globals: list[torch.Tensor]):
        length = self.queue.shape[1]
        if length:
            new = torch.stack([z.detach() for z in z_globals])[:, :length]
            self.queue.copy_(torch.cat([new, self.queue], dim=1)[:, :length])
            self.queue_filled.fill_(min(length, int(self.queue_filled) + new.shape[1]))

    def loss(self, inputs, progress):
        z = self.embed(inputs)
        scores = [self.prototypes(v) for v in z]
        codes = self.codes(z[:GLOBAL_CROPS])
        self.enqueue(z[:GLOBAL_CROPS])
        loss = swapped_prediction(scores, codes, self.params.temperature)
        usage = torch.cat(codes).mean(0)  # how the batch is spread over the prototypes
        entropy = -(usage * usage.clamp_min(1e-12).log()).sum()
        return StepOutput(loss, {"prototypes_used": entropy.exp()})  # perplexity: K if even, 1 if one cluster

    def before_optimizer_step(self, progress):
        # "we freeze the prototypes during the first epoch of training" (Appendix A.1). Dropping the gradient
        # (not zeroing it) makes the optimiser skip them: no momentum, no weight decay.
        if progress.epoch <= self.params.freeze_prototypes_epochs:
            self.prototypes.weight.grad = None

    def after_optimizer_step(self, progress):
        self.normalize_prototypes()

    @torch.no_grad()
    def preview(self, images, gen, predict=False):
        crops = self.make_inputs(images, gen)
        names = crop_names(len(crops))
        captions = [[f"{name}, {c.shape[-1]} px"] * len(images) for name, c in zip(names, crops)]
        if predict:  # which prototype each view is closest to, and how confidently (softmax with τ)
            probs = [F.softmax(self.prototypes(z) / self.params.temperature, 1) for z in self.embed(crops)]
            captions = [[f"{name} → #{k} {c:.0%}" for c, k in zip(*(t.tolist() for t in pr.max(1)))]
                        for name, pr in zip(names, probs)]
        return crop_rows(images, crops, captions)
