"""MoCo v2: match each query view to its own key among a long queue of keys from earlier batches.

What is predicted: for a query view q of an image, which of K + 1 keys is the other view of the same image —
its own key k₊, made by a slowly moving copy of the network, or one of K keys of other images kept in a queue.
Loss (InfoNCE), with q and every key L2-normalised and temperature τ:

    ℓ(q) = −log  exp(q·k₊ / τ) / (exp(q·k₊ / τ) + Σ_{n=1}^{K} exp(q·k_n / τ)),   averaged over the queries.

The key network is never trained by gradients; after every step it moves towards the query network,
θ_k ← m·θ_k + (1 − m)·θ_q. The batch's keys then replace the oldest keys of the queue.

Papers: He, Fan, Wu, Xie, Girshick. "Momentum Contrast for Unsupervised Visual Representation Learning",
CVPR 2020. https://arxiv.org/abs/1911.05722 — and MoCo v2 (an MLP head, SimCLR's augmentations, τ = 0.2):
Chen, Fan, Girshick, He. "Improved Baselines with Momentum Contrastive Learning", 2020.
https://arxiv.org/abs/2003.04297

What to look for: the loss starts near ln(K + 1) and falls; the key accuracy (how often the own key wins)
rises. Negatives no longer have to fit in the batch: a queue of thousands costs one matrix product.

Letters: B images, K queued keys, D encoder features, P projection dimension.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import Preset, StepOutput, TaskInfo, param, register_task
from .parts.heads import mlp
from .parts.momentum import cosine_schedule, ema_update, frozen_copy
from .parts.two_views import TwoViewTask
from .parts.views import ViewParams


def info_nce(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE of queries q (B, P) against their own keys k (B, P) and the queued keys (K, P), all unit
    vectors: a (K + 1)-way classification whose right answer is always column 0, the own key."""
    positive = (q * k).sum(dim=1, keepdim=True)                     # (B, 1)
    negatives = q @ queue.T                                          # (B, K)
    logits = torch.cat([positive, negatives], dim=1) / temperature  # (B, 1 + K)
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))


@torch.no_grad()
def enqueue(queue: torch.Tensor, pointer: torch.Tensor, keys: torch.Tensor) -> None:
    """Write the keys (B, P) over the oldest entries of the ring buffer queue (K, P), in place, and move the
    pointer past them: "the current mini-batch is enqueued and the oldest mini-batch is dequeued" (Sec. 3.2)."""
    keys = keys[-len(queue):]                                        # more keys than slots: keep the newest
    slots = (pointer + torch.arange(len(keys), device=queue.device)) % len(queue)
    queue[slots] = keys.to(queue.dtype)  # under autocast the keys may be bfloat16
    pointer.copy_((pointer + len(keys)) % len(queue))


