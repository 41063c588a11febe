"""A small Vision Transformer for 32×32 images: the encoder MAE trains.

The image is cut into P×P patches (4 px at 32 px: an 8×8 grid, L = 64 tokens); each patch is projected to a
D-dimensional token, a fixed 2-D sine-cosine position embedding is added, and pre-norm Transformer blocks mix
the tokens. The representation is the mean of the patch tokens (MAE: "our MAE works similarly well without
[cls] token (with average pooling)"), so there is no class token.

`forward_visible(x, keep)` runs the same network on a subset of tokens per image — MAE's encoder "operates
only on visible, unmasked patches" — which is what makes a 75 % mask four times cheaper.
Letters: B images, L patches, K kept patches, D token width, P patch side.
"""

import torch
import torch.nn.functional as F
from torch import nn

PIXEL_MEAN, PIXEL_STD = 0.5, 0.25  # [0, 1] → about mean 0 and variance 1 on natural and generated images


def sincos_position_embedding(grid: int, dim: int) -> torch.Tensor:
    """(grid², dim) fixed embedding of the patch positions, row-major: the first half of the channels encodes
    the row, the second half the column, each as sines and cosines at geometric frequencies (Vaswani et al.)."""
    quarter = dim // 4
    frequencies = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter)
    rows, cols = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64),
                                indexing="ij")

    def encode(position):
        angles = position.flatten()[:, None] * frequencies[None]  # (L, dim/4)
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    return torch.cat([encode(rows), encode(cols)], dim=1).float()


class Block(nn.Module):
    """Pre-norm Transformer block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x):                                              # (B, N, D)
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v)             # (B, heads, N, D/heads)
        x = x + self.proj(attended.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.norm2(x))


def init_weights(module: nn.Module) -> None:
    """Xavier-uniform linear layers with zero biases, as in ViT and MAE."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


class ViT(nn.Module):
    def __init__(self, image_size: int = 32, patch_size: int = 4, dim: int = 192, depth: int = 4, heads: int = 3):
        super().__init__()
        self.patch_size, self.grid = patch_size, image_size // patch_size
        self.num_patches, self.feature_dim = self.grid ** 2, dim
        # A P×P convolution with stride P is the linear projection of each flattened patch.
        self.patch_embed = nn.Conv2d(3, dim, patch_size, stride=patch_size)
        self.register_buffer("position", sincos_position_embedding(self.grid, dim), persistent=False)  # (L, D)
        self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.apply(init_weights)
        nn.init.xavier_uniform_(self.patch_embed.weight.view(dim, -1))  # as a linear layer, like MAE
        nn.init.zeros_(self.patch_embed.bias)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] → patch tokens with their positions (B, L, D), patches row-major."""
        # Centred and scaled like the normalised pixels ViTs are fed: on raw [0, 1] pixels MAE's decoder sat at
        # "predict the average patch" for its first ~100 steps on Shapes; centred, it left that plateau in 20.
        x = (x - PIXEL_MEAN) / PIXEL_STD
        return self.patch_embed(x).flatten(2).transpose(1, 2) + self.position

    def forward_visible(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Encode only the patches `keep` (B, K) of each image → (B, K, D), in the order of `keep`."""
        tokens = self.tokens(x)
        visible = tokens.gather(1, keep[..., None].expand(-1, -1, tokens.shape[2]))
        return self.norm(self.blocks(visible))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The representation (B, D): the mean of all patch tokens of the whole, unmasked image."""
        return self.norm(self.blocks(self.tokens(x))).mean(dim=1)
