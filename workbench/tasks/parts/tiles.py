"""Tiles cut from a grid with gaps and jitter: the inputs of jigsaw and relative position.

An image of S pixels is split into G × G cells of c = S // G pixels (centred when G does not divide S). From
every cell a tile of t = c − gap pixels is cut: a gap of `gap` pixels on average lies between neighbouring
tiles, and each tile moves at random by up to `jitter` pixels in x and y (at most gap / 2, so tiles never
overlap). Both papers do this so that a tile's position cannot be read off lines and textures that run
straight across a border.

Letters: B images, G grid side, T = G² tiles, t tile side.
"""

import torch
import torch.nn.functional as F

from ... import augment


def tile_side(size: int, grid: int, gap: int) -> int:
    """Side t of the tiles cut from a `size`-pixel image; refuses tiles too small for the small CNN, whose
    three 2 × 2 poolings need at least 8 pixels."""
    side = size // grid - gap
    if side < 8:
        raise ValueError(f"a {grid}×{grid} grid with a gap of {gap} px leaves tiles of {side} px in a "
                         f"{size}-px image: lower the gap or the grid, or raise the resolution")
    return side


def cut_tiles(images: torch.Tensor, gen: torch.Generator, grid: int, gap: int, jitter: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """All G² tiles of every image, in raster order, each jittered on its own: (B, T, 3, t, t) tiles and
    (B, T, 2) their top-left corners (row, column) in the image."""
    b, _, size, _ = images.shape
    cell, side = size // grid, tile_side(size, grid, gap)
    jitter = min(jitter, gap // 2)
    margin = (size - grid * cell) // 2
    index = torch.arange(grid * grid, device=images.device)
    centred = margin + torch.stack([index // grid, index % grid], dim=1) * cell + gap // 2  # (T, 2)
    shift = torch.randint(-jitter, jitter + 1, (b, grid * grid, 2), generator=gen, device=images.device)
    corners = centred + shift                                          # (B, T, 2)
    span = torch.arange(side, device=images.device)
    rows = (corners[..., 0, None] + span)[..., :, None]                # (B, T, t, 1)
    cols = (corners[..., 1, None] + span)[..., None, :]                # (B, T, 1, t)
    batch = torch.arange(b, device=images.device)[:, None, None, None]
    tiles = images[batch, :, rows, cols]                               # (B, T, t, t, 3)
    return tiles.permute(0, 1, 4, 2, 3).contiguous(), corners


def resize(images: torch.Tensor, gen: torch.Generator, size: int, min_scale: float) -> torch.Tensor:
    """A random crop of at least `min_scale` of the area (1: the whole image), resized to `size` pixels and
    maybe flipped. A larger size gives the small tiles more pixels of the same content."""
    if min_scale >= 1 and size == images.shape[-1]:
        return images
    return augment.random_resized_crop(images, gen, scale=(min_scale, 1.0), ratio=(1.0, 1.0), flip_p=0.0,
                                       size=size)


def whole_image(images: torch.Tensor, size: int) -> torch.Tensor:
    """The whole image at the resolution the tiles are cut from, for the probes: its parts then appear at the
    size the encoder learned them at, as a tile, instead of two thirds of it (32 of 48 px)."""
    return images if images.shape[-1] == size else F.interpolate(images, size=size, mode="bilinear")


def recolour(tiles: torch.Tensor, gen: torch.Generator, jitter: float, grey_probability: float) -> torch.Tensor:
    """Colour jitter and grey drawn for every tile on its own (…, 3, t, t): neighbouring tiles no longer
    share brightness, tint or colour fringes, so these low-level statistics give away no position."""
    flat = tiles.flatten(0, -4)
    if jitter > 0:
        flat = augment.color_jitter(flat, gen, 0.8 * jitter, 0.8 * jitter, 0.8 * jitter, 0.2 * jitter, p=1.0)
    flat = augment.random_grayscale(flat, gen, p=grey_probability)
    return flat.view_as(tiles)


def assemble(tiles: torch.Tensor, grid: int, slots: list[int] | None = None, border: int = 2) -> torch.Tensor:
    """Lay (T, 3, t, t) tiles out on a white board with `border` pixels between them, for a preview: tile i
    goes into slot `slots[i]` (default: slot i); slots without a tile stay white. Returns (3, h, h)."""
    side = tiles.shape[-1]
    step = side + border
    board = torch.ones(3, grid * step + border, grid * step + border)
    for tile, slot in zip(tiles, slots if slots is not None else range(len(tiles))):
        top, left = border + (slot // grid) * step, border + (slot % grid) * step
        board[:, top:top + side, left:left + side] = tile
    return board

