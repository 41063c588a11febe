"""A user's folder of images, one sub-folder per class, read into memory at a fixed size.

Only files inside the folder the user named are read: a symbolic link that leads out of it is never opened.
A file that is not a readable image is skipped with a reason a person understands, and the rest still loads.
Hidden files (".name", macOS's "._name" companions) are not images and are passed over without a word.
A folder holding train/ and test/ (or val/) sub-folders is read as a ready-made split.
"""

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SPLIT_NAMES = {"train": ("train", "training"), "test": ("test", "val", "valid", "validation")}


def read_square(path: Path, size: int) -> np.ndarray:
    """Centre-crop to a square and resize: (size, size, 3) uint8. Decodes at reduced size where the format
    allows (JPEG draft mode), so a large photo is never held full-size."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # refuse, don't just warn
        with Image.open(path) as image:
            image.draft("RGB", (size * 2, size * 2))
            image = image.convert("RGB")
            side = min(image.size)
            left, top = (image.width - side) // 2, (image.height - side) // 2
            image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)
            return np.asarray(image, dtype=np.uint8)


def _why_unreadable(path: Path, error: Exception) -> str:
    """The reason a file was skipped, in words."""
    if path.stat().st_size == 0:
        return "empty file"
    if isinstance(error, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return "too large: it declares more pixels than any photo (a decompression bomb?)"
    if isinstance(error, UnidentifiedImageError):
        head = path.read_bytes()[:512]
        try:
            head.decode("utf-8")
            return "not an image (the file is text)"
        except UnicodeDecodeError:
            return "not an image (an unknown or damaged format)"
    if "truncated" in str(error).lower() or isinstance(error, EOFError):
        return "truncated: the file ends early"
    return f"could not be decoded ({error})"


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root)


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def find_split(root: Path) -> tuple[Path, Path | None]:
    """(training folder, held-out folder or None): train/ and test/ (or val/) when the folder has them."""
    children = {d.name.lower(): d for d in root.iterdir() if d.is_dir() and _visible(d) and _inside(d, root.resolve())}
    train = next((children[n] for n in SPLIT_NAMES["train"] if n in children), None)
    test = next((children[n] for n in SPLIT_NAMES["test"] if n in children), None)
    return (train, test) if train and test else (root, None)


def load_image_folder(root: Path, size: int, class_names: list[str] | None = None):
    """Returns (images (N, 3, S, S) uint8, labels (N,), class names, notes). With `class_names`, only those
    classes are read, in that order (a test split follows its training split's classes)."""
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    real_root = root.resolve()
    notes = []
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and _visible(d))
    for d in class_dirs:
        if not _inside(d, real_root):
            notes.append(f"skipped {d.name}/: a link that leads outside the folder (not read)")
    class_dirs = [d for d in class_dirs if _inside(d, real_root)]
    if class_names is not None:
        class_dirs = [d for d in class_dirs if d.name in class_names]
    if not class_dirs:
        raise ValueError(f"{root} has no sub-folders: put the images of each class in a sub-folder of its own")
    strays = [f.name for f in root.iterdir() if f.is_file() and _visible(f) and f.suffix.lower() in IMAGE_SUFFIXES]
    if strays:
        notes.append(f"ignored {len(strays)} image(s) at the top of the folder ({', '.join(sorted(strays)[:3])}"
                     f"{', …' if len(strays) > 3 else ''}): images belong in a sub-folder named after their class")
    arrays, labels, found_classes = [], [], []
    for class_dir in class_dirs:
        files = sorted(f for f in class_dir.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES
                       and all(_visible(part) for part in f.relative_to(class_dir).parents if part.name)
                       and _visible(f))
        readable = 0
        for file in files:
            if not _inside(file, real_root):
                notes.append(f"skipped {file.relative_to(root)}: a link that leads outside the folder (not read)")
                continue
            if not file.is_file():
                continue
            try:
                arrays.append(read_square(file, size))
            except (UnidentifiedImageError, OSError, ValueError, EOFError, Image.DecompressionBombError,
                    Image.DecompressionBombWarning) as error:
                notes.append(f"skipped {file.relative_to(root)}: {_why_unreadable(file, error)}")
                continue
            labels.append(len(found_classes))
            readable += 1
        if readable:
            found_classes.append(class_dir.name)
        else:
            notes.append(f"skipped class {class_dir.name!r}: no readable images")
    if len(arrays) < 2:
        raise ValueError(f"{root} holds fewer than two readable images ({len(notes)} files skipped)")
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return images, torch.tensor(labels, dtype=torch.int64), found_classes, notes