@register_task
class MoCo(TwoViewTask):
    view_captions = ("query view", "key view")
    info = TaskInfo(
        name="moco",
        family="contrastive",
        title="MoCo v2 — find your key among a queue of thousands",
        summary="Match a query view to the key of the same image, made by a momentum copy of the network, "
                "against a queue of keys from earlier batches.",
        paper="He et al., Momentum Contrast for Unsupervised Visual Representation Learning, CVPR 2020; "
              "Chen et al., Improved Baselines with Momentum Contrastive Learning, 2020",
        paper_url="https://arxiv.org/abs/1911.05722",
        look_for="The loss starts near ln(K+1) and falls while the key accuracy rises; the k-NN accuracy "
                 "follows. The momentum climbs towards 1 as training ends.",
    )
    # Batch 64: on a CPU an image costs the same in any batch, and twice the steps move the key network twice as
    # far. What it reaches: benchmarks/results/tasks-shapes-cpu2-bfloat16.csv.
    preset = Preset(epochs=20, batch_size=64, learning_rate=2e-3)
    # The paper's optimiser: SGD, lr 0.03 at batch 256, weight decay 1e-4, cosine decay (MoCo v2).
    gpu_preset = Preset(epochs=200, batch_size=256, learning_rate=0.03, weight_decay=1e-4, optimizer="sgd")

    @dataclass
    class Params(ViewParams):
        temperature: float = param(0.2, "τ of InfoNCE (MoCo v2: 0.2; MoCo v1: 0.07). Lower sharpens the contrast "
                                   "against the hardest queued keys; near 1 every key weighs alike.",
                                   0.01, 10.0, 0.01)
        queue_size: int = param(2048, "K, how many keys of earlier batches serve as negatives (the paper: 65,536 "
                                "of 1.28 M images). Each key is as old as K / keys-per-step steps: on 5,000 "
                                "images a queue far beyond a few thousand is full of keys from a network that "
                                "no longer exists.", 256, 65536, 256)
        momentum: float = param(0.99, "m of the key network, θ_k ← m·θ_k + (1 − m)·θ_q (the paper: 0.999 over "
                                "hundreds of epochs; 0.99 suits short runs). At 0 the key network is the query "
                                "network itself and keys in the queue go stale at once (the paper's Table 4: "
                                "training fails).", 0.0, 1.0, 0.001)
        momentum_schedule: str = param("cosine", "'cosine' raises m from its start to 1 along half a cosine, "
                                       "as BYOL does, so the keys settle as training ends; 'constant' keeps it.",
                                       choices=("cosine", "constant"))
        symmetric: bool = param(True, "Use both views as queries (each against the other's key) and enqueue both "
                                "keys, as MoCo v3 does: twice the signal and fresher queues per image, at about "
                                "1.5× the cost of a step. Off: MoCo v2's one query per image.")
        projection_dim: int = param(128, "Output size of the MLP head (MoCo v2: 128); the representation is "
                                    "taken before it.", 8, 1024, 8)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        p = self.params
        self.key_encoder = frozen_copy(self.encoder)  # "initialized as the query encoder", then moved only by m
        self.key_projector = frozen_copy(self.projector)
        # Buffers travel with the state dict: a checkpoint resumes with the queue it had.
        self.register_buffer("queue", F.normalize(torch.randn(p.queue_size, p.projection_dim), dim=1))  # (K, P)
        self.register_buffer("queue_pointer", torch.zeros((), dtype=torch.long))  # slot of the oldest key

    def make_projector(self, feature_dim):
        # MoCo v2: "replace the fc head in MoCo with a 2-layer MLP head (hidden layer 2048-d, with ReLU)".
        return mlp(feature_dim, feature_dim, self.params.projection_dim)

    def momentum_at(self, progress) -> float:
        m = self.params.momentum
        return cosine_schedule(m, 1.0, progress.fraction) if self.params.momentum_schedule == "cosine" else m


    def loss(self, inputs, progress):
        view1, view2 = inputs
        queries, keys_of = (torch.cat([view1, view2]), torch.cat([view2, view1])) if self.params.symmetric \
            else (view1, view2)
        q = F.normalize(self.projector(self.encoder(queries)), dim=1)                  # (B or 2B, P)
        with torch.no_grad():                                                           # keys get no gradient
            k = F.normalize(self.key_projector(self.key_encoder(keys_of)), dim=1)      # (B or 2B, P)
            accuracy = ((q * k).sum(1) > (q @ self.queue.T).max(1).values).float().mean()
        loss = info_nce(q, k, self.queue.clone(), self.params.temperature)  # the queue before this batch joins
        enqueue(self.queue, self.queue_pointer, k)
        return StepOutput(loss, {"key_accuracy": accuracy, "momentum": self.momentum_at(progress)})

    def after_optimizer_step(self, progress):
        m = self.momentum_at(progress)
        ema_update(self.key_encoder, self.encoder, m)
        ema_update(self.key_projector, self.projector, m)
