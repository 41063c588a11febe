"""Relative position (context prediction): given a centre patch and one of its 8 neighbours, say where the
neighbour sits.

What is predicted: the label y ∈ {0, …, 7} of patch B's cell around patch A in a 3 × 3 grid (0 above-left,
1 above, 2 above-right, 3 left, 4 right, 5 below-left, 6 below, 7 below-right). Both patches go through the
same encoder; their features are concatenated and classified:

    L = − 1/B Σ_b log p(y_b | f(A_b), f(B_b)),   p = softmax(W [f(A); f(B)]).

Paper: Doersch, Gupta, Efros. "Unsupervised Visual Representation Learning by Context Prediction",
ICCV 2015. https://arxiv.org/abs/1505.05192

What to look for: the loss starts at ln 8 ≈ 2.08 and the position accuracy climbs from 12.5 %. To say that an
arrow's tip lies above its shaft, or a ring's inner edge to the left of its outer one, the network has to know
what the parts of objects look like. Pairs that show only background cannot be told apart: the accuracy stays
well below 100 %.

Letters: B images (one pair each), D encoder features, t patch side.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import PreviewRow, PretextTask, Preset, StepOutput, TaskInfo, param, register_task
from .parts.heads import mlp
from .parts.tiles import assemble, cut_tiles, recolour, resize, tile_side, whole_image

GRID, CENTRE = 3, 4
NEIGHBOURS = (0, 1, 2, 3, 5, 6, 7, 8)  # the cells of the 3 × 3 grid around the centre, label y ↦ cell
NAMES = ("above-left", "above", "above-right", "left", "right", "below-left", "below", "below-right")


def drop_colours(patches: torch.Tensor, gen: torch.Generator, probability: float) -> torch.Tensor:
    """Colour dropping on (N, 3, t, t) patches: with `probability`, keep one random channel and replace the
    other two by flat grey with faint noise. The paper: "randomly drop 2 of the 3 color channels from each
    patch, replacing the dropped colors with Gaussian noise". A lens bends red, green and blue differently
    (chromatic aberration): the channels are shifted against each other more the farther a patch lies from
    the image centre, and a single channel has no shift to measure."""
    n, device = patches.shape[0], patches.device
    keep = torch.randint(3, (n,), generator=gen, device=device)
    drop = torch.rand(n, generator=gen, device=device) < probability
    noise = (0.5 + 0.01 * torch.randn(patches.shape, generator=gen, device=device)).clamp(0, 1)
    kept = F.one_hot(keep, 3).bool()[:, :, None, None] | ~drop[:, None, None, None]  # (N, 3, 1, 1)
    return torch.where(kept, patches, noise)


@register_task
class RelativePosition(PretextTask):
    info = TaskInfo(
        name="relative_position",
        family="transformation prediction",
        title="Relative position — where does this patch go?",
        summary="Show a centre patch and one of its eight neighbours, and classify which neighbour it is.",
        paper="Doersch et al., Unsupervised Visual Representation Learning by Context Prediction, ICCV 2015",
        paper_url="https://arxiv.org/abs/1505.05192",
        look_for="Loss falls from ln 8 ≈ 2.08; position accuracy rises from 12.5 %, and the k-NN accuracy of "
                 "the whole-image features rises with it.",
    )
    preset = Preset(epochs=36, batch_size=64, learning_rate=4e-3)
    # Photos: read at the patches' scale (see the parameter); Shapes' k-NN reads better at their own 32 px.
    real_data_params = {"read_at_tile_scale": True}
    gpu_preset = Preset(epochs=200, batch_size=256, learning_rate=1e-3, weight_decay=5e-4)

    @dataclass
    class Params:
        resolution: int = param(48, "The image (a random crop of it) is resized to this many pixels before "
                                "the 3 × 3 grid is cut, so that each patch has enough pixels for the encoder.",
                                choices=(32, 48, 64))
        gap: int = param(3, "Pixels between neighbouring patches. Without a gap, a line or gradient running "
                         "straight across the border gives the answer away. The paper leaves half a patch; "
                         "at 48 px a quarter (3 of 13 px) leaves more of each shape to see, and the features "
                         "come out better.", 0, 16, 1)
        jitter: int = param(1, "Each patch moves at random by up to this many pixels (at most gap / 2; the "
                            "paper: 7 of 96), so that patches do not line up exactly either.", 0, 8, 1)
        crop_min_scale: float = param(0.7, "Smallest random crop of the image (fraction of its area) before "
                                      "it is cut; 1.0 always cuts the whole image.", 0.1, 1.0, 0.05)
        color_drop_probability: float = param(0.5, "Chance that a patch keeps only one random colour channel "
                                              "(the paper drops two channels of every patch). Against "
                                              "chromatic aberration and colour gradients that run across "
                                              "the image.", 0.0, 1.0, 0.05)
        patch_color_jitter: float = param(0.4, "Colour-jitter strength drawn for every patch on its own, so "
                                          "that A and B do not match by brightness or tint.", 0.0, 1.5, 0.1)
        patch_grayscale_probability: float = param(0.2, "Chance that a patch is turned grey instead.",
                                                   0.0, 1.0, 0.05)
        pairs_per_image: int = param(8, "How many of the 8 neighbours are asked about per image, each as its "
                                     "own pair with the same A. The paper draws one pair at a time; asking "
                                     "about all 8 reuses A's features and gives 8 labels per image.", 1, 8, 1)
        hidden_dim: int = param(512, "Width of the classifier on the two concatenated patch features (the "
                                "paper: fc layers of 4096 on a pair of fc6 features).", 64, 4096, 64)
        read_at_tile_scale: bool = param(False, "The probes read the whole image at the resolution the patches "
                                         "are cut from, so that its parts have the size the encoder learned "
                                         "them at (a patch's). On photos it is on: k-NN on CIFAR-10 0.41 "
                                         "against 0.37 at the image's own 32 px (linear 0.50 against 0.45). "
                                         "On Shapes the k-NN falls with it, 0.51 to 0.45 (linear 0.77 to 0.82).")

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        tile_side(self.params.resolution, GRID, self.params.gap)  # refuse a gap that leaves no patch to see
        self.register_buffer("cells", torch.tensor(NEIGHBOURS), persistent=False)
        self.classifier = mlp(2 * encoder.feature_dim, self.params.hidden_dim, len(NEIGHBOURS))

    def make_inputs(self, images, gen, indices=None):
        p = self.params
        images = resize(images, gen, p.resolution, p.crop_min_scale)
        tiles, _ = cut_tiles(images, gen, GRID, p.gap, p.jitter)                     # (B, 9, 3, t, t)
        n, k = len(images), p.pairs_per_image
        labels = torch.rand(n, len(NEIGHBOURS), generator=gen, device=images.device).argsort(1)[:, :k]  # (B, K)
        a = tiles[:, CENTRE]                                                         # (B, 3, t, t)
        b = tiles[torch.arange(n, device=images.device)[:, None], self.cells[labels]]  # (B, K, 3, t, t)
        patches = recolour(torch.cat([a, b.flatten(0, 1)]), gen, p.patch_color_jitter,
                           p.patch_grayscale_probability)
        patches = drop_colours(patches, gen, p.color_drop_probability)
        return images, patches[:n], patches[n:].view_as(b), labels

    def logits(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """A (B, 3, t, t) and its neighbours B (B, K, 3, t, t) → (B, K, 8): one encoder pass for all
        patches, then every pair (A, B_k) concatenated and classified."""
        n, k = b.shape[:2]
        features = self.encoder(torch.cat([a, b.flatten(0, 1)]))                   # (B + B·K, D)
        fa = features[:n, None].expand(n, k, -1)                                    # (B, K, D)
        fb = features[n:].view(n, k, -1)                                            # (B, K, D)
        return self.classifier(torch.cat([fa, fb], dim=2).flatten(0, 1)).view(n, k, -1)

    def loss(self, inputs, progress):
        _, a, b, labels = inputs
        logits = self.logits(a, b).flatten(0, 1)                                    # (B·K, 8)
        labels = labels.flatten()
        accuracy = (logits.argmax(1) == labels).float().mean()
        return StepOutput(F.cross_entropy(logits, labels), {"position_accuracy": accuracy})

    def features(self, images):
        p = self.params
        return self.encoder(whole_image(images, p.resolution) if p.read_at_tile_scale else images)

    def preview(self, images, gen, predict=False):
        resized, a, b, labels = self.make_inputs(images, gen)
        first = labels[:, 0].tolist()  # every image's first pair: the others differ only in B
        rows = []
        for i, y in enumerate(first):
            board = assemble(torch.stack([a[i], b[i, 0]]), GRID, slots=[CENTRE, NEIGHBOURS[y]])
            caption = f"A in the centre, B {NAMES[y]} (label {y})"
            rows.append(PreviewRow([resized[i], board], ["the crop", caption]))
        if predict:
            with torch.no_grad():
                confidence, guess = self.logits(a, b[:, :1]).softmax(2)[:, 0].max(1)
            for i, (row, y, g, c) in enumerate(zip(rows, first, guess.tolist(), confidence.tolist())):
                board = assemble(torch.stack([a[i], b[i, 0]]), GRID, slots=[CENTRE, NEIGHBOURS[g]])
                row.images.append(board)  # B where the model puts it
                row.captions.append(f"guess: {NAMES[g]} {c:.0%}, {'right' if g == y else 'wrong'}")
        return rows
