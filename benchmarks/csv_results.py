"""Where the benchmarks keep their tables: one CSV per table, benchmarks/results/TABLE-DATA-MACHINE-PRECISION.csv.

MACHINE is what the seconds depend on most: `cpu2` for two CPU threads, or the GPU's short name (`h100`).
PRECISION is the engine's (`bfloat16` where the chip computes it natively, else `float32`). Every row carries its
`source`: the script, the day and the commit it was measured on, or, for figures copied from JOURNAL.md, which
entry they come from. A script run for a few rows (`tasks_table.py --tasks simclr`) replaces those rows and keeps
the others, each with its own source.
"""

import csv
import datetime
import re
import subprocess
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def machine(device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        words = torch.cuda.get_device_name(device).lower().replace("nvidia", "").split()
        return words[0] if words else "gpu"
    return f"cpu{torch.get_num_threads()}"


def results_path(table: str, data: str, device, precision: str) -> Path:
    """The table's file; a data set named by a path or `NAME:ROOT` keeps only its name's letters and digits."""
    data = re.sub(r"[^a-z0-9_+]+", "_", Path(data.split(":")[0]).name.lower()).strip("_")
    return RESULTS / f"{table}-{data}-{machine(device)}-{precision}.csv"


def measured_by(script: str) -> str:
    """A fresh row's source: the script, today's date and the commit of the tree it ran on."""
    def git(*arguments):
        return subprocess.run(["git", *arguments], cwd=RESULTS.parent, capture_output=True, text=True)

    try:
        commit = git("rev-parse", "--short", "HEAD").stdout.strip()
        if commit and git("diff-index", "--quiet", "HEAD", "--").returncode:
            commit += " with local changes"
    except OSError:  # no git here
        commit = ""
    return f"measured by benchmarks/{script}, {datetime.date.today().isoformat()}, commit {commit or 'unknown'}"


def save_rows(path: Path, rows: list[dict], key: tuple[str, ...]) -> None:
    """Write `rows` into the CSV at `path`: an earlier row with the same `key` values is replaced in place, the
    others are kept. The new rows' columns are the file's."""
    columns = list(rows[0])
    kept = []
    if path.exists():
        with path.open(newline="") as f:
            kept = list(csv.DictReader(f))
    fresh = {tuple(str(row[k]) for k in key): row for row in rows}
    merged = [fresh.pop(tuple(row.get(k, "") for k in key), row) for row in kept]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore", restval="")
        writer.writeheader()
        writer.writerows(merged + list(fresh.values()))
    print(f"\n(written to {path.relative_to(RESULTS.parent.parent)})")
