"""MAE: hide three quarters of an image's patches and reconstruct their pixels from the rest.

What is predicted: the pixels of every masked patch, from the visible patches alone. The ViT encoder sees only
the K = round((1 − r)·L) visible patches; a light decoder gets their tokens back in place, a shared learned
mask token at every hidden place, and predicts all L patches. Loss: mean squared error over masked patches only,

    L = 1/|M| Σ_{(b, i) ∈ M} ‖ x̂_{b,i} − t_{b,i} ‖² / (3P²),

where t is the patch's pixels or, with norm_pix_loss, the patch normalised by its own mean and variance,
(x − mean) / √(var + 10⁻⁶).

Paper: He, Chen, Xie, Li, Dollár, Girshick. "Masked Autoencoders Are Scalable Vision Learners", CVPR 2022.
https://arxiv.org/abs/2111.06377

What to look for: the loss falls fast (colours and backgrounds are easy to fill in) and then slowly, while the
decoder learns where the shape's edges go. k-NN on MAE features is known to be weak (the paper's features are
meant to be fine-tuned); the linear probe shows more of what was learned.

Letters: B images, L patches, K visible patches, D encoder width, E decoder width, P patch side.
"""

from dataclasses import dataclass

import torch
from torch import nn

from .. import augment
from ..models.vit import Block, init_weights, sincos_position_embedding
from . import PreviewRow, PretextTask, Preset, StepOutput, TaskInfo, param, register_task

DECODER_WIDTH, DECODER_HEADS = 128, 4


