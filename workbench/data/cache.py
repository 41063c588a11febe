"""Decoded folders on disk, so that a second run on the same folder starts at once.

An entry is an uncompressed .npz of the decoded uint8 images with their labels and notes, named by a hash of
what decoding depended on: the folder's absolute path, the resolution, and every file's (name, bytes,
modification time) — a changed folder makes a new name and is read again. The folder is
$SSL_WORKBENCH_CACHE, else ~/.cache/ssl-workbench; deleting it only costs time.
"""

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

VERSION = 1  # raised when what an entry holds changes, so that old entries are not misread


def cache_dir() -> Path:
    return Path(os.environ.get("SSL_WORKBENCH_CACHE") or Path.home() / ".cache" / "ssl-workbench")


def entry_path(key) -> Path:
    digest = hashlib.sha256(json.dumps([VERSION, key], sort_keys=True).encode("utf-8", "surrogateescape"))
    return cache_dir() / f"folder-{digest.hexdigest()[:32]}.npz"


def load(key) -> tuple[dict[str, np.ndarray], dict] | None:
    """(arrays, metadata) stored under `key`, or None when there are none (or they cannot be read)."""
    path = entry_path(key)
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files if name != "meta"}
            return arrays, json.loads(str(stored["meta"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None  # missing, or written by something else: decode again


def store(key, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write an entry atomically (a temporary name, then a rename); a cache that cannot be written is no
    error, the data loads without it."""
    path, temporary = entry_path(key), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as file:
            temporary = Path(file.name)
            np.savez(file, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
