"""Jigsaw puzzles: cut the image into a grid of tiles, shuffle them, and predict which shuffle it was.

What is predicted: the index k of the permutation π_k, out of a fixed set of P well-separated permutations,
that put tile π_k(i) into slot i. Every tile goes through the same encoder on its own (a siamese network with
T branches); the T features are concatenated in slot order and classified:

    L = − 1/B Σ_b log p(k_b | f(x_b,π(1)), …, f(x_b,π(T))),   p = softmax(W [f_1; …; f_T]).

Paper: Noroozi, Favaro. "Unsupervised Learning of Visual Representations by Solving Jigsaw Puzzles",
ECCV 2016. https://arxiv.org/abs/1603.09246

What to look for: the loss starts at ln P (ln 24 ≈ 3.18 for a 2 × 2 grid) and the permutation accuracy climbs
from 1/P. To place a tile the network must know which part of an object it shows (the tip of an arrow goes on
top, the round side of a half-disc at the bottom). Tiles showing only background cannot be placed, so the
accuracy stays well below 100 %.

Letters: B images, G grid side, T = G² tiles, P permutations, D encoder features.
"""

import functools
import itertools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import PreviewRow, PretextTask, Preset, StepOutput, TaskInfo, param, register_task
from .parts.heads import mlp
from .parts.tiles import assemble, cut_tiles, recolour, resize, tile_side, whole_image


CANDIDATES = 5000  # 9! = 362,880 shuffles of 3 × 3 tiles: the set is picked from a fixed random sample of them


@functools.lru_cache(maxsize=8)
def permutation_set(tiles: int, count: int) -> torch.Tensor:
    """(P, T) permutations of T tiles chosen greedily to be far apart, computed once and always the same.

    Starting from the identity, add the candidate whose smallest Hamming distance (number of slots that
    differ) to those already chosen is largest; ties go to the first candidate. The paper picks its set for
    a large Hamming distance too: shuffles that differ in a single swap are hard to tell apart,
    and well-separated ones make a task that needs features, not guesswork. Candidates are all T! shuffles
    when there are at most CANDIDATES of them, else that many drawn from a fixed seed (the sample reaches the
    same distances as all 9! — 7 for 30 permutations, 6 for 100 — in a hundredth of the time)."""
    if math.factorial(tiles) <= CANDIDATES:
        every = torch.tensor(list(itertools.permutations(range(tiles))))                 # (T!, T)
    else:
        sample = torch.rand(CANDIDATES, tiles, generator=torch.Generator().manual_seed(0)).argsort(1)
        every = torch.cat([torch.arange(tiles)[None], sample])
    chosen = [0]
    nearest = (every != every[0]).sum(1)  # distance of each candidate to its nearest chosen permutation
    for _ in range(min(count, len(every)) - 1):
        pick = int(nearest.argmax())
        chosen.append(pick)
        nearest = torch.minimum(nearest, (every != every[pick]).sum(1))
    return every[chosen]


def shuffle(tiles: torch.Tensor, orders: torch.Tensor) -> torch.Tensor:
    """Slot i of image b gets tile orders[b, i]: (B, T, …) tiles, (B, T) orders → (B, T, …)."""
    return tiles[torch.arange(len(tiles), device=tiles.device)[:, None], orders]


def unshuffle(shuffled: torch.Tensor, orders: torch.Tensor) -> torch.Tensor:
    """The inverse of `shuffle`: put every tile back into the cell it was cut from."""
    return shuffle(shuffled, orders.argsort(dim=1))


