"""What the page's sections share: the server's one training job, and the folders the page may read.

Every section module gets the same `PageState`; nothing else is shared between them. It belongs to the server
process, not to a browser tab, so a reload finds the same runs.
"""

from dataclasses import dataclass
from pathlib import Path

from ..engine.manager import JobManager


@dataclass
class PageState:
    manager: JobManager         # at most one training run at a time; its runs folder
    data_roots: tuple[Path, ...]  # a folder typed in the page is read only inside one of these
    uploads: Path               # where uploaded zips are unpacked (always readable)

    @property
    def runs_root(self) -> Path:
        return self.manager.runs_root
