"""Your own text as a data set, read as characters (see `tokens`):

    notes.txt (any file but .csv, .tsv, .jsonl)   one running text, unlabelled: a book, lecture notes. Cut into
                                                   nanoGPT's blocks: pieces of CHUNK tokens, each starting on the
                                                   last token of the one before, so every token is predicted once.
                                                   The last share of the file (the test fraction) is held out in
                                                   one piece, as nanoGPT holds out its last 10 %: the held-out loss
                                                   is measured on text the model never saw, not on lines from
                                                   between its own.
    reviews.csv, reviews.tsv, reviews.jsonl        one text a row, labelled (see `tables`)
    folder/CLASS/*.txt                             one text a file, labelled by its sub-folder (a flat folder of
                                                   .txt files: unlabelled); train/ and test/ sub-folders, if
                                                   there, are the split
A labelled text keeps its first LENGTH tokens (a note says how many were cut); the test fraction of every class
is held out, drawn with seed 0. Every problem is one DataError line or, for one file of a folder or one row of a
table, a skip with its reason; nothing outside the named folder is read (a link that leads out is skipped).
"""

import hashlib
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import DataError, shown
from ..folder import UNLABELLED, find_split
from ..folder_dataset import hold_out
from .dataset import UNLABELLED_NOTE, TextDataset
from .reading import TextProblem, decode_text, read_bytes, read_text
from .tables import TABLE_SUFFIXES, read_table
from .tokens import encode_characters, pad

# A plain file's pieces: 64 tokens to read and the one after them to predict, nanoGPT's x and y in its CPU recipe.
# Pieces of 128 learn less a step: 2.07 nats a character against 1.91 (read in windows of 64) for as many tokens
# a step in twice as many pieces (fortunes, 1,900 steps; benchmarks/JOURNAL.md).
CHUNK = 65
LENGTH = 128         # the tokens a labelled text keeps at most
MAX_LINE = 10_000    # characters: a longer line in a plain file is not prose (minified code, data) and is cut
MIN_PIECES = 10      # a plain file must fill this many pieces to train and to hold some out
MIN_PER_CLASS = 2    # texts a class needs: one to train on and one to hold out
TEXT_SUFFIX = ".txt"


@dataclass
class TextSource:
    """What reading a file or folder gave, before tokens: what the data set is made of and the report shows."""
    name: str
    texts: list[str]
    labels: list[str] | None = None           # each text's class; None: unlabelled
    held_out: list[bool] | None = None        # each text's part when the folder brings its split (train/, test/)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, or "line N", why)
    notes: list[str] = field(default_factory=list)
    blank: int = 0                            # blank lines of a plain file (kept), empty texts of the others
    plain: bool = False                       # one running text, cut into pieces


def read_text_source(path: Path) -> TextSource:
    """A text file or a folder of .txt files, read (see the module's docstring)."""
    if path.is_dir():
        return read_text_folder(path)
    notes = []
    text = read_text(path, notes)
    if path.suffix.lower() in TABLE_SUFFIXES:
        rows = read_table(path, text)
        return TextSource(shown(path.name), rows.texts, rows.labels, None, rows.skipped, notes, rows.blank)
    lines = text.split("\n")
    long_lines = [(number, len(line)) for number, line in enumerate(lines, start=1) if len(line) > MAX_LINE]
    if long_lines:
        text = "\n".join(line[:MAX_LINE] for line in lines)
        (number, longest), more = long_lines[0], len(long_lines) - 1
        notes.append(f"cut {len(long_lines):,} line(s) longer than {MAX_LINE:,} characters to that length (line "
                     f"{number:,} holds {longest:,}{f'; {more:,} more' if more else ''}): prose has no such lines")
    return TextSource(shown(path.name), [text], notes=notes, blank=sum(not line.strip() for line in lines),
                      plain=True)


def read_text_folder(root: Path) -> TextSource:
    """The .txt files of a folder: one sub-folder per class, or flat; its train/ and test/ when it has them."""
    train_dir, test_dir = find_split(root)
    source = TextSource(shown(root.name), [], [], [] if test_dir else None)
    files, classes = _list_texts(train_dir, source.notes, None)
    _read_files(source, files, train_dir, f"{shown(train_dir.name)}/" if test_dir else "", False)
    if test_dir:
        test_files, test_classes = _list_texts(test_dir, source.notes, classes)
        if (test_classes is None) != (classes is None):
            raise DataError(f"{shown(train_dir.name)}/ and {shown(test_dir.name)}/ must both hold class sub-folders "
                            "or both hold .txt files directly")
        _read_files(source, test_files, test_dir, f"{shown(test_dir.name)}/", True)
    if classes is None:
        source.labels = None
    return source


