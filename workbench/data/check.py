"""What a folder or file holds, as the loader reads it: for `python -m workbench data check` and the page.

    report = check_folder("photos/")   # images per class, the split, sizes, modes, every file skipped and why
    report = check_text("notes/")      # texts per class, the split, lengths, encoding, empty texts, every skip
    print(check_markdown(report))
    check_data("cifar10:~/data")       # any data spec: a folder or file as above, else its classes and split
"""

from collections import Counter
from pathlib import Path

import torch

from . import TEST_FRACTION, load_dataset, resolve_data_path, source_kind
from .builtin import is_builtin
from .dataset import UNLABELLED_NOTE
from .errors import DataError, shown
from .folder_dataset import read_folder
from .kinds import KINDS
from .text.dataset import UNLABELLED_NOTE as TEXT_UNLABELLED_NOTE
from .text.files import read_text_source
from .text.reading import NOT_UTF8
from .torchvision_sets import parse_spec

UNLABELLED_NOTES = {"image": UNLABELLED_NOTE, "text": TEXT_UNLABELLED_NOTE}
MAX_LISTED = 50  # skipped files (or rows) the Markdown lists; the JSON report has every one
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
    report = {**_empty_report(resolve_data_path(name), report["split"], dataset.kind.name), **_counted(dataset)}
    report[dataset.kind.items] = len(dataset.pretrain_items) + len(dataset.test_items)
    if dataset.kind.name == "text":
        texts = dataset.texts(torch.cat([dataset.pretrain_items, dataset.test_items]))
        report["characters"], report["lengths"] = sum(map(len, texts)), _lengths(texts, "texts")
        report["encoding"] = None
    return report


