"""Masked language modelling (BERT): hide some of a text's words and predict them from the words on both sides.

What is predicted: the original token at each chosen position. 15 % of the words are chosen; of their tokens
80 % are replaced by [MASK], 10 % by a random token and 10 % left as they are — so the model cannot tell which
tokens to doubt, and must keep a good representation of every one. Where tokens are characters, whole words are
chosen (whole-word masking): a masked letter inside a word is guessed from its neighbours alone, which teaches
spelling, not meaning.
Loss: cross-entropy at the chosen positions M only,

    L = − 1/|M| Σ_{i∈M} log p(x_i | x̃),     x̃ the text with its chosen tokens masked.

Paper: Devlin, Chang, Lee, Toutanova. "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding", NAACL 2019. https://arxiv.org/abs/1810.04805

What to look for: the loss starts near ln V (every token equally likely) and the masked-token accuracy rises;
on Roles, guessing a masked animal needs who did what to whom, which is the label — watch the k-NN follow.

Letters: B texts of T tokens, D hidden width, V the vocabulary, M the chosen positions.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data.text.tokens import MASK, PAD, word_ids
from . import Preset, StepOutput, TaskInfo, TextPreviewRow, param, register_task
from .parts.text import LanguageModelTask, TokenHead, cells, guesses, text_length

IGNORE = -100  # cross-entropy's "no target here"


def mask_tokens(tokens: torch.Tensor, gen: torch.Generator, probability: float, mask_share: float,
                random_share: float, whole_words: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) tokens → (inputs, targets): the inputs with the chosen tokens masked, replaced or kept, and the
    targets: the original token where chosen, IGNORE elsewhere. At least one token of the batch is chosen."""
    text = tokens != PAD
    if whole_words:
        words = word_ids(tokens)
        chosen_word = torch.rand(int(words.max()) + 1, generator=gen, device=tokens.device) < probability
        chosen = (words >= 0) & chosen_word[words.clamp(min=0)]
    else:
        chosen = text & (torch.rand(tokens.shape, generator=gen, device=tokens.device) < probability)
    if not chosen.any():
        chosen = chosen.clone()
        chosen.view(-1)[text.view(-1).nonzero()[0]] = True
    action = torch.rand(tokens.shape, generator=gen, device=tokens.device)
    inputs = tokens.clone()
    inputs[chosen & (action < mask_share)] = MASK
    replace = chosen & (action >= mask_share) & (action < mask_share + random_share)
    pool = tokens[text]  # random tokens are drawn from the batch's own: the vocabulary the data uses
    inputs[replace] = pool[torch.randint(len(pool), (int(replace.sum()),), generator=gen, device=tokens.device)]
    return inputs, torch.where(chosen, tokens, torch.full_like(tokens, IGNORE))


@register_task
class MaskedLanguageModel(LanguageModelTask):
    info = TaskInfo(
        name="mlm",
        family="language modelling",
        title="BERT — predict the masked words",
        summary="Hide 15 % of a text's words and predict each from the words on both sides of it.",
        paper="Devlin et al., BERT: Pre-training of Deep Bidirectional Transformers for Language "
              "Understanding, NAACL 2019",
        paper_url="https://arxiv.org/abs/1810.04805",
        look_for="Loss falls from ln V; masked-token accuracy rises; the held-out loss follows the training one.",
    )
    encoders = ("bert_tiny",)
    # A batch of 2,560 tokens: 64 Roles stories, 39 pieces of a plain file. On real text the loss first sits on
    # the letters' frequencies for minutes (see the card); smaller, faster steps did not shorten that
    # (benchmarks/JOURNAL.md).
    preset = Preset(epochs=12, batch_size=64, learning_rate=1e-3, weight_decay=0.01, data="roles",
                    tokens_per_step=2560)
    gpu_preset = Preset(epochs=200, batch_size=256, learning_rate=1e-3, weight_decay=0.01, data="roles")

    @dataclass
    class Params:
        mask_probability: float = param(0.15, "Share of the words chosen for prediction; BERT's 15 %. More "
                                        "leaves too little context, fewer gives little to learn from per text.",
                                        0.05, 0.5, 0.05)
        mask_share: float = param(0.8, "Of the chosen tokens, the share replaced by [MASK] (BERT: 80 %).",
                                  0.0, 1.0, 0.1)
        random_share: float = param(0.1, "Of the chosen tokens, the share replaced by a random token (BERT: "
                                    "10 %); the rest stay as they are.", 0.0, 1.0, 0.1)
        whole_words: bool = param(True, "Choose whole words: every token of a chosen word is predicted. Off, "
                                  "single characters are, and their neighbours give them away.")

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        if self.params.mask_share + self.params.random_share > 1:
            raise ValueError("mask_share + random_share must be at most 1 (the rest of the chosen tokens are kept)")
        self.head = TokenHead(encoder.feature_dim, transform=True)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head(hidden, self.encoder.token_embedding)

    def make_inputs(self, tokens, gen, indices=None):
        p = self.params
        return mask_tokens(tokens, gen, p.mask_probability, p.mask_share, p.random_share, p.whole_words)

    def loss(self, inputs, progress):
        masked, targets = inputs
        chosen = targets != IGNORE
        logits = self.logits(self.encoder.hidden(masked)[chosen])  # (|M|, V): the chosen positions only
        accuracy = (logits.argmax(1) == targets[chosen]).float().mean()
        return StepOutput(F.cross_entropy(logits, targets[chosen]), {"masked_accuracy": accuracy})

    def held_out_metrics(self, tokens, gen):
        out = self.loss(self.make_inputs(tokens, gen), None)
        return {"val_loss": out.loss, "val_masked_accuracy": out.metrics["masked_accuracy"]}

    def preview(self, tokens, gen, predict=False):
        masked, targets = self.make_inputs(tokens, gen)
        if predict:
            with torch.no_grad():
                logits = self.logits(self.encoder.hidden(masked))
        rows = []
        for row in range(len(tokens)):
            length = text_length(tokens[row])
            lines = [("text", cells(tokens[row], length)),
                     ("id", [str(int(t)) for t in tokens[row, :length]]),
                     ("input", cells(masked[row], length)),
                     ("target", [cell if t != IGNORE else "" for cell, t in
                                 zip(cells(tokens[row], length), targets[row, :length].tolist())])]
            if predict:
                lines.append(("model", [guesses(logits[row, i]) if targets[row, i] != IGNORE else ""
                                        for i in range(length)]))
            rows.append(TextPreviewRow(lines))
        return rows
