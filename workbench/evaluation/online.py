"""The online evaluation a run makes after every epoch: k-NN accuracy, the collapse monitor, and the task's
held-out numbers where it has any (a language model's held-out loss)."""

import time

import torch

from ..data import ImageDataset
from ..models import evaluating
from ..tasks import PretextTask
from .metrics import effective_rank, embed, feature_spread, knn_accuracy, stratified_sample

# The online k-NN's bank after each epoch: a sixth of the training images, at least 800 and at most 2,000, and
# half as many queries; so that on small data (Shapes: 5,000 images, an epoch of a few seconds) it costs under
# 5 % of an epoch. The run's last evaluation uses all of them (see OnlineEvaluation).
EVAL_BANK_SHARE, EVAL_BANK_MIN, EVAL_BANK_MAX = 1 / 6, 800, 2000


class OnlineEvaluation:
    """k-NN accuracy and the collapse monitor after each epoch, on a bank and queries drawn once per run at
    random, stratified by class: a folder is stored in class order, so its first 2,000 images may hold only a
    few of its classes. The run's last evaluation takes every training image as the bank and every held-out
    image as a query — the probe's k-NN, the number the run ends on. Images go through in batches of 256 (faster
    per image on a CPU than larger ones, whose activations leave the cache)."""

    def __init__(self, data: ImageDataset, seed: int, device: torch.device):
        gen = torch.Generator().manual_seed(seed)
        self.data, self.device, self.seed, self.seconds = data, device, seed, 0.0  # seconds: how long the last one took
        bank = min(EVAL_BANK_MAX, max(EVAL_BANK_MIN, round(EVAL_BANK_SHARE * len(data.train_labels))))
        self.bank = stratified_sample(data.train_labels, bank, gen)
        self.queries = stratified_sample(data.test_labels, bank // 2, gen)

    def last_seconds(self) -> float:
        """What the last evaluation will take, from what the last one took: it embeds every item (unlabelled
        data: every held-out one, its only use there)."""
        if not self.data.labelled:
            return self.seconds * len(self.data.test_labels) / len(self.queries)
        images = len(self.data.train_labels) + len(self.data.test_labels)
        return self.seconds * images / (len(self.bank) + len(self.queries))

    def __call__(self, task: PretextTask, epoch: int, step: int, last: bool = False) -> dict:
        began, data = time.perf_counter(), self.data
        bank, queries = (slice(None), slice(None)) if last else (self.bank, self.queries)
        query_features = self.embed(task, data.test_items[queries])
        accuracy = float("nan")  # not measured without labels; NaN keeps every reader's number formatting working
        if data.labelled:
            bank_features = self.embed(task, data.train_items[bank])
            accuracy = knn_accuracy(bank_features, data.train_labels[bank], query_features,
                                    data.test_labels[queries])
        watched = query_features  # what the loss compares, where a task's differs from its features (embedding)
        if type(task).embedding is not PretextTask.embedding:
            watched = self.embed(task, data.test_items[self.queries[::2]], output="embedding")  # half will do
        held_out = self.held_out(task, data.test_items[queries])
        if not last:
            self.seconds = time.perf_counter() - began
        return {"epoch": epoch, "step": step, "knn_top1": accuracy, "feature_spread": feature_spread(watched),
                "effective_rank": effective_rank(watched), "all_images": last, **held_out}

    @torch.no_grad()
    def held_out(self, task: PretextTask, items: torch.Tensor) -> dict[str, float]:
        """The task's `held_out_metrics` over `items`, averaged over batches of 256, with the same random draws
        (BERT's masks) at every evaluation, so that the numbers compare from one to the next."""
        if type(task).held_out_metrics is PretextTask.held_out_metrics:
            return {}
        gen = torch.Generator(self.device).manual_seed(self.seed)
        sums, model_input = {}, self.data.kind.model_input
        with evaluating(task):
            for start in range(0, len(items), 256):
                batch = model_input(items[start:start + 256].to(self.device))
                for name, value in task.held_out_metrics(batch, gen).items():
                    sums[name] = sums.get(name, 0.0) + float(value) * len(batch)
        return {name: total / len(items) for name, total in sums.items()}

    def embed(self, task: PretextTask, images: torch.Tensor, output="features") -> torch.Tensor:
        return embed(task, images, self.device, batch_size=256, output=output)
