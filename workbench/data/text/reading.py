"""A file's bytes as text, or the reason in words why they are not: binary, empty, not UTF-8.

Text must be UTF-8 (plain ASCII is UTF-8 too). A file in another encoding is refused, with the line and byte
that gave it away, rather than guessed at: reading Windows-1252 or Shift-JIS as Latin-1 never fails, so every
wrong guess would train the model on quietly garbled letters. Saving a file as UTF-8 takes one step in any
editor, or `iconv -f latin1 -t utf-8`.
"""

from pathlib import Path

from ..errors import DataError, shown

MAX_BYTES = 16 * 2**20  # read at most this much of a file (16 MiB: about 130,000 pieces of a plain file)
NOT_UTF8 = "not UTF-8"  # how an encoding problem's reason starts (the data check report gathers them)
# The first bytes of the binary files most often mistaken for text, and what they are.
SIGNATURES = {b"%PDF": "a PDF document", b"PK\x03\x04": "a zip archive (Word, Excel and OpenDocument files are "
              "zips too)", b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
              b"\x1f\x8b": "a gzip-compressed file", b"\x7fELF": "a program", b"{\\rtf": "an RTF document"}


class TextProblem(Exception):
    """Why a file cannot be read as text, in words (without the file's name): what a folder's report lists."""


def binary_kind(head: bytes) -> str | None:
    """What a file whose first bytes are `head` is, when it is not text: None for text."""
    for signature, what in SIGNATURES.items():
        if head.startswith(signature):
            return what
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text (Windows' \"Unicode\"): save it as UTF-8"
    return "a binary file (it holds NUL bytes, which text never does)" if b"\0" in head else None


def not_utf8(data: bytes, error: UnicodeDecodeError) -> str:
    """Where UTF-8 decoding failed, as a person finds it in an editor: line, byte and value."""
    line = data.count(b"\n", 0, error.start) + 1
    column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
    return (f"{NOT_UTF8}: line {line:,}, byte {column:,} is 0x{data[error.start]:02X} (Latin-1 or Windows-1252?) — "
            "save the file as UTF-8")


def decode_text(data: bytes, cut: bool = False) -> str:
    """`data` as text with "\\n" line ends; TextProblem when it is not UTF-8 text. `cut`: the file was read
    only in part, so a last character cut in two is dropped."""
    if not data:
        raise TextProblem("empty file (0 bytes)")
    what = binary_kind(data[:8192])
    if what:
        raise TextProblem(f"not a text file: it looks like {what}")
    try:
        text = data.decode("utf-8-sig")  # -sig: a byte-order mark that Windows' editors write is not text
    except UnicodeDecodeError as error:
        if not (cut and error.start >= len(data) - 3):
            raise TextProblem(not_utf8(data, error)) from None
        text = data[:error.start].decode("utf-8-sig")
    if not text.strip():
        raise TextProblem("only blank lines or spaces")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_bytes(path: Path) -> tuple[bytes, bool]:
    """(the file's first MAX_BYTES bytes, whether there was more); TextProblem when it cannot be read."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as error:
        raise TextProblem(f"cannot be read: {shown(error.strerror or error)}") from None
    return data[:MAX_BYTES], len(data) > MAX_BYTES


def read_text(path: Path, notes: list[str]) -> str:
    """The text of one file; DataError in one line when it is not UTF-8 text. A file over MAX_BYTES is read in
    part, up to its last whole line, with a note in `notes`."""
    try:
        data, more = read_bytes(path)
        if more:
            data = data[:data.rfind(b"\n") + 1] or data
            notes.append(f"only the first {len(data) / 2**20:.0f} MB of {shown(path.name)} were read (the file "
                         f"holds {path.stat().st_size / 2**20:,.0f} MB): enough for minutes of training")
        return decode_text(data, cut=more)
    except TextProblem as problem:
        raise DataError(f"cannot read {shown(path)}: {problem}") from None
