"""What the language-model tasks share: the output head that turns hidden states into a score for every token
of the vocabulary, and how token ids become the cells of a preview."""

import torch
from torch import nn

from ...data.text.tokens import PAD, VOCAB_SIZE, token_text


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
