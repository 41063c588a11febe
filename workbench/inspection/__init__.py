"""A run inspected: its map, probes, label efficiency, evolution, preview pictures, export and reports; runs
compared side by side, and a lesson's hand-out.

This layer opens run folders (`engine.checkpoints`) and measures them with `evaluation`."""

from .compare import compare_runs
from .handout import handout_document
from .maps import MapSettings, map_run
from .probe_run import probe_run

__all__ = ["MapSettings", "compare_runs", "handout_document", "map_run", "probe_run"]
