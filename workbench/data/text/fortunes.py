"""Debian's fortunes as a labelled text set: real English quotations, jokes and definitions, each labelled by the
file the `fortune` program keeps it in.

`apt-get install fortunes fortunes-min` puts the files in FORTUNES_DIR: plain text, one fortune after another,
separated by lines holding only "%". When they are there, "fortunes" is a data choice. Only the files named in
CATEGORIES are opened; the off/ folder (Debian's fortunes-off, offensive by its own description) never is.

Which files, and why (measured on Debian 12's fortunes 1.99.1, texts of at most 200 characters):
- left out as unfit for a classroom: ethnic (ethnic jokes), men-women (jokes on women and men), drugs (jokes on
  drugs and drink), knghtbrd (IRC chat of Debian developers, crude language); and in the files kept, the few
  texts that UNFIT finds (sex jokes, two swear words);
- left out as grab-bags, the same sayings again: cookie (repeats texts of computers, people, politics and
  others), fortunes, miscellaneous, linuxcookie;
- left out as sorted by kind of saying rather than by topic, so that their texts could sit in any other file:
  people, wisdom, platitudes, humorists; and zippy (one comic's non sequiturs, told apart by their capitals);
- then the twelve largest files left, each with 190 texts or more (the next, education, has 160).
A text found in two kept files is dropped from both (its label would be a coin toss); 20 % of every file is held
out, drawn with seed 0: 4,111 training and 1,020 held-out texts — definitions 980, computers 729, politics 583,
work 522, science 467, art 356, songs-poems 329, disclaimer 284, linux 244, perl 244, startrek 202, literature 191.

The bag-of-words baselines on this split (workbench's TF-IDF features; k-NN as the probes run it, k = 20 cosine;
logistic regression as the linear probe; chance 8 %, the largest class 19 %): unigram k-NN 0.559, linear 0.631;
1–2-gram k-NN 0.549, linear 0.625. Words tell topics apart well: a small model trained for minutes may not catch
up, and that is worth seeing.
"""

import json
import re
from pathlib import Path

import torch

from ..errors import DataError, shown
from .dataset import TextDataset
from ..folder_dataset import hold_out
from .files import cut_tokens
from .tokens import pad

FORTUNES_DIR = Path("/usr/share/games/fortunes")
CATEGORIES = ("definitions", "computers", "politics", "work", "science", "art", "songs-poems", "disclaimer", "linux",
              "perl", "startrek", "literature")
MAX_CHARACTERS = 200  # longer fortunes (poems, dialogues, ASCII art) are left out
TEST_FRACTION = 0.2
UNFIT = re.compile(r"\b(sex\w*|virgins?|incest|prostitut\w*|nude|rape|\w*bitch\w*|ass)\b", re.IGNORECASE)
# "_\bA" or "___\b\b\bone": underlined, as old terminals printed it (a character, a backspace, the next character
# over it). Taking a character before a backspace away, again and again, keeps the letters.
OVERSTRIKE = re.compile(r"[^\x08\n]\x08")


def installed(folder: Path | None = None) -> bool:
    folder = FORTUNES_DIR if folder is None else folder
    return all((folder / name).is_file() for name in CATEGORIES)


def files_version() -> str:
    """The files' modification times: changes when the package is installed, updated or removed."""
    paths = [FORTUNES_DIR / name for name in CATEGORIES]
    return json.dumps([str(FORTUNES_DIR), [path.stat().st_mtime_ns if path.is_file() else 0 for path in paths]])


def read_fortunes(path: Path) -> list[str]:
    """The fortunes of one file, each with its spaces and tabs made single spaces and its lines kept."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"could not read {shown(path)}: {shown(error)}") from None
    while OVERSTRIKE.search(text):
        text = OVERSTRIKE.sub("", text)
    fortunes = []
    for entry in re.split(r"^%$", text, flags=re.MULTILINE):
        lines = (re.sub(r"[ \t]+", " ", line).strip() for line in entry.strip("\n").split("\n"))
        fortune = "\n".join(lines).strip()
        if fortune and len(fortune) <= MAX_CHARACTERS and not UNFIT.search(fortune):
            fortunes.append(fortune)
    return list(dict.fromkeys(fortunes))  # a fortune twice in one file counts once


def load_fortunes(folder: Path | None = None) -> TextDataset:
    """The kept files' fortunes as a data set, classes in CATEGORIES' order, split as the docstring says."""
    folder = FORTUNES_DIR if folder is None else folder
    if not installed(folder):
        raise DataError(f"Debian's fortunes are not installed (no files in {shown(folder)}): `apt-get install "
                        "fortunes fortunes-min`")
    by_file = {name: read_fortunes(folder / name) for name in CATEGORIES}
    files_of: dict[str, int] = {}
    for fortunes in by_file.values():
        for fortune in fortunes:
            files_of[fortune] = files_of.get(fortune, 0) + 1
    texts, labels = [], []
    for c, fortunes in enumerate(by_file.values()):
        kept = [fortune for fortune in fortunes if files_of[fortune] == 1]
        texts += kept
        labels += [c] * len(kept)
    tokens, _ = cut_tokens(texts, 4 * MAX_CHARACTERS)  # UTF-8: no text is cut, a few letters take two tokens
    items, targets = pad(tokens, max(map(len, tokens))), torch.tensor(labels)
    test = hold_out(targets, len(CATEGORIES), TEST_FRACTION)
    note = (f"Debian's fortunes from {folder}: {len(CATEGORIES)} of its files as classes, texts of at most "
            f"{MAX_CHARACTERS} characters; {TEST_FRACTION:.0%} of every class held out (seed 0)")
    return TextDataset("fortunes", items[~test], targets[~test], items[test], targets[test], list(CATEGORIES),
                       notes=[note])