def patchify(images: torch.Tensor, p: int) -> torch.Tensor:
    """(B, 3, H, W) → (B, L, P·P·3): patches row-major, each flattened row by row, channels last."""
    b, c, h, w = images.shape
    patches = images.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)  # (B, h, w, P, P, 3)
    return patches.reshape(b, (h // p) * (w // p), p * p * c)


def unpatchify(patches: torch.Tensor, p: int) -> torch.Tensor:
    """(B, L, P·P·3) → (B, 3, H, W), the inverse of `patchify` for a square grid."""
    b, n, _ = patches.shape
    g = round(n ** 0.5)
    return patches.reshape(b, g, g, p, p, 3).permute(0, 5, 1, 3, 2, 4).reshape(b, 3, g * p, g * p)


def random_masking(b: int, num_patches: int, mask_ratio: float, gen: torch.Generator, device):
    """Per image, keep K = round((1 − r)·L) patches drawn uniformly without replacement ("random sampling").
    Returns `keep` (B, K) patch indices, ascending, and `masked` (B, L), True where a patch is hidden."""
    kept = round((1 - mask_ratio) * num_patches)
    order = torch.rand(b, num_patches, generator=gen, device=device).argsort(dim=1)  # a random permutation
    keep = order[:, :kept].sort(dim=1).values
    masked = torch.ones(b, num_patches, dtype=torch.bool, device=device).scatter(1, keep, False)
    return keep, masked


def normalise_flat_patches(patches: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Each flattened patch (B, L, P·P·3) to mean 0 and unit variance over its own pixels, all channels together:
    the paper's normalised-pixel target."""
    mean, var = patches.mean(dim=-1, keepdim=True), patches.var(dim=-1, keepdim=True)
    return (patches - mean) / (var + eps).sqrt()


def masked_mse(prediction: torch.Tensor, target: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
    """Mean squared error per patch (B, L, ·) → (B, L), averaged over the masked patches only."""
    per_patch = (prediction - target).pow(2).mean(dim=-1)
    return (per_patch * masked).sum() / masked.sum()


@register_task
class MAE(PretextTask):
    info = TaskInfo(
        name="mae",
        family="reconstruction",
        title="MAE — rebuild the hidden patches",
        summary="Hide 75 % of the image's patches and reconstruct their pixels from the visible quarter.",
        paper="He et al., Masked Autoencoders Are Scalable Vision Learners, CVPR 2022",
        paper_url="https://arxiv.org/abs/2111.06377",
        look_for="The loss falls fast, then slowly as edges appear in the reconstructions; k-NN is known to "
                 "be weak for MAE — read the linear probe.",
        knn_weak=True,
    )
    encoders = ("vit_tiny",)
    preset = Preset(epochs=12, batch_size=64, learning_rate=1.5e-3, weight_decay=0.05)
    # The paper's recipe for ViTs: AdamW, base lr 1.5e-4 × batch / 256, weight decay 0.05, 800+ epochs.
    gpu_preset = Preset(epochs=400, batch_size=512, learning_rate=3e-4, weight_decay=0.05)

    @dataclass
    class Params:
        mask_ratio: float = param(0.75, "Fraction of patches hidden from the encoder (the paper: 0.75). Low "
                                  "ratios are solved by copying neighbours; try 0.25 and 0.9.", 0.05, 0.95, 0.05)
        norm_pix_loss: bool = param(True, "Predict each patch normalised to mean 0 and variance 1, as the "
                                    "paper's best setting: the loss cares about edges and texture, not about "
                                    "brightness. Off: plain pixels.")
        decoder_depth: int = param(2, "Transformer blocks in the decoder (the paper: 8; 1 works for "
                                   "fine-tuning). A deeper decoder leaves the encoder more abstract.", 1, 8, 1)
        crop_min_scale: float = param(0.2, "Smallest random crop before masking, as a fraction of the image area "
                                      "(the paper: 0.2). 1.0 turns cropping off.", 0.1, 1.0, 0.05)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        p = encoder.patch_size
        self.decoder_embed = nn.Linear(encoder.feature_dim, DECODER_WIDTH)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, DECODER_WIDTH))
        self.register_buffer("decoder_position", sincos_position_embedding(encoder.grid, DECODER_WIDTH),
                             persistent=False)
        self.decoder = nn.Sequential(*[Block(DECODER_WIDTH, DECODER_HEADS)
                                       for _ in range(self.params.decoder_depth)], nn.LayerNorm(DECODER_WIDTH))
        self.predict_pixels = nn.Linear(DECODER_WIDTH, p * p * 3)
        for part in (self.decoder_embed, self.decoder, self.predict_pixels):
            part.apply(init_weights)
        nn.init.normal_(self.mask_token, std=0.02)

    def make_inputs(self, images, gen, indices=None):
        p = self.params
        images = augment.random_resized_crop(images, gen, scale=(p.crop_min_scale, 1.0))  # and a flip
        keep, masked = random_masking(images.shape[0], self.encoder.num_patches, p.mask_ratio, gen, images.device)
        return images, keep, masked

    def reconstruct(self, images, keep):
        """Predicted patches (B, L, P·P·3) of every image from its visible patches `keep` (B, K)."""
        visible = self.decoder_embed(self.encoder.forward_visible(images, keep))       # (B, K, E)
        b, k, e = visible.shape
        # "The full set of tokens: encoded visible patches, and mask tokens", each at its own place.
        tokens = self.mask_token.expand(b, self.encoder.num_patches, e)
        visible = visible.to(tokens.dtype)  # bfloat16 under autocast
        tokens = tokens.scatter(1, keep[..., None].expand(b, k, e), visible) + self.decoder_position
        return self.predict_pixels(self.decoder(tokens))

    def target(self, images):
        patches = patchify(images, self.encoder.patch_size)
        return normalise_flat_patches(patches) if self.params.norm_pix_loss else patches

    def loss(self, inputs, progress):
        images, keep, masked = inputs
        prediction = self.reconstruct(images, keep)
        return StepOutput(masked_mse(prediction, self.target(images), masked))

    def preview(self, images, gen, predict=False):
        crops, keep, masked = self.make_inputs(images, gen)
        p, b = self.encoder.patch_size, len(images)
        patches = patchify(crops, p)                                                    # (B, L, P·P·3)
        shown_input = unpatchify(torch.where(masked[..., None], 0.5, patches), p)      # hidden patches grey
        columns = [images, shown_input, crops]
        captions = [["original"] * b, [f"input: {keep.shape[1]} of {masked.shape[1]} patches"] * b, ["target"] * b]
        if self.params.norm_pix_loss:  # what the loss compares: each patch to ±2 of its standard deviations
            columns[2] = unpatchify(normalise_flat_patches(patches) / 4 + 0.5, p).clamp(0, 1)
            captions[2] = ["target: each patch normalised"] * b
        if predict:
            with torch.no_grad():
                prediction = self.reconstruct(crops, keep)
                errors = ((prediction - self.target(crops)).pow(2).mean(-1) * masked).sum(1) / masked.sum(1)
            if self.params.norm_pix_loss:  # back to pixels with each true patch's mean and spread
                mean, var = patches.mean(-1, keepdim=True), patches.var(-1, keepdim=True)
                prediction = prediction * (var + 1e-6).sqrt() + mean
            # As in the paper's figures: the visible patches pasted back around the reconstructed ones.
            columns.append(unpatchify(torch.where(masked[..., None], prediction, patches), p).clamp(0, 1))
            captions.append([f"reconstruction, MSE {e:.3f}" for e in errors.tolist()])
        return [PreviewRow([column[i] for column in columns], [caption[i] for caption in captions])
                for i in range(b)]