@register_task
class Jigsaw(PretextTask):
    info = TaskInfo(
        name="jigsaw",
        family="transformation prediction",
        title="Jigsaw — put the shuffled tiles back in order",
        summary="Cut the image into a grid of tiles, shuffle them by one of a fixed set of permutations, and "
                "classify which permutation it was.",
        paper="Noroozi & Favaro, Unsupervised Learning of Visual Representations by Solving Jigsaw Puzzles, "
              "ECCV 2016",
        paper_url="https://arxiv.org/abs/1603.09246",
        look_for="Loss falls from ln P (ln 24 ≈ 3.18 for 2 × 2); permutation accuracy rises from 1/P, and the "
                 "k-NN accuracy of the whole-image features rises with it.",
    )
    preset = Preset(epochs=30, batch_size=64, learning_rate=4e-3)
    gpu_preset = Preset(epochs=200, batch_size=256, learning_rate=1e-3, weight_decay=5e-4)

    @dataclass
    class Params:
        grid: int = param(2, "Tiles per side. The paper cuts 3 × 3 from 225-px crops; at 32 px a 2 × 2 grid "
                          "keeps tiles big enough to show a part of a shape. Try 3 with a resolution of 64.",
                          choices=(2, 3))
        permutations: int = param(24, "Size P of the fixed permutation set (only 24 exist for 2 × 2; at most "
                                  "that many are used). The paper takes 1,000 of the 9! for 3 × 3: a larger "
                                  "set of well-separated shuffles is a harder task and teaches more. Try 3 × 3 "
                                  "with 30 or 100.", 2, 100, 1)
        resolution: int = param(48, "The image (a random crop of it) is resized to this many pixels before it "
                                "is cut, so that each tile has enough pixels for the encoder.",
                                choices=(32, 48, 64))
        gap: int = param(6, "Pixels cut away between neighbouring tiles. Without a gap, lines and gradients "
                         "running across a border tell which tiles touch — the shortcut the paper's gap "
                         "removes.", 0, 16, 1)
        jitter: int = param(3, "Each tile moves at random by up to this many pixels (at most gap / 2), so "
                            "tiles do not line up exactly either.", 0, 8, 1)
        crop_min_scale: float = param(0.5, "Smallest random crop of the image (fraction of its area) before "
                                      "it is cut; 1.0 always cuts the whole image.", 0.1, 1.0, 0.05)
        tile_color_jitter: float = param(0.4, "Colour-jitter strength drawn for every tile on its own, so "
                                         "neighbouring tiles do not match by brightness or tint.", 0.0, 1.5, 0.1)
        tile_grayscale_probability: float = param(0.3, "Chance that a tile is turned grey: colour fringes "
                                                  "(chromatic aberration) then tell nothing about where it "
                                                  "was.", 0.0, 1.0, 0.05)
        hidden_dim: int = param(512, "Width of the classifier on the concatenated tile features (the paper: "
                                "fc7 of 4096 units on 9 × 512).", 64, 4096, 64)
        read_at_tile_scale: bool = param(True, "The probes read the whole image at the resolution the tiles "
                                         "are cut from, so that its parts have the size the encoder learned "
                                         "them at (a tile's), not two thirds of it. k-NN on Shapes 0.55 "
                                         "against 0.51 at the image's own 32 px; on CIFAR-10 photos 0.39 "
                                         "against 0.37.")

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        p = self.params
        tile_side(p.resolution, p.grid, p.gap)  # refuse a grid and gap that leave no tile to see, here
        tiles = p.grid * p.grid
        self.register_buffer("orders", permutation_set(tiles, p.permutations), persistent=False)  # (P, T)
        self.classifier = mlp(tiles * encoder.feature_dim, p.hidden_dim, len(self.orders))

    def make_inputs(self, images, gen, indices=None):
        p = self.params
        images = resize(images, gen, p.resolution, p.crop_min_scale)
        tiles, _ = cut_tiles(images, gen, p.grid, p.gap, p.jitter)                   # (B, T, 3, t, t)
        labels = torch.randint(len(self.orders), (len(images),), generator=gen, device=images.device)
        shuffled = recolour(shuffle(tiles, self.orders[labels]), gen, p.tile_color_jitter,
                            p.tile_grayscale_probability)
        return images, shuffled, labels

    def logits(self, shuffled: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, t, t) tiles in slot order → (B, P): every tile through the same encoder, then concat."""
        b = shuffled.shape[0]
        features = self.encoder(shuffled.flatten(0, 1))                             # (B·T, D)
        return self.classifier(features.view(b, -1))                               # (B, T·D) → (B, P)

    def loss(self, inputs, progress):
        _, shuffled, labels = inputs
        logits = self.logits(shuffled)
        accuracy = (logits.argmax(1) == labels).float().mean()
        return StepOutput(F.cross_entropy(logits, labels), {"permutation_accuracy": accuracy})

    def features(self, images):
        p = self.params
        return self.encoder(whole_image(images, p.resolution) if p.read_at_tile_scale else images)

    def preview(self, images, gen, predict=False):
        resized, shuffled, labels = self.make_inputs(images, gen)
        grid = self.params.grid
        rows = []
        for b, k in enumerate(labels.tolist()):
            order = self.orders[k].tolist()
            rows.append(PreviewRow([resized[b], assemble(shuffled[b], grid)],
                                   ["the crop", f"shuffled: #{k} ({' '.join(map(str, order))})"]))
        if predict:
            with torch.no_grad():
                confidence, guess = self.logits(shuffled).softmax(1).max(1)
            for row, tiles, k, g, c in zip(rows, shuffled, labels.tolist(), guess.tolist(), confidence.tolist()):
                mark = "right" if g == k else "wrong"
                row.images.append(assemble(tiles, grid, slots=self.orders[g].tolist()))  # back where it guesses
                row.captions.append(f"guess #{g} ({' '.join(map(str, self.orders[g].tolist()))}) {c:.0%}, {mark}")
        return rows
