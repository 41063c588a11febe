"""What the language-model tasks share: text as their data with clipped gradients (`LanguageModelTask`), the
output head that turns hidden states into a score for every token of the vocabulary, and how token ids become the
cells of a preview."""

import torch
from torch import nn

from ...data.text.tokens import PAD, VOCAB_SIZE, token_text
from ..base import PretextTask


class LanguageModelTask(PretextTask):
    """A task on text whose gradients are clipped to a norm of 1 before every step, as BERT, GPT-2 and nanoGPT
    clip theirs: a rare large gradient otherwise throws a small language model back. Measured on a character
    file (fortunes, batch 8 × 128, 1,100 steps): 2.52 nats a character without, 2.22 with."""
    kind = "text"
    max_gradient_norm = 1.0

    def before_optimizer_step(self, progress) -> None:
        torch.nn.utils.clip_grad_norm_(self.parameters(), self.max_gradient_norm)


class TokenHead(nn.Module):
    """Hidden states (…, D) → logits over the vocabulary (…, V). The output weights are the encoder's input
    embedding (weight tying, as in BERT, GPT-2 and nanoGPT: a token is read and written with the same vector;
    passed in, not kept here, so that the weights are stored once), after BERT's transform — a dense layer,
    GELU and LayerNorm — where `transform` is set."""

    def __init__(self, width: int, transform: bool):
        super().__init__()
        self.transform = (nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.LayerNorm(width)) if transform
                          else nn.Identity())
        self.bias = nn.Parameter(torch.zeros(VOCAB_SIZE))

    def forward(self, hidden: torch.Tensor, embedding: nn.Embedding) -> torch.Tensor:
        return self.transform(hidden) @ embedding.weight.T + self.bias


def cells(tokens: torch.Tensor, length: int) -> list[str]:
    """The first `length` token ids as the text of their cells."""
    return [token_text(int(t)) for t in tokens[:length]]


def text_length(tokens: torch.Tensor) -> int:
    """How many tokens of a row are text, not [PAD]."""
    return int((tokens != PAD).sum())


def guesses(logits: torch.Tensor, top: int = 3) -> str:
    """A position's logits → its `top` likeliest tokens with their probabilities: "dog 0.91 · cat 0.05"."""
    probabilities = logits.float().softmax(-1)
    values, ids = probabilities.topk(top)
    return " · ".join(f"{token_text(int(i))} {v:.2f}" for v, i in zip(values.tolist(), ids.tolist()))
