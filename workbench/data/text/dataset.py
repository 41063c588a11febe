"""A text data set as the workbench holds it: token ids (see `tokens`) and labels in memory, a training part and a
held-out part, and the notes a person should read about how it was read — the same shape as an image set."""

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..kinds import TEXT, DataKind
from .tokens import PAD, decode

UNLABELLED_NOTE = "unlabelled: training and the held-out loss work; probes need labels"


@dataclass
class TextDataset:
    kind: ClassVar[DataKind] = TEXT
    name: str
    train_items: torch.Tensor   # (N, T) int64 token ids, each text filled up with [PAD] to T
    train_labels: torch.Tensor  # (N,) int64
    test_items: torch.Tensor
    test_labels: torch.Tensor
    class_names: list[str]
    tokens: str = "characters"  # what a token is: "characters" or "words" (the generated corpus)
    notes: list[str] = dataclasses.field(default_factory=list)
    labelled: bool = True
    pretrain_items: torch.Tensor | None = None  # what pretraining sees: the training texts

    def __post_init__(self):
        if self.pretrain_items is None:
            self.pretrain_items = self.train_items

    @property
    def length(self) -> int:
        return self.train_items.shape[1]

    def texts(self, items: torch.Tensor) -> list[str]:
        """The texts that token rows hold."""
        return [decode(row) for row in items]

    def describe(self) -> str:
        what = f"{len(self.class_names)} classes" if self.labelled else UNLABELLED_NOTE
        used = int((self.train_items != PAD).sum(1).float().mean()) if len(self.train_items) else 0
        return (f"{self.name}: {len(self.train_items):,} training and {len(self.test_items):,} test texts, {what}, "
                f"{self.tokens} as tokens, up to {self.length} a text ({used} on average)")
