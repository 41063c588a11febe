"""What a folder holds, as the loader reads it: for `python -m workbench data check` and the page.

    report = check_folder("photos/")   # images per class, the split, sizes, modes, every file skipped and why
    print(check_markdown(report))
    check_data("cifar10:~/data")       # any data spec: a folder as above, else its classes and split
"""

from collections import Counter
from pathlib import Path

import torch

from . import TEST_FRACTION, load_dataset, resolve_data_path
from .builtin import is_builtin
from .dataset import UNLABELLED_NOTE
from .errors import DataError, shown
from .folder_dataset import read_folder
from .torchvision_sets import parse_spec

MODES = {  # how each stored mode is read, in words
    "RGB": "colour", "L": "grey", "1": "black and white", "P": "palette colours, converted to RGB",
    "RGBA": "colour with transparency, shown over white", "LA": "grey with transparency, shown over white",
    "PA": "palette with transparency, shown over white", "CMYK": "print colours (CMYK), converted to RGB",
    "YCbCr": "YCbCr, converted to RGB", "I": "32-bit grey, scaled to 8 bits", "F": "floating-point grey",
    **{mode: "16-bit grey, scaled to 8 bits" for mode in ("I;16", "I;16B", "I;16L", "I;16N")},
}


def check_data(spec: str, image_size: int = 32, test_fraction: float = TEST_FRACTION) -> dict:
    """check_folder's report for any data spec: a built-in or torchvision set has no files to skip, so its
    report holds its classes, split and notes."""
    name = str(spec).strip()
    if not is_builtin(name.lower()) and not parse_spec(name):
        return check_folder(name, image_size, test_fraction)
    report = _empty_report(name, split="its own train/test split")
    try:
        dataset = load_dataset(name, image_size, test_fraction=test_fraction)
    except DataError as error:
        report["problem"] = str(error)
        return report
    report["path"] = resolve_data_path(name)
    report["images"] = len(dataset.pretrain_images) + len(dataset.test_images)
    return {**report, **_counted(dataset)}


def _empty_report(path: str, split: str | None = None) -> dict:
    """A report with nothing found yet: what stays when the data cannot be read."""
    return {"path": path, "usable": False, "problem": None, "labelled": None, "split": split, "classes": [],
            "images": 0, "sizes": {}, "modes": {}, "skipped": [], "notes": []}


def _counted(dataset) -> dict:
    """The usable data set's part of a report: labels, images per class, notes."""
    train_counts = torch.bincount(dataset.train_labels, minlength=len(dataset.class_names)).tolist()
    test_counts = torch.bincount(dataset.test_labels, minlength=len(dataset.class_names)).tolist()
    return {"usable": True, "labelled": dataset.labelled, "notes": list(dataset.notes),
            "classes": [{"name": name, "train": n_train, "test": n_test}
                        for name, n_train, n_test in zip(dataset.class_names, train_counts, test_counts)]}


def check_folder(path, image_size: int = 32, test_fraction: float = TEST_FRACTION) -> dict:
    """{"path", "usable", "problem" (why it cannot be used, or None), "labelled", "split", "classes"
    ([{"name", "train", "test"}]), "images", "sizes", "modes", "skipped" ([{"file", "reason"}]), "notes"}.
    Decoding goes through the loader's caches, so loading the folder afterwards is immediate."""
    root = Path(path).expanduser()
    report = _empty_report(shown(root.resolve()))
    try:
        train, test, (train_dir, test_dir) = read_folder(root.resolve(), image_size)
    except DataError as error:
        report["problem"] = str(error)
        return report
    parts = [(train, train_dir)] + ([(test, test_dir)] if test is not None else [])
    prefix = (lambda folder: f"{shown(folder.name)}/") if test is not None else (lambda folder: "")
    report["skipped"] = [{"file": prefix(folder) + file, "reason": reason}
                         for part, folder in parts for file, reason in part.skipped]
    formats = [f for part, _ in parts for f in part.formats]
    report["images"] = len(formats)
    report["modes"] = dict(Counter(mode for _, _, mode in formats).most_common())
    if formats:
        report["sizes"] = _sizes(formats)
    report["split"] = (f"{shown(train_dir.name)}/ for training, {shown(test_dir.name)}/ held out" if test is not None
                       else f"{test_fraction:.0%} of every class held out (seed 0)")
    try:
        dataset = load_dataset(str(root), image_size, test_fraction=test_fraction)
    except DataError as error:
        report["problem"] = str(error)
        report["labelled"] = train.labelled
        report["classes"] = [{"name": shown(name), "train": int((train.labels == c).sum()), "test": None}
                             for c, name in enumerate(train.class_names)]
        report["notes"] = _general([note for part, _ in parts for note in part.notes], parts)
        return report
    return {**report, **_counted(dataset), "notes": _general(dataset.notes, parts)}


def _sizes(formats: list[tuple[int, int, str]]) -> dict:
    """The smallest and the largest image as stored, and the five most common sizes."""
    by_area = sorted(formats, key=lambda f: f[0] * f[1])
    common = Counter(f"{w}×{h}" for w, h, _ in formats).most_common(5)
    return {"smallest": f"{by_area[0][0]}×{by_area[0][1]}", "largest": f"{by_area[-1][0]}×{by_area[-1][1]}",
            "most_common": common}


def _general(notes: list[str], parts) -> list[str]:
    """The notes that are not about one skipped file (those are listed with their reasons)."""
    per_file = {f"skipped {file}: {reason}" for part, _ in parts for file, reason in part.skipped}
    return [note for note in notes if note not in per_file]


def check_markdown(report: dict) -> str:
    """The report as Markdown, for the page and the command line."""
    lines = [f"**{report['path']}**"]
    if report["problem"]:
        lines.append(f"\n**Cannot be used:** {report['problem']}")
    if report["classes"]:
        kind = "labelled" if report["labelled"] else UNLABELLED_NOTE
        lines.append(f"\n{report['images']:,} readable images, {kind}; split: {report['split']}.\n")
        lines += ["| class | training | held out |", "|---|---:|---:|"]
        lines += [f"| {_cell(c['name'])} | {c['train']:,} | {'-' if c['test'] is None else format(c['test'], ',')} |"
                  for c in report["classes"]]
    if report["sizes"]:
        sizes = report["sizes"]
        common = ", ".join(f"{size} ({count:,})" for size, count in sizes["most_common"])
        lines.append(f"\nSizes: {sizes['smallest']} to {sizes['largest']}; most common: {common}.")
        lines.append("Modes: " + ", ".join(f"{mode} {count:,} ({MODES.get(mode, 'converted to RGB')})"
                                           for mode, count in report["modes"].items()) + ".")
    if report["skipped"]:
        lines.append(f"\nSkipped {len(report['skipped']):,} file(s):")
        lines += [f"- `{_code(skip['file'])}`: {skip['reason']}" for skip in report["skipped"]]
    if report["notes"]:
        lines.append("\nNotes:")
        lines += [f"- {note}" for note in report["notes"]]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return text.replace("`", "'")
