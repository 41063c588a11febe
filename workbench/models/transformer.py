"""A small transformer for text: token ids (B, T) → one feature vector per text (B, D), the mean of its tokens'
last hidden states; `hidden` gives every token's state (B, T, D), which the language-model heads read.

The architecture of GPT-2 and nanoGPT, small: token and learned position embeddings, `depth` pre-norm blocks of
multi-head self-attention and a 4× MLP, a final LayerNorm. `causal=True` lets each position attend only to those
before it (GPT: the next token must not be seen); `causal=False` attends both ways over the non-[PAD] tokens
(BERT). Attention is torch's `scaled_dot_product_attention`, the fused kernel nanoGPT uses;
`attention_maps` computes the same weights by hand, for the page to show.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..data.text.tokens import PAD, VOCAB_SIZE

CONTEXT = 256  # the longest text, in tokens, a model reads


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, T, D) → queries, keys and values, each (B, heads, T, D / heads)."""
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return q, k, v

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, causal: bool) -> torch.Tensor:
        q, k, v = self.split(x)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        return self.out(y.transpose(1, 2).flatten(2))

    def weights(self, x: torch.Tensor, mask: torch.Tensor | None, causal: bool) -> torch.Tensor:
        """softmax(q kᵀ / √d) by hand: (B, heads, T, T), each row a query's attention over the keys."""
        q, k, _ = self.split(x)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=x.device)
        allowed = allowed.tril() if causal else allowed
        if mask is not None:
            allowed = allowed & mask
        return scores.masked_fill(~allowed, float("-inf")).softmax(-1)


class Block(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attention = SelfAttention(width, heads)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask, causal):
        x = x + self.dropout(self.attention(self.norm1(x), mask, causal))
        return x + self.dropout(self.mlp(self.norm2(x)))


class TextTransformer(nn.Module):
    def __init__(self, causal: bool, width: int = 128, depth: int = 4, heads: int = 4, dropout: float = 0.0):
        super().__init__()
        self.causal, self.feature_dim = causal, width
        self.token_embedding = nn.Embedding(VOCAB_SIZE, width)
        self.position_embedding = nn.Embedding(CONTEXT, width)
        self.blocks = nn.ModuleList(Block(width, heads, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(width)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """GPT-2's: weights ~ N(0, 0.02), biases 0."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def padding_mask(self, tokens: torch.Tensor) -> torch.Tensor | None:
        """(B, 1, 1, T): which keys a query may attend to — not [PAD]. A causal model needs none: [PAD] only
        ever follows the text, and no text token looks ahead."""
        return None if self.causal else (tokens != PAD)[:, None, None, :]

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.shape[1] > CONTEXT:
            raise ValueError(f"a text of {tokens.shape[1]} tokens is longer than the model's {CONTEXT}")
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        return self.token_embedding(tokens) + self.position_embedding(positions)

    def hidden(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids → (B, T, D) last hidden states."""
        x, mask = self.embed(tokens), self.padding_mask(tokens)
        for block in self.blocks:
            x = block(x, mask, self.causal)
        return self.norm(x)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) → (B, D): the mean hidden state over each text's tokens ([PAD] left out)."""
        keep = (tokens != PAD).unsqueeze(-1).float()
        return (self.hidden(tokens) * keep).sum(1) / keep.sum(1).clamp(min=1)

    @torch.no_grad()
    def attention_maps(self, tokens: torch.Tensor) -> torch.Tensor:
        """(1, T) → (depth, heads, T, T): every layer's attention weights, for a look inside."""
        x, mask, maps = self.embed(tokens), self.padding_mask(tokens), []
        for block in self.blocks:
            maps.append(block.attention.weights(block.norm1(x), mask, self.causal)[0])
            x = block(x, mask, self.causal)
        return torch.stack(maps)


def bert_tiny() -> TextTransformer:
    return TextTransformer(causal=False)


def gpt_tiny() -> TextTransformer:
    return TextTransformer(causal=True)
