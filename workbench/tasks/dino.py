"""DINO: self-distillation with no labels — a student matches a momentum teacher's output on other views.

What is predicted: the teacher's probability distribution over K output dimensions for a global crop, from the
student's output on every OTHER crop of the same image (global and local). The teacher is never trained: its
weights follow the student's as an exponential moving average. With outputs g(x) (B, K), the teacher's
distribution is centred and sharpened, the student's is a plain softmax:

    P_t(x) = softmax((g_t(x) − c) / τ_t),    P_s(x) = softmax(g_s(x) / τ_s),
    L = mean over pairs (x from the global crops, x' from all crops, x' ≠ x) of  − Σ_k P_t(x)_k log P_s(x')_k,
    c ← m_c·c + (1 − m_c)·mean of g_t over the batch,    θ_t ← m·θ_t + (1 − m)·θ_s.

Paper: Caron, Touvron, Misra, Jégou, Mairal, Bojanowski, Joulin. "Emerging Properties in Self-Supervised Vision
Transformers", ICCV 2021. https://arxiv.org/abs/2104.14294

What to look for: centring pushes the teacher towards a uniform output, sharpening towards a one-hot one;
together they balance. Flip `centering` off and one dimension takes over every image (the teacher's entropy
→ 0, the collapse monitor → 0); the k-NN collapses with it. The representation is the TEACHER's backbone.

Letters: B images, V views (2 global + local crops), D encoder features, K output dimensions.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import PretextTask, Preset, Progress, StepOutput, TaskInfo, param, register_task
from .parts.crops import GLOBAL_CROPS, crop_names, crop_rows, encode_crops, multi_crop
from .parts.heads import mlp
from .parts.momentum import cosine_schedule, ema_update, frozen_copy
from .parts.views import ViewParams


class DINOHead(nn.Module):
    """MLP → L2-normalised bottleneck → weight-normalised linear layer with K outputs. The last layer's
    weight norm is fixed at 1 (the paper's `norm_last_layer`), so each output is a cosine similarity."""

    def __init__(self, d_in: int, hidden: int, bottleneck: int, outputs: int, batch_norm: bool = True):
        super().__init__()
        self.mlp = mlp(d_in, hidden, hidden, bottleneck, batch_norm=batch_norm)
        self.last = nn.Parameter(torch.randn(outputs, bottleneck) * 0.02)  # directions only: v / ‖v‖

    def forward(self, x):
        return F.normalize(self.mlp(x), dim=1) @ F.normalize(self.last, dim=1).T  # (B, K)


def dino_loss(teacher: list[torch.Tensor], student: list[torch.Tensor], center: torch.Tensor,
              teacher_temperature: float, student_temperature: float) -> torch.Tensor:
    """Cross-entropy from each teacher view's centred, sharpened distribution to every student view with a
    different index (the same crop is never its own target); teacher views are the first len(teacher)."""
    targets = [F.softmax((t.detach() - center) / teacher_temperature, dim=1) for t in teacher]
    log_probs = [F.log_softmax(s / student_temperature, dim=1) for s in student]
    pairs = [-(p * log_q).sum(1).mean() for i, p in enumerate(targets) for j, log_q in enumerate(log_probs) if i != j]
    return sum(pairs) / len(pairs)


def teacher_temperature_at(fraction: float, start: float, end: float, warmup: float) -> float:
    """Linear warm-up of τ_t from `start` to `end` over the first `warmup` fraction of training."""
    return end if fraction >= warmup else start + (end - start) * fraction / warmup


@register_task
class DINO(PretextTask):
    sync_batchnorm = True  # its loss compares the images of a batch with each other
    info = TaskInfo(
        name="dino",
        family="self-distillation",
        title="DINO — a student imitates its momentum teacher",
        summary="A student network predicts, from any crop, the centred and sharpened output distribution "
                "that a slowly moving teacher gives to a global crop of the same image.",
        paper="Caron et al., Emerging Properties in Self-Supervised Vision Transformers, ICCV 2021",
        paper_url="https://arxiv.org/abs/2104.14294",
        look_for="The teacher's entropy stays between 0 and ln K; the k-NN on the teacher's features rises.",
    )
    # BYOL's budget (batch 64 for twice the steps) at lr 1e-3, with the Params defaults below (τ_t 0.02 fixed,
    # momentum 0.98, one local crop): on Shapes, batch 128 at lr 4e-3 learned nothing in a preset's time, a
    # slower teacher learned less, and a second local crop cost more than it gave. Seed-sensitive: a few epochs
    # may sit on a flat-target plateau before it learns. What it reaches:
    # benchmarks/results/tasks-shapes-cpu2-bfloat16.csv.
    preset = Preset(epochs=26, batch_size=64, learning_rate=1e-3, weight_decay=0.04)
    gpu_preset = Preset(epochs=200, batch_size=256, learning_rate=5e-4, weight_decay=0.04)

    @dataclass
    class Params(ViewParams):
        outputs: int = param(1024, "K, the output dimensions (\"prototypes\") of the head. The paper: 65536 "
                             "on ImageNet; 1024 here.", 16, 4096, 16)
        student_temperature: float = param(0.1, "τ_s of the student's softmax (the paper: 0.1).", 0.01, 1.0, 0.01)
        teacher_temperature: float = param(0.02, "τ_t of the teacher after warm-up: lower sharpens the "
                                           "targets (the paper: 0.04–0.07; on Shapes 0.04 and above let the "
                                           "targets go flat, entropy → ln K).",
                                           0.01, 1.0, 0.01)
        warmup_teacher_temperature: float = param(0.02, "τ_t at the start (the paper: 0.04; here = τ_t, no "
                                                  "warm-up).", 0.01, 1.0, 0.01)
        warmup_fraction: float = param(0.3, "Fraction of training over which τ_t rises linearly (the paper: "
                                       "30 of 100–300 epochs).", 0.0, 1.0, 0.05)
        center_momentum: float = param(0.9, "m_c of the centre's moving average (the paper: 0.9).", 0.0, 0.999,
                                       0.01)
        momentum: float = param(0.98, "Teacher momentum m at the start; it rises to 1 along a cosine (the "
                                "paper: 0.996 over hundreds of epochs; a short run needs a teacher that keeps up: "
                                "0.98 reached k-NN 0.40 where 0.99 reached 0.34; 0.97 locked onto a trivial cue). "
                                "Lower follows the student faster.", 0.9, 0.9999, 0.0005)
        centering: bool = param(True, "Subtract the running mean c from the teacher's output, so that no "
                                "dimension can win for every image.", lab="Off: one output dimension "
                                "dominates for every image — the teacher's entropy falls to 0, the collapse "
                                "monitor drops towards 0 and the k-NN falls.")
        sharpening: bool = param(True, "Use the low teacher temperature τ_t. Off: the teacher uses the student's "
                                 "τ_s, and centring alone flattens its output.", lab="Off: the teacher's output "
                                 "goes uniform (entropy → ln K); every target is the same flat distribution.")
        local_crops: int = param(1, "Small crops per image, seen only by the student (the paper: 10 of 96 px "
                                 "on ImageNet; on Shapes two learned no better than one).", 0, 8, 1)
        local_size: int = param(16, "Side of a local crop in pixels (globals keep the image size).", 8, 24, 4)
        local_min_scale: float = param(0.25, "Smallest local crop as a fraction of the image area (the paper: "
                                       "0.05; at 32 px such a crop shows only background here).", 0.01, 0.5, 0.01)
        local_max_scale: float = param(0.5, "Largest local crop as a fraction of the image area; global crops "
                                       "cover from here (or crop_min_scale if larger) to all of it. The "
                                       "paper: 0.32.", 0.1, 0.6, 0.05)
        head_batch_norm: bool = param(True, "Batch norm in the head's MLP.")
        freeze_last_layer_epochs: int = param(0, "Epochs at the start during which the head's last layer does not "
                                              "move (the paper: the first epoch; here 0 — freezing it delayed "
                                              "learning by ~3 epochs: k-NN 0.31 against 0.34 at momentum 0.99).",
                                              0, 10, 1)
        hidden_dim: int = param(256, "Width of the head's MLP (the paper: 2048).", 32, 2048, 32)
        bottleneck_dim: int = param(64, "The L2-normalised bottleneck before the last layer (the paper: 256).",
                                    8, 512, 8)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        p = self.params
        self.head = DINOHead(encoder.feature_dim, p.hidden_dim, p.bottleneck_dim, p.outputs, p.head_batch_norm)
        # "we build it [the teacher] from past iterations of the student network" (Sec. 3.1).
        self.teacher_encoder, self.teacher_head = frozen_copy(encoder), frozen_copy(self.head)
        self.register_buffer("center", torch.zeros(1, p.outputs))
        self.last_teacher_outputs: torch.Tensor | None = None  # (2B, K) of the last step, until the centre moves

    def make_inputs(self, images, gen, indices=None):
        return multi_crop(images, gen, self.params)  # list of (B, 3, h, h)

    def features(self, images):
        return self.teacher_encoder(images)  # the paper evaluates the teacher ("it performs better")

    def student(self, crops: list[torch.Tensor]) -> list[torch.Tensor]:
        """Every crop → student output (B, K); one head pass over all crops, as the paper."""
        return list(self.head(torch.cat(encode_crops(self.encoder, crops))).split(crops[0].shape[0]))

    @torch.no_grad()
    def teacher(self, crops: list[torch.Tensor]) -> list[torch.Tensor]:
        """Global crops only → teacher output (B, K) each: "only the global views are passed to the teacher"."""
        return list(self.teacher_head(self.teacher_encoder(torch.cat(crops[:GLOBAL_CROPS]))).split(crops[0].shape[0]))

    def temperatures(self, progress) -> tuple[float, float]:
        p = self.params
        teacher = teacher_temperature_at(progress.fraction, p.warmup_teacher_temperature, p.teacher_temperature,
                                         p.warmup_fraction)
        return (teacher if p.sharpening else p.student_temperature), p.student_temperature

    def loss(self, inputs, progress):
        p = self.params
        teacher, student = self.teacher(inputs), self.student(inputs)
        teacher_t, student_t = self.temperatures(progress)
        center = self.center if p.centering else torch.zeros_like(self.center)  # the collapse lab's switch
        loss = dino_loss(teacher, student, center, teacher_t, student_t)
        self.last_teacher_outputs = torch.cat(teacher)  # the centre moves to them after the optimiser step
        with torch.no_grad():
            targets = F.softmax((self.last_teacher_outputs - center) / teacher_t, dim=1)
            entropy = -(targets * targets.clamp_min(1e-12).log()).sum(1).mean()  # ln K: uniform, 0: one-hot
        return StepOutput(loss, {"teacher_entropy": entropy, "teacher_temperature": teacher_t})

    def before_optimizer_step(self, progress):
        if progress.epoch <= self.params.freeze_last_layer_epochs:
            self.head.last.grad = None

    def after_optimizer_step(self, progress):
        self.update_center()
        m = cosine_schedule(self.params.momentum, 1.0, progress.fraction)  # 0.996 → 1 (Sec. 3.1)
        ema_update(self.teacher_encoder, self.encoder, m)
        ema_update(self.teacher_head, self.head, m)

    @torch.no_grad()
    def update_center(self):
        """"c ← m c + (1 − m) 1/B Σ_i g_θt(x_i)" (Eq. 4), over the teacher's outputs on both global crops of the
        step just taken; the step's loss used the centre from before it."""
        if self.last_teacher_outputs is not None:
            m = self.params.center_momentum
            self.center.mul_(m).add_(self.last_teacher_outputs.mean(0, keepdim=True), alpha=1 - m)
            self.last_teacher_outputs = None

    @torch.no_grad()
    def preview(self, images, gen, predict=False):
        crops = self.make_inputs(images, gen)
        names = crop_names(len(crops))
        captions = [[f"{name}, {c.shape[-1]} px" + (" (teacher)" if v < GLOBAL_CROPS else "")] * len(images)
                    for v, (name, c) in enumerate(zip(names, crops))]
        if predict:  # the teacher's target: its top output dimension and that dimension's probability
            teacher_t, _ = self.temperatures(Progress(1, 1))  # as at the end of training
            center = self.center if self.params.centering else 0.0
            for v, t in enumerate(self.teacher(crops)):
                confidence, top = F.softmax((t - center) / teacher_t, dim=1).max(1)
                captions[v] = [f"{names[v]} → dim {k} {c:.0%}" for k, c in zip(top.tolist(), confidence.tolist())]
        return crop_rows(images, crops, captions)