def _read_files(source: TextSource, files: list[tuple[str, Path]], folder: Path, prefix: str, held_out: bool):
    """Add each file's text and class to `source`, or its name and the reason it was skipped."""
    for label, file in files:
        try:
            data, more = read_bytes(file)
            text = decode_text(data, cut=more).strip()
        except TextProblem as problem:
            source.blank += str(problem).startswith(("empty", "only blank"))
            source.skipped.append((prefix + shown(file.relative_to(folder)), str(problem)))
            continue
        source.texts.append(text)
        source.labels.append(label)
        if source.held_out is not None:
            source.held_out.append(held_out)


def _list_texts(folder: Path, notes: list[str], classes: list[str] | None) -> tuple[list, list[str] | None]:
    """([(class, .txt file)], class names or None for a flat folder). Hidden files are passed over; links that
    lead out of the folder are skipped with a note. `classes`: the training part's, which a test part follows."""
    real = folder.resolve()
    try:
        entries = sorted(entry for entry in folder.iterdir() if not entry.name.startswith("."))
    except OSError as error:
        raise DataError(f"cannot read the folder {shown(folder)}: {shown(error.strerror or error)}") from None
    outside = [entry for entry in entries if not entry.resolve().is_relative_to(real)]
    notes += [f"skipped {shown(entry.name)}: a link that leads outside the folder (not read)" for entry in outside]
    entries = [entry for entry in entries if entry not in outside]
    below = {d.name: _texts_below(d, real, notes) for d in entries if d.is_dir()}
    below = {name: files for name, files in below.items() if files and (classes is None or name in classes)}
    top = [file for file in entries if file.is_file() and file.suffix.lower() == TEXT_SUFFIX]
    if below:
        if top and classes is None:
            notes.append(f"ignored {len(top):,} .txt file(s) at the top of the folder: in a labelled folder, texts "
                         "belong in a sub-folder named after their class")
        return [(name, file) for name, files in below.items() for file in files], list(below)
    if not top:
        raise DataError(f"{shown(folder)} holds no .txt files: put one text a file in it (unlabelled), or one "
                        "sub-folder of .txt files per class (labelled)")
    return [(UNLABELLED, file) for file in top], None


def _texts_below(folder: Path, real: Path, notes: list[str]) -> list[Path]:
    """The visible .txt files anywhere under `folder` that lie inside `real`."""
    found = []
    for file in sorted(folder.rglob("*")):
        relative = file.relative_to(folder)
        if (file.suffix.lower() != TEXT_SUFFIX or any(part.startswith(".") for part in relative.parts)
                or not file.is_file()):
            continue
        if not file.resolve().is_relative_to(real):
            notes.append(f"skipped {shown(folder.name)}/{shown(relative)}: a link that leads outside the folder "
                         "(not read)")
        else:
            found.append(file)
    return found


def text_version(path: Path) -> str:
    """What changes when the text on disk changes: each .txt file's (name, bytes, modification time)."""
    files = [path] if path.is_file() else sorted(f for f in path.rglob("*") if f.suffix.lower() == TEXT_SUFFIX)
    stats = [(str(file), file.stat().st_size, file.stat().st_mtime_ns) for file in files if file.is_file()]
    return hashlib.sha256(json.dumps(stats).encode("utf-8", "surrogateescape")).hexdigest()


def load_text_source(path: Path, test_fraction: float) -> TextDataset:
    """A text file or folder as a data set; DataError in one line when it cannot be one."""
    source = read_text_source(path)
    notes = [*source.notes, *(f"skipped {where}: {why}" for where, why in source.skipped[:20])]
    if len(source.skipped) > 20:
        notes.append(f"… and {len(source.skipped) - 20:,} more skipped (`python -m workbench data check` lists all)")
    if source.plain:
        return plain_dataset(source.name, source.texts[0], test_fraction, notes)
    if len(source.texts) < 2:
        reason = f": {source.skipped[0][0]}, {source.skipped[0][1]}" if source.skipped else ""
        raise DataError(f"{shown(path)} holds fewer than two readable texts ({len(source.skipped):,} skipped{reason})")
    return labelled_dataset(source.name, source.texts, source.labels, test_fraction, notes, source.held_out)


