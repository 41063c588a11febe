"""A run inspected: its map, probes, label efficiency, evolution, preview pictures, export and reports.

This layer opens run folders (`engine.checkpoints`) and measures them with `evaluation`."""

from .maps import MapSettings, map_run
from .probe_run import probe_run

__all__ = ["MapSettings", "map_run", "probe_run"]
