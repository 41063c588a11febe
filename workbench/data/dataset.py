"""A data set as the workbench holds it: uint8 images and their labels in memory, a training part and a held-out
test part, and the notes a person should read about how it was read."""

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch

from .kinds import IMAGE, DataKind
from .pixels import to_grey

UNLABELLED_NOTE = "unlabelled: training, UMAP and retrieval work; probes need labels"


@dataclass
class ImageDataset:
    kind: ClassVar[DataKind] = IMAGE
    name: str
    train_items: torch.Tensor  # (N, 3, S, S) uint8: the k-NN memory bank and the probes' training images
    train_labels: torch.Tensor  # (N,) int64
    test_items: torch.Tensor
    test_labels: torch.Tensor
    class_names: list[str]
    notes: list[str] = dataclasses.field(default_factory=list)  # e.g. files that were skipped, the split used
    labelled: bool = True       # False: a flat folder (labels all 0); k-NN and probes cannot be measured
    # What pretraining sees: the training images unless the set has more without labels (STL-10's unlabelled
    # split, with its labelled training images at the front: train_items is then a view, not a copy).
    pretrain_items: torch.Tensor | None = None

    def __post_init__(self):
        if self.pretrain_items is None:
            self.pretrain_items = self.train_items

    @property
    def image_size(self) -> int:
        return self.train_items.shape[-1]

    def describe(self) -> str:
        pretrain = len(self.pretrain_items)
        extra = f" ({pretrain:,} for pretraining)" if pretrain != len(self.train_items) else ""
        what = f"{len(self.class_names)} classes" if self.labelled else UNLABELLED_NOTE
        return (f"{self.name}: {len(self.train_items):,} training{extra} and {len(self.test_items):,} test "
                f"images, {what}, {self.image_size}×{self.image_size} px")


def in_grey(dataset: ImageDataset) -> ImageDataset:
    """The same data set with every image in grey (three equal channels), and a note saying so."""
    pretrain = to_grey(dataset.pretrain_items)
    train = pretrain[:len(dataset.train_items)]  # the training images lead the pretraining ones, or are them
    return dataclasses.replace(dataset, train_items=train, test_items=to_grey(dataset.test_items),
                               pretrain_items=pretrain, notes=dataset.notes + ["in grey (three equal channels)"])
