"""A user's folder of images, one sub-folder per class, read into memory at a fixed size.

Only files under the folder the user named are read. Files that are not readable images are skipped and
listed in the notes rather than stopping the whole load.
"""

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def _read_square(path: Path, size: int) -> np.ndarray:
    """Centre-crop to a square and resize: (size, size, 3) uint8."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)
        return np.asarray(image, dtype=np.uint8)


def load_image_folder(root: Path, size: int):
    """Returns (images (N, 3, S, S) uint8, labels (N,), class names, notes)."""
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not class_dirs:
        raise ValueError(f"{root} has no sub-folders: put the images of each class in a sub-folder of its own")
    arrays, labels, notes, class_names = [], [], [], []
    for class_dir in class_dirs:
        files = sorted(f for f in class_dir.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
        readable = 0
        for file in files:
            try:
                arrays.append(_read_square(file, size))
            except (UnidentifiedImageError, OSError, ValueError) as error:
                notes.append(f"skipped {file.relative_to(root)}: {type(error).__name__}")
                continue
            labels.append(len(class_names))
            readable += 1
        if readable:
            class_names.append(class_dir.name)
        else:
            notes.append(f"skipped class {class_dir.name!r}: no readable images")
    if len(arrays) < 2:
        raise ValueError(f"{root} holds fewer than two readable images ({len(notes)} files skipped)")
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return images, torch.tensor(labels, dtype=torch.int64), class_names, notes
