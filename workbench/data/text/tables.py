"""Labelled texts from a table: a CSV (or tab-separated) file, or JSON lines (one JSON object a line).

The text and the label are found by name, in any case: the text under "text", "sentence" or "content", the label
under "label", "class" or "category". Other columns are left alone. A row without a text or a label is skipped
with its line number and the reason; a file without such columns is refused, naming the columns it has.
"""

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError, shown

TEXT_NAMES = ("text", "sentence", "content")
LABEL_NAMES = ("label", "class", "category")
DELIMITERS = (",", "\t", ";")  # tried in turn on the header: commas, tabs, and semicolons (European spreadsheets)
JSON_LINES_SUFFIXES = {".jsonl", ".ndjson"}
TABLE_SUFFIXES = {".csv", ".tsv", *JSON_LINES_SUFFIXES}


@dataclass
class Rows:
    """The texts and labels of a table, and the rows left out: (where, why)."""
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    blank: int = 0  # rows whose text is empty

    def add(self, where: str, text, label) -> None:
        text = "" if text is None else str(text).strip()
        label = "" if label is None else str(label).strip()
        if not text:
            self.blank += 1
            self.skipped.append((where, "empty text"))
        elif not label:
            self.skipped.append((where, "no label"))
        else:
            self.texts.append(text)
            self.labels.append(label)


def column(names: list[str], wanted: tuple[str, ...]) -> int | None:
    """The index of the first of `names` that is one of `wanted`, in any case and spacing; None if none is."""
    found = [str(name).strip().lower() for name in names]
    return next((i for i, name in enumerate(found) if name in wanted), None)


def find_columns(path: Path, names: list[str], what: str) -> tuple[int, int]:
    """(text column, label column) among `names`; DataError naming what the file has when one is missing."""
    text, label = column(names, TEXT_NAMES), column(names, LABEL_NAMES)
    if text is None or label is None:
        missing = ("text", TEXT_NAMES) if text is None else ("label", LABEL_NAMES)
        has = ", ".join(repr(shown(name)) for name in names[:12]) or "none"
        raise DataError(f"{shown(path.name)} has no {missing[0]} {what}: name it {' or '.join(missing[1])} "
                        f"(its {what}s: {has})")
    return text, label


def read_csv(path: Path, text: str) -> Rows:
    """The rows of a CSV or tab-separated file (its first line names the columns)."""
    header_line = text.split("\n", 1)[0]
    delimiter = "\t" if path.suffix.lower() == ".tsv" else next(
        (d for d in DELIMITERS if column(next(csv.reader([header_line], delimiter=d)), TEXT_NAMES) is not None), ",")
    # csv refuses fields over 128 KiB by default; a text that long is cut to the data set's length anyway.
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
        text_column, label_column = find_columns(path, header, "column")
        rows, line = Rows(), reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):  # blank lines between rows are not rows
                cells = row + [""] * (len(header) - len(row))
                rows.add(f"line {line:,}", cells[text_column], cells[label_column])
            line = reader.line_num + 1
    except csv.Error as error:
        raise DataError(f"{shown(path.name)}, line {reader.line_num:,}, is not valid CSV: {error}") from None
    return rows


def read_json_lines(path: Path, text: str) -> Rows:
    """The records of a JSON-lines file: one object a line, its keys found by name on the first one."""
    rows, keys = Rows(), None
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            rows.skipped.append((f"line {number:,}", f"not valid JSON ({error.msg})"))
            continue
        if not isinstance(record, dict):
            rows.skipped.append((f"line {number:,}", "not a JSON object ({...})"))
            continue
        if keys is None:
            names = list(record)
            text_key, label_key = find_columns(path, names, "key")
            keys = names[text_key], names[label_key]
        rows.add(f"line {number:,}", record.get(keys[0]), record.get(keys[1]))
    if keys is None:
        first = f": line {rows.skipped[0][0].split()[-1]}, {rows.skipped[0][1]}" if rows.skipped else ""
        raise DataError(f"{shown(path.name)} holds no JSON object, one a line, with a text and a label{first}")
    return rows


def read_table(path: Path, text: str) -> Rows:
    """The rows of a CSV, TSV or JSON-lines file, by its suffix."""
    return read_json_lines(path, text) if path.suffix.lower() in JSON_LINES_SUFFIXES else read_csv(path, text)
