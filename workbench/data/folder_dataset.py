"""A folder of images as a data set: decoded through the disk cache, split into training and test images (its
own train/ and test/ folders, or a share of every class held out), labelled by its class sub-folders."""

import hashlib
import json
from pathlib import Path

import torch

from . import cache
from .dataset import UNLABELLED_NOTE, ImageDataset
from .errors import DataError, shown
from .folder import UNLABELLED, FolderImages, Listing, decode_listing, find_split, list_folder


def folder_version(path: Path) -> str:
    """What changes when the folder's files change: the in-process cache is keyed on it too, so that a folder
    edited while the page runs is read again."""
    train_dir, test_dir = find_split(path) if path.is_dir() else (path, None)
    listings = [list_folder(d).signature() for d in (train_dir, test_dir) if d is not None and d.is_dir()]
    return hashlib.sha256(json.dumps(listings).encode("utf-8", "surrogateescape")).hexdigest()


def decode_folder(listing: Listing, image_size: int) -> FolderImages:
    """decode_listing through the disk cache (see `cache`): a folder decoded once is read back at once."""
    key = {"folder": str(listing.root.resolve()), "size": image_size, "classes": listing.class_names,
           "files": listing.signature()}
    stored = cache.load(key)
    if stored is not None:
        arrays, meta = stored
        return FolderImages(torch.from_numpy(arrays["images"]), torch.from_numpy(arrays["labels"]),
                            meta["class_names"], listing.labelled, [tuple(f) for f in meta["formats"]],
                            [tuple(s) for s in meta["skipped"]], listing.notes + meta["notes"])
    decoded = decode_listing(listing, image_size)
    cache.store(key, {"images": decoded.images.numpy(), "labels": decoded.labels.numpy()},
                {"class_names": decoded.class_names, "formats": decoded.formats, "skipped": decoded.skipped,
                 "notes": decoded.notes[len(listing.notes):]})
    return decoded


def read_folder(path: Path, image_size: int) -> tuple[FolderImages, FolderImages | None, tuple[Path, Path | None]]:
    """(training part, held-out part or None, (their folders)) of a folder, decoded: train/ and test/ (or val/)
    when it has them. Raises DataError when the parts do not fit together."""
    train_dir, test_dir = find_split(path)
    train = decode_folder(list_folder(train_dir), image_size)
    if test_dir is None:
        return train, None, (train_dir, None)
    test = decode_folder(list_folder(test_dir, train.class_names if train.labelled else None), image_size)
    if test.labelled != train.labelled:
        raise DataError(f"{shown(train_dir.name)}/ and {shown(test_dir.name)}/ must both hold class sub-folders or "
                        "both hold images directly")
    return train, test, (train_dir, test_dir)


def load_folder(path: Path, image_size: int, test_fraction: float) -> ImageDataset:
    """The folder at `path` as a data set; DataError when it holds too little to train and test on."""
    train, test, (train_dir, test_dir) = read_folder(path, image_size)
    if len(train.images) < 2:
        raise DataError(f"{shown(path)} holds fewer than two readable images ({len(train.skipped)} files skipped"
                        f"{': ' + train.skipped[0][1] if train.skipped else ''})")
    if test is not None:
        (images, labels), (test_items, test_labels), split_note = _given_split(train, test, train_dir, test_dir)
    else:
        (images, labels), (test_items, test_labels), split_note = _held_out_split(train, path, test_fraction)
    labelled = train.labelled and len(train.class_names) > 1
    notes = [split_note, *_labelling_notes(train, labelled), *train.notes, *(test.notes if test is not None else [])]
    class_names = [shown(name) for name in train.class_names] if labelled else [UNLABELLED]
    if not labelled:
        labels, test_labels = torch.zeros_like(labels), torch.zeros_like(test_labels)
    return ImageDataset(shown(path.name), images, labels, test_items, test_labels, class_names, notes, labelled)


def _given_split(train: FolderImages, test: FolderImages, train_dir: Path, test_dir: Path):
    """((images, labels), (test images, test labels), note) of a folder with its own train/ and test/."""
    if len(test.images) == 0:
        raise DataError(f"{shown(test_dir)} holds no readable images to test on")
    note = (f"split folders: {shown(train_dir.name)}/ for training, {shown(test_dir.name)}/ held out for the k-NN "
            "and probes")
    test_labels = torch.tensor([train.class_names.index(test.class_names[y]) for y in test.labels.tolist()],
                               dtype=torch.int64)  # the test split's classes as the training split numbers them
    return (train.images, train.labels), (test.images, test_labels), note


def _held_out_split(train: FolderImages, path: Path, fraction: float):
    """((images, labels), (test images, test labels), note) of a folder without a split: `fraction` of every
    class held out."""
    held_out = hold_out(train.labels, len(train.class_names), fraction)
    if not held_out.any():
        raise DataError(f"no image of {shown(path)} could be held out for testing: every class has a single "
                        f"image ({len(train.class_names)} classes, {len(train.labels)} images); a class needs two for "
                        "one to be held out — add images, or a test/ folder")
    note = f"no train/ and test/ folders: {fraction:.0%} of every class held out (seed 0) for the k-NN and probes"
    return ((train.images[~held_out], train.labels[~held_out]), (train.images[held_out], train.labels[held_out]),
            note)


def _labelling_notes(train: FolderImages, labelled: bool) -> list[str]:
    """Why a folder is read without labels, and how to give it some."""
    if not train.labelled:
        return [f"a flat folder (no class sub-folders): {UNLABELLED_NOTE} — put each class in a sub-folder of its "
                "own for labels"]
    if not labelled:
        return [f"one class only ({shown(train.class_names[0])}): read as {UNLABELLED_NOTE} — k-NN and probes need "
                "at least two classes, each in a sub-folder of its own"]
    return []


def hold_out(labels: torch.Tensor, classes: int, fraction: float) -> torch.Tensor:
    """A mask of the items held out: `fraction` of every class (at least one where a class has two or more),
    drawn with seed 0. Image folders and texts alike."""
    gen = torch.Generator().manual_seed(0)
    test_mask = torch.zeros(len(labels), dtype=torch.bool)
    for c in range(classes):
        rows = (labels == c).nonzero().flatten()
        rows = rows[torch.randperm(len(rows), generator=gen)]
        test_mask[rows[: int(len(rows) * fraction) or (1 if len(rows) > 1 else 0)]] = True
    return test_mask