def _lengths(pieces: list[str], of: str) -> dict:
    """The shortest, median and longest of `pieces` in characters; `of`: what they are ("texts", "lines")."""
    lengths = sorted(map(len, pieces))
    return {"of": of, "shortest": lengths[0], "median": lengths[len(lengths) // 2], "longest": lengths[-1]}


def _empty_report(path: str, split: str | None = None, kind: str = "image") -> dict:
    """A report with nothing found yet: what stays when the data cannot be read."""
    found = ({"texts": 0, "characters": 0, "lengths": {}, "encoding": [], "empty": 0} if kind == "text" else
             {"images": 0, "sizes": {}, "modes": {}})
    return {"path": path, "kind": kind, "usable": False, "problem": None, "labelled": None, "split": split,
            "classes": [], **found, "skipped": [], "notes": []}


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
    Decoding goes through the loader's caches, so loading the folder afterwards is immediate. A folder of
    .txt files, or a text file, gets check_text's report instead."""
    root = Path(path).expanduser()
    report = _empty_report(shown(root.resolve()))
    try:
        if root.exists() and source_kind(str(root.resolve())) == "text":
            return check_text(root, test_fraction)
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


def check_text(path, test_fraction: float = TEST_FRACTION) -> dict:
    """check_folder's report for a text file or a folder of .txt files, with "texts", "characters", "lengths"
    ({"of": "texts" or "lines", "shortest", "median", "longest"} in characters), "encoding" (the skips for
    it) and "empty" (blank lines of a plain file, kept; empty files or rows, skipped)."""
    root = Path(path).expanduser()
    report = _empty_report(shown(root.resolve()), kind="text")
    try:
        source = read_text_source(root.resolve())
    except DataError as error:
        report["problem"] = str(error)
        return report
    report["skipped"] = [{"file": where, "reason": why} for where, why in source.skipped]
    report["encoding"] = [skip for skip in report["skipped"] if skip["reason"].startswith(NOT_UTF8)]
    report["empty"], report["texts"] = source.blank, len(source.texts)
    report["characters"] = sum(map(len, source.texts))
    pieces = [line for line in source.texts[0].split("\n") if line.strip()] if source.plain else source.texts
    if pieces:
        report["lengths"] = _lengths(pieces, "lines" if source.plain else "texts")
    report["split"] = (f"the last {test_fraction:.0%} of the file held out, in one piece" if source.plain
                       else "its train/ and test/ folders" if source.held_out is not None
                       else f"{test_fraction:.0%} of every class held out (seed 0)")
    skip_notes = {f"skipped {where}: {why}" for where, why in source.skipped}
    try:
        dataset = load_dataset(str(root), test_fraction=test_fraction)
    except DataError as error:
        labels = source.labels or []
        return {**report, "problem": str(error), "labelled": source.labels is not None, "notes": source.notes,
                "classes": [{"name": name, "train": count, "test": None} for name, count in Counter(labels).items()]}
    notes = [note for note in dataset.notes if note not in skip_notes and not note.startswith("… and")]
    return {**report, **_counted(dataset), "notes": notes}


def _general(notes: list[str], parts) -> list[str]:
    """The notes that are not about one skipped file (those are listed with their reasons)."""
    per_file = {f"skipped {file}: {reason}" for part, _ in parts for file, reason in part.skipped}
    return [note for note in notes if note not in per_file]


def check_markdown(report: dict) -> str:
    """The report as Markdown, for the page and the command line."""
    kind = KINDS[report.get("kind", "image")]
    lines = [f"**{report['path']}**"]
    if report["problem"]:
        lines.append(f"\n**Cannot be used:** {report['problem']}")
    if report["classes"]:
        labelled = "labelled" if report["labelled"] else UNLABELLED_NOTES[kind.name]
        count = (f"{report['characters']:,} characters in one running text" if report.get("lengths", {}).get("of")
                 == "lines" else f"{report[kind.items]:,} readable {kind.items}")
        lines.append(f"\n{count}, {labelled}; split: {report['split']}.\n")
        lines += ["| class | training | held out |", "|---|---:|---:|"]
        lines += [f"| {_cell(c['name'])} | {c['train']:,} | {'-' if c['test'] is None else format(c['test'], ',')} |"
                  for c in report["classes"]]
    lines += _text_lines(report) if kind.name == "text" else _image_lines(report)
    if report["skipped"]:
        what = "file(s)" if kind.name == "image" else "file(s) or row(s)"
        lines.append(f"\nSkipped {len(report['skipped']):,} {what}:")
        lines += [f"- `{_code(skip['file'])}`: {skip['reason']}" for skip in report["skipped"][:MAX_LISTED]]
        if len(report["skipped"]) > MAX_LISTED:
            lines.append(f"- … and {len(report['skipped']) - MAX_LISTED:,} more (`--json` lists all)")
    if report["notes"]:
        lines.append("\nNotes:")
        lines += [f"- {note}" for note in report["notes"]]
    return "\n".join(lines)


def _image_lines(report: dict) -> list[str]:
    """Sizes and modes, as stored."""
    if not report["sizes"]:
        return []
    sizes = report["sizes"]
    common = ", ".join(f"{size} ({count:,})" for size, count in sizes["most_common"])
    return [f"\nSizes: {sizes['smallest']} to {sizes['largest']}; most common: {common}.",
            "Modes: " + ", ".join(f"{mode} {count:,} ({MODES.get(mode, 'converted to RGB')})"
                                  for mode, count in report["modes"].items()) + "."]


def _text_lines(report: dict) -> list[str]:
    """Lengths, encoding and empty texts, in words."""
    if not report.get("lengths"):
        return []
    lengths, plain = report["lengths"], report["lengths"]["of"] == "lines"
    lines = [f"\nLengths of the {lengths['of']}: {lengths['shortest']:,} to {lengths['longest']:,} characters, median "
             f"{lengths['median']:,}."]
    if report["encoding"] is not None:  # None: a built-in set, not read from files of the user's
        bad = len(report["encoding"])
        lines.append("Encoding: UTF-8 throughout." if not bad else
                     f"Encoding: {bad:,} file(s) not UTF-8, skipped (listed below): save them as UTF-8.")
    if report["empty"]:
        lines.append(f"Empty: {report['empty']:,} blank line(s), kept as part of the text." if plain else
                     f"Empty: {report['empty']:,} empty text(s), skipped (listed below).")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return text.replace("`", "'")
