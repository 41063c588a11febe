"""A zip uploaded in the page, unpacked safely: no entry may land outside the target, links and absurd sizes
are refused before anything is written, and the bytes written are counted rather than trusted."""

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from .errors import DataError, shown

MAX_FILES = 100_000
MAX_BYTES = 4 * 1024**3       # uncompressed, all entries together
MAX_RATIO = 200               # uncompressed / compressed size of one entry: photos barely compress at all
RATIO_FROM_BYTES = 1024**2    # small files (headers, text) may compress far better: no ratio below this size
IGNORED = "__MACOSX"          # macOS's resource forks, not images


def unpack_zip(zip_path, target_dir, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> Path:
    """Unpack `zip_path` into `target_dir` (made if missing) and return the folder to load: the zip's one
    top-level folder if it holds just one, else `target_dir`. Raises DataError naming the entry at fault; a
    target it made is removed again then."""
    target = Path(target_dir).resolve()
    made = not target.exists()
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"{shown(Path(zip_path).name)} is not a readable zip file ({shown(error)})") from None
    with archive:
        entries = [e for e in archive.infolist() if PurePosixPath(e.filename).parts[:1] != (IGNORED,)]
        _check(entries, target, max_files, max_bytes)
        target.mkdir(parents=True, exist_ok=True)
        try:
            _extract(archive, entries, target, max_bytes)
        except (DataError, OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError) as error:  # CRC, password
            if made:
                shutil.rmtree(target, ignore_errors=True)
            if isinstance(error, DataError):
                raise
            raise DataError(f"could not unpack {shown(Path(zip_path).name)}: {shown(error)}") from None
    tops = {PurePosixPath(e.filename).parts[0] for e in entries}
    only = target / tops.pop() if len(tops) == 1 else None
    return only if only is not None and only.is_dir() else target


def _check(entries, target: Path, max_files: int, max_bytes: int) -> None:
    if len(entries) > max_files:
        raise DataError(f"the zip holds {len(entries):,} entries, more than the {max_files:,} allowed")
    total = sum(e.file_size for e in entries)
    if total > max_bytes:
        raise DataError(f"the zip unpacks to {total:,} bytes, more than the {max_bytes:,} allowed")
    for entry in entries:
        name = shown(entry.filename)
        path = PurePosixPath(entry.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
            raise DataError(f"refused the zip: entry {name!r} would land outside the folder it is unpacked into")
        if not (target / path).resolve().is_relative_to(target):
            raise DataError(f"refused the zip: entry {name!r} would land outside the folder it is unpacked into")
        if stat.S_ISLNK(entry.external_attr >> 16):
            raise DataError(f"refused the zip: entry {name!r} is a symbolic link (links are not unpacked)")
        ratio = entry.file_size / max(1, entry.compress_size)
        if entry.file_size > RATIO_FROM_BYTES and ratio > MAX_RATIO:
            raise DataError(f"refused the zip: entry {name!r} unpacks {ratio:,.0f} times larger than it is stored "
                            "(a zip bomb?)")


def _extract(archive: zipfile.ZipFile, entries, target: Path, max_bytes: int) -> None:
    written = 0
    for entry in entries:
        destination = target / entry.filename
        if entry.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(entry) as source, open(destination, "wb") as out:
            written += _copy_at_most(source, out, entry, max_bytes - written)


def _copy_at_most(source, out, entry, budget: int) -> int:
    """Copy one entry, stopping as soon as it outgrows what its header declared or the total allowed."""
    limit, copied = min(entry.file_size, budget), 0
    while chunk := source.read(1024 * 1024):
        copied += len(chunk)
        if copied > limit:
            raise DataError(f"refused the zip: entry {shown(entry.filename)!r} holds more than its header declares")
        out.write(chunk)
    return copied