def plain_dataset(name: str, text: str, test_fraction: float, notes: list[str]) -> TextDataset:
    """One running text cut into pieces of CHUNK tokens; its last `test_fraction` held out, in one piece."""
    tokens = encode_characters(text)
    if len(tokens) < MIN_PIECES * CHUNK:
        raise DataError(f"{name} is too short to learn from: {len(tokens):,} characters; a plain text file needs "
                        f"at least {MIN_PIECES * CHUNK:,} (a page or two of text)")
    cut = min(max(round(len(tokens) * (1 - test_fraction)), CHUNK), len(tokens) - CHUNK)  # a whole piece each side

    def pieces(stream: list[int]) -> torch.Tensor:
        """Windows of CHUNK tokens, each starting at the last token of the one before: every token but the
        first is a target exactly once."""
        return pad([stream[start:start + CHUNK] for start in range(0, max(len(stream) - 1, 1), CHUNK - 1)], CHUNK)

    train, test = pieces(tokens[:cut]), pieces(tokens[cut:])
    notes = [f"one running text ({UNLABELLED_NOTE}): {len(tokens):,} tokens cut into pieces of "
             f"{CHUNK - 1} tokens and the one after them; the last {test_fraction:.0%} of the file held out in one "
             "piece (nanoGPT holds out its last 10%)", *notes]
    labels = torch.zeros(len(train), dtype=torch.long), torch.zeros(len(test), dtype=torch.long)
    return TextDataset(name, train, labels[0], test, labels[1], [UNLABELLED], notes=notes, labelled=False)


def cut_tokens(texts: list[str], length: int) -> tuple[list[list[int]], int]:
    """Each text's character tokens, cut to `length` at a whole character; and how many were cut."""
    encoded = [text.encode("utf-8") for text in texts]
    kept = [data[:length].decode("utf-8", "ignore") for data in encoded]
    return [encode_characters(text) for text in kept], sum(len(data) > length for data in encoded)


def class_order(names) -> list[str]:
    """Class names sorted as a person expects: numbers by value (2 before 10), other names alphabetically."""
    names = set(names)
    numeric = all(name.lstrip("-").isdigit() for name in names)
    return sorted(names, key=int) if numeric else sorted(names)


def labelled_dataset(name: str, texts: list[str], labels: list[str] | None, test_fraction: float,
                     notes: list[str], held_out: list[bool] | None = None) -> TextDataset:
    """Texts with their class names (None: unlabelled) as a data set: classes with too few texts left out, each
    text cut to LENGTH tokens, `held_out` as given or the test fraction of every class drawn with seed 0."""
    flat, labels = labels is None, labels or [UNLABELLED] * len(texts)
    counts = {label: labels.count(label) for label in class_order(labels)}
    few = [label for label, count in counts.items() if count < MIN_PER_CLASS]
    class_names = [label for label in counts if label not in few]
    if not class_names:
        raise DataError(f"{name}: every class has fewer than {MIN_PER_CLASS} texts ({len(counts):,} classes, "
                        f"{len(texts):,} texts) — add texts, at least {MIN_PER_CLASS} a class")
    keep = [i for i, label in enumerate(labels) if label in class_names]
    tokens, cut = cut_tokens([texts[i] for i in keep], LENGTH)
    targets = torch.tensor([class_names.index(labels[i]) for i in keep])
    test = (torch.tensor([held_out[i] for i in keep]) if held_out is not None
            else hold_out(targets, len(class_names), test_fraction))
    if not test.any() or test.all():
        raise DataError(f"{name}: no text {'could be held out' if not test.any() else 'is left to train on'} "
                        f"({len(keep):,} texts) — add texts{', or a test/ folder' if held_out is None else ''}")
    split = ("its train/ and test/ folders" if held_out is not None
             else f"{test_fraction:.0%} of every class held out (seed 0)")
    notes = [f"split: {split}", *notes, *_labelling_notes(flat, class_names, few, counts)]
    if cut:
        lengths = sorted(len(text) for text in texts)
        notes.append(f"cut {cut:,} of {len(keep):,} texts to their first {LENGTH} tokens (characters; an accented "
                     f"letter takes two); the median text holds {statistics.median(lengths):,.0f} characters")
    labelled = len(class_names) > 1
    if not labelled:
        class_names, targets = [UNLABELLED], torch.zeros_like(targets)
    items = pad(tokens, max(len(row) for row in tokens))
    return TextDataset(name, items[~test], targets[~test], items[test], targets[test], class_names,
                       notes=notes, labelled=labelled)


def _labelling_notes(flat: bool, class_names: list[str], few: list[str], counts: dict[str, int]) -> list[str]:
    """Which classes were left out, and why the texts are read without labels when they are."""
    notes = [f"skipped class {shown(label)!r}: {counts[label]} text, at least {MIN_PER_CLASS} needed (one to train "
             "on, one to hold out)" for label in few]
    if flat:
        notes.append(f"no class sub-folders: {UNLABELLED_NOTE} — put each class in a sub-folder of its own for "
                     "labels")
    elif len(class_names) == 1:
        notes.append(f"one class only ({shown(class_names[0])}): read as {UNLABELLED_NOTE} — probes need at least "
                     "two classes")
    return notes

