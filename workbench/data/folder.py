"""A user's folder of images, read into memory at a fixed size.

A folder with one sub-folder per class is labelled; a flat folder (images directly in it) is unlabelled.
Only files inside the folder the user named are read: a symbolic link that leads out of it is never opened.
A file that is not a readable image is skipped with a reason a person understands, and the rest still loads.
Hidden files (".name", macOS's "._name" companions) are not images and are passed over without a word.
A folder holding train/ and test/ (or val/) sub-folders is read as a ready-made split.
"""

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DataError, shown

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SPLIT_NAMES = {"train": ("train", "training"), "test": ("test", "val", "valid", "validation")}
UNLABELLED = "unlabelled"  # the one class name of a flat folder
SIXTEEN_BIT = {"I", "I;16", "I;16L", "I;16B", "I;16N"}
DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, EOFError, SyntaxError, Image.DecompressionBombError,
                 Image.DecompressionBombWarning)


def _resizable(image: Image.Image) -> Image.Image:
    """The image in a mode that crops and resizes smoothly: L, RGB or RGBA."""
    if image.mode in SIXTEEN_BIT:
        # Pillow's convert clips 16-bit values at 255, which turns all but the darkest pixels white: scale.
        pixels = np.asarray(image, dtype=np.float64)
        top = max(65535.0, float(pixels.max()))
        return Image.fromarray(np.round(pixels * (255 / top)).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    return image if image.mode in ("L", "RGB") else image.convert("RGB")  # CMYK, P, 1, YCbCr, …


def read_image(path: Path, size: int) -> tuple[np.ndarray, tuple[int, int], str]:
    """(pixels (size, size, 3) uint8, (width, height), mode) of an image file: turned upright as its camera
    says, centre-cropped to a square and resized. Decodes at reduced size where the format allows (JPEG draft
    mode), so a large photo is never held full-size. Transparent parts are shown over white, as on a page."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # refuse, don't just warn
        with Image.open(path) as original:
            width, height, mode = original.width, original.height, original.mode
            original.draft("RGB", (size * 2, size * 2))
            image = _resizable(ImageOps.exif_transpose(original))
            side = min(image.size)
            left, top = (image.width - side) // 2, (image.height - side) // 2
            image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)
            if image.mode == "RGBA":
                image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
            return np.asarray(image.convert("RGB"), dtype=np.uint8), (width, height), mode


def why_unreadable(path: Path, error: Exception) -> str:
    """The reason a file was skipped, in words."""
    if isinstance(error, PermissionError):
        return "cannot be read: permission denied"
    if path.stat().st_size == 0:
        return "empty file (0 bytes)"
    if isinstance(error, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        declared = re.search(r"\((\d+) pixels\)", str(error))
        pixels = f"{int(declared[1]):,} pixels" if declared else "more pixels than any photo"
        return (f"too large: it declares {pixels}, more than the {Image.MAX_IMAGE_PIXELS:,} allowed "
                "(a decompression bomb, or a picture to shrink before use)")
    if isinstance(error, UnidentifiedImageError):
        head = path.read_bytes()[:512]
        try:
            head.decode("utf-8")
            return "not an image (the file is text)"
        except UnicodeDecodeError:
            return "not an image (an unknown or damaged format)"
    if "truncated" in str(error).lower() or isinstance(error, EOFError):
        return "truncated: the file ends early"
    return f"damaged: it could not be decoded ({shown(error)})"


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root)


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _is_image_name(path: Path) -> bool:
    return _visible(path) and path.suffix.lower() in IMAGE_SUFFIXES


def _entries(folder: Path) -> list[Path]:
    """What a folder holds, or DataError saying why it cannot be read."""
    if not folder.is_dir():
        raise DataError(f"{shown(folder)} is not a folder" if folder.exists() else
                        f"there is no folder {shown(folder)}")
    try:
        return list(folder.iterdir())
    except OSError as error:
        raise DataError(f"cannot read the folder {shown(folder)}: {shown(error.strerror or error)}") from None


def find_split(root: Path) -> tuple[Path, Path | None]:
    """(training folder, held-out folder or None): train/ and test/ (or val/) when the folder has them."""
    children = {d.name.lower(): d for d in _entries(root) if d.is_dir() and _visible(d) and _inside(d, root.resolve())}
    train = next((children[n] for n in SPLIT_NAMES["train"] if n in children), None)
    test = next((children[n] for n in SPLIT_NAMES["test"] if n in children), None)
    return (train, test) if train and test else (root, None)


@dataclass
class Listing:
    """The image files of a folder, found without opening any: what decoding will read."""
    root: Path
    files: list[tuple[int, Path]]  # (class index, file)
    class_names: list[str]         # the class sub-folders' names; [UNLABELLED] for a flat folder
    labelled: bool
    notes: list[str] = field(default_factory=list)

    def signature(self) -> list:
        """Each file's (path, bytes, modification time): a changed folder has a changed signature."""
        stats = [(str(file.relative_to(self.root)), file.stat()) for _, file in self.files]
        return [(name, stat.st_size, stat.st_mtime_ns) for name, stat in stats]


def list_folder(root: Path, class_names: list[str] | None = None) -> Listing:
    """The images of a folder: one class per sub-folder, or unlabelled when the images lie directly in it.
    With `class_names`, only those classes are listed, in that order (a test split follows its training
    split's classes)."""
    entries = _entries(root)
    real_root, notes = root.resolve(), []
    class_dirs = sorted(d for d in entries if d.is_dir() and _visible(d))
    for d in class_dirs:
        if not _inside(d, real_root):
            notes.append(f"skipped {shown(d.name)}/: a link that leads outside the folder (not read)")
    class_dirs = [d for d in class_dirs if _inside(d, real_root)]
    if class_names is not None:
        class_dirs = [d for d in class_dirs if d.name in class_names]
        if not class_dirs:
            raise DataError(f"{shown(root)} has none of the class sub-folders {', '.join(map(shown, class_names))}")
    top_images = sorted(f for f in entries if _is_image_name(f) and not f.is_dir())
    below = {d: sorted(f for f in d.rglob("*") if _is_image_name(f)
                       and all(_visible(part) for part in f.relative_to(d).parents if part.name))
             for d in class_dirs}
    if class_names is None and top_images and not any(below.values()):
        # Images at the top and none below: a flat folder, whatever empty sub-folders it has.
        if class_dirs:
            notes.append(f"ignored {len(class_dirs)} sub-folder(s) without images ({_some(class_dirs)})")
        files = _inside_only(root, top_images, real_root, notes)
        return Listing(root, [(0, f) for f in files], [UNLABELLED], False, notes)
    if not class_dirs:
        raise DataError(f"{shown(root)} holds no images: put images in it (unlabelled), or one sub-folder of "
                        "images per class (labelled)")
    if top_images:
        notes.append(f"ignored {len(top_images)} image(s) at the top of the folder ({_some(top_images)}): in a "
                     "labelled folder, images belong in a sub-folder named after their class")
    files = [(c, f) for c, d in enumerate(class_dirs) for f in _inside_only(root, below[d], real_root, notes)]
    return Listing(root, files, [d.name for d in class_dirs], True, notes)


def _some(paths: list[Path]) -> str:
    """The first few names, for a note."""
    return ", ".join(shown(p.name) for p in paths[:3]) + (", …" if len(paths) > 3 else "")


def _inside_only(root: Path, files: list[Path], real_root: Path, notes: list[str]) -> list[Path]:
    """The files that are inside the folder and are files; adds a note for each link that leads out."""
    kept = []
    for file in files:
        if not _inside(file, real_root):
            notes.append(f"skipped {shown(file.relative_to(root))}: a link that leads outside the folder (not read)")
        elif file.is_file():
            kept.append(file)
    return kept


@dataclass
class FolderImages:
    """What decoding a listing gave: the images, and the files it had to skip and why."""
    images: torch.Tensor           # (N, 3, S, S) uint8
    labels: torch.Tensor           # (N,) int64, indices into class_names
    class_names: list[str]         # classes with at least one readable image
    labelled: bool
    formats: list[tuple[int, int, str]]  # (width, height, mode) of each image as stored
    skipped: list[tuple[str, str]]       # (file, reason)
    notes: list[str]               # what a person should know: skips and links, in words


def decode_listing(listing: Listing, size: int) -> FolderImages:
    """Decode every listed file; unreadable ones are skipped with a reason, as are classes left empty."""
    arrays, labels, formats, skipped = [], [], [], []
    readable = [0] * len(listing.class_names)
    for c, file in listing.files:
        try:
            pixels, (width, height), mode = read_image(file, size)
        except DECODE_ERRORS as error:
            skipped.append((shown(file.relative_to(listing.root)), why_unreadable(file, error)))
            continue
        arrays.append(pixels)
        labels.append(c)
        formats.append((width, height, mode))
        readable[c] += 1
    notes = listing.notes + [f"skipped {file}: {reason}" for file, reason in skipped]
    kept = [c for c, count in enumerate(readable) if count]
    if listing.labelled:
        notes += [f"skipped class {shown(name)!r}: no readable images"
                  for name, count in zip(listing.class_names, readable) if not count]
    new_index = {old: new for new, old in enumerate(kept)}
    images = (torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous() if arrays
              else torch.zeros((0, 3, size, size), dtype=torch.uint8))
    return FolderImages(images, torch.tensor([new_index[c] for c in labels], dtype=torch.int64),
                        [listing.class_names[c] for c in kept], listing.labelled, formats, skipped, notes)
