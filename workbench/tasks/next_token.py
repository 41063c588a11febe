"""Next-token prediction (GPT): read a text from left to right and predict every next token.

What is predicted: token x_{t+1} from x_1 … x_t, at every position at once. The attention is causal — a position
sees only those before it — so no answer is in view; the targets are the inputs shifted by one.
Loss: cross-entropy of every next token,

    L = − 1/T Σ_t log p(x_{t+1} | x_1 … x_t),

in nats per token; divided by ln 2, bits per token (per character on a character model: uniform over 65
characters is 6 bits, English text about 1.3 with large models).

Paper: Radford, Narasimhan, Salimans, Sutskever. "Improving Language Understanding by Generative Pre-Training",
OpenAI 2018. https://openai.com/research/language-unsupervised

What to look for: the training and held-out losses fall together, then part when the model starts learning the
training text by heart (the best checkpoint is kept); samples go from noise to words to the text's own layout.

Letters: B texts of T tokens, D hidden width, V the vocabulary.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data.text.tokens import PAD
from . import Preset, StepOutput, TaskInfo, TextPreviewRow, param, register_task
from .parts.text import LanguageModelTask, TokenHead, cells, guesses, text_length

IGNORE = -100  # cross-entropy's "no target here": positions after the text's end


def shifted(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) → inputs x_1 … x_{T−1} and targets x_2 … x_T, the targets IGNORE where they are [PAD]."""
    targets = tokens[:, 1:]
    return tokens[:, :-1], torch.where(targets == PAD, torch.full_like(targets, IGNORE), targets)


@register_task
class NextToken(LanguageModelTask):
    info = TaskInfo(
        name="next_token",
        family="language modelling",
        title="GPT — predict the next word",
        summary="Read a text left to right and predict every next token from those before it.",
        paper="Radford et al., Improving Language Understanding by Generative Pre-Training, OpenAI 2018",
        paper_url="https://openai.com/research/language-unsupervised",
        look_for="Training and held-out loss fall together, then part; samples turn from noise into words.",
    )
    encoders = ("gpt_tiny",)
    # Roles: 64 stories (2,560 tokens) a step; fewer lost 4 k-NN points there in more seconds. Real text learns
    # more from more, smaller steps: 12 pieces of 64 characters, nanoGPT's CPU batch, at 3x its learning rate
    # (fortunes, 1,800 steps: 1.82 nats a character against 1.91 at its 1e-3; benchmarks/JOURNAL.md).
    preset = Preset(epochs=16, batch_size=64, learning_rate=2e-3, weight_decay=0.1, data="roles",
                    tokens_per_step=2560)
    real_data_preset = Preset(epochs=3, batch_size=12, learning_rate=3e-3, weight_decay=0.1, tokens_per_step=768)
    gpu_preset = Preset(epochs=200, batch_size=256, learning_rate=1e-3, weight_decay=0.1, data="roles")

    @dataclass
    class Params:
        temperature: float = param(0.8, "How the samples are drawn: near 0 always the likeliest next token "
                                   "(greedy: the same text every time); 1 as likely as the model says; above 1 "
                                   "flatter, stranger. Training does not use it.", 0.0, 2.0, 0.1)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        self.head = TokenHead(encoder.feature_dim, transform=False)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head(hidden, self.encoder.token_embedding)

    def make_inputs(self, tokens, gen, indices=None):
        return shifted(tokens)

    def loss(self, inputs, progress):
        x, targets = inputs
        logits = self.logits(self.encoder.hidden(x))  # (B, T − 1, V)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE)
        return StepOutput(loss, {"bits_per_token": loss.detach() / math.log(2)})

    def held_out_metrics(self, tokens, gen):
        loss = self.loss(self.make_inputs(tokens, gen), None).loss
        return {"val_loss": loss, "val_bits_per_token": loss / math.log(2)}

    @torch.no_grad()
    def generate(self, prompt: torch.Tensor, new_tokens: int, gen: torch.Generator,
                 temperature: float | None = None, context: int | None = None) -> torch.Tensor:
        """(T,) prompt tokens → the prompt and `new_tokens` more, each drawn from the model's next-token
        probabilities at `temperature` (the task's own where None; ≤ 0.01 takes the likeliest: greedy), each
        from the last `context` tokens: the longest text it trained on (its later positions were never trained),
        by default all the positions it has."""
        temperature = self.params.temperature if temperature is None else temperature
        tokens = prompt.clone()
        context = context or self.encoder.position_embedding.num_embeddings
        for _ in range(new_tokens):
            logits = self.logits(self.encoder.hidden(tokens[-context:][None]))[0, -1]
            logits[PAD] = -float("inf")  # the model never writes filler
            if temperature <= 0.01:
                token = logits.argmax()
            else:
                token = torch.multinomial((logits / temperature).softmax(-1), 1, generator=gen)[0]
            tokens = torch.cat([tokens, token.view(1)])
        return tokens

    def preview(self, tokens, gen, predict=False):
        x, targets = self.make_inputs(tokens, gen)
        if predict:
            with torch.no_grad():
                logits = self.logits(self.encoder.hidden(x))
        rows = []
        for row in range(len(tokens)):
            length = max(1, text_length(tokens[row]) - 1)
            lines = [("input", cells(x[row], length)), ("id", [str(int(t)) for t in x[row, :length]]),
                     ("target", cells(tokens[row, 1:], length))]
            if predict:
                lines.append(("model", [guesses(logits[row, i]) for i in range(length)]))
            rows.append(TextPreviewRow(lines))
        return rows
