"""How good is a representation? Embeddings, a k-NN probe, the collapse monitor and nearest neighbours.

k-NN protocol (fixed for every run so numbers compare): cosine similarity of L2-normalised features, k = 20
neighbours from the training split, each voting with weight exp(similarity / 0.07) — the protocol of DINO and
solo-learn (Wu et al. 2018). Accuracy is measured on the held-out test split.
"""

from typing import Callable

import torch
import torch.nn.functional as F

from ..data.kinds import KINDS, DataKind
from ..models import evaluating
from ..tasks import PretextTask

KNN_K = 20
KNN_TEMPERATURE = 0.07


def kind_of(model) -> DataKind:
    """The kind of item a task (or a bare image encoder) reads."""
    return KINDS[getattr(model, "kind", "image")]


@torch.no_grad()
def embed(model, images: torch.Tensor, device="cpu", batch_size=512, normalize=True,
          output="features", transform=None) -> torch.Tensor:
    """Items (uint8 images (N, 3, H, W), token ids (N, T)) → features (N, D) on the CPU, L2-normalised unless asked not to, in eval
    mode (BN statistics). `model` is a task (its `features` are the representation; `output="embedding"`
    gives what its loss compares instead) or a bare encoder. `transform`: applied to each batch of [0, 1]
    images on the device first (an augmentation)."""
    features_of = getattr(model, output) if isinstance(model, PretextTask) else model
    model_input = kind_of(model).model_input
    chunks = []
    with evaluating(model):
        for start in range(0, len(images), batch_size):
            batch = model_input(images[start:start + batch_size].to(device))
            if transform is not None:
                batch = transform(batch)
            features = features_of(batch).float()
            chunks.append((F.normalize(features, dim=1) if normalize else features).cpu())
    return torch.cat(chunks)


def stratified_sample(labels: torch.Tensor, count: int, gen: torch.Generator) -> torch.Tensor:
    """Indices of up to `count` items drawn at random, every class in proportion to its size."""
    if count >= len(labels):
        return torch.arange(len(labels))
    picked = []
    for c in labels.unique():
        rows = (labels == c).nonzero().flatten()
        share = max(1, round(count * len(rows) / len(labels)))
        picked.append(rows[torch.randperm(len(rows), generator=gen)[:share]])
    return torch.cat(picked).sort().values


def top_k_in_chunks(queries: torch.Tensor, score: Callable[[torch.Tensor], torch.Tensor], k: int,
                    largest: bool = True, own_score: float | None = None,
                    chunk: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query, the k best of `score(rows)` — an (n, N) matrix of the rows against a bank of N — as
    (values, indices), best first. The queries go through `chunk` rows at a time, so memory stays O(chunk · N),
    never O(N²). `own_score`: the queries are the bank's own rows, and each one's score against itself is set
    to this first (−inf: never its own neighbour; +inf: always its first)."""
    values, indices = [], []
    for start in range(0, len(queries), chunk):
        scores = score(queries[start:start + chunk])
        if own_score is not None:
            own = torch.arange(len(scores))
            scores[own, own + start] = own_score
        top = scores.topk(k, dim=1, largest=largest)
        values.append(top.values)
        indices.append(top.indices)
    return torch.cat(values), torch.cat(indices)


@torch.no_grad()
def knn_predict(train_features, train_labels, test_features, k=KNN_K, temperature=KNN_TEMPERATURE,
                metric="cosine", chunk=1024) -> torch.Tensor:
    """Weighted k-NN class predictions for the test rows. "cosine": features must be L2-normalised, each of
    the k nearest votes with weight exp(similarity / temperature). "euclidean": the k nearest by L2
    distance, one vote each. k is clamped to the bank's size."""
    k = min(k, len(train_features))
    if metric == "cosine":
        top_similarity, top_rows = top_k_in_chunks(test_features, lambda rows: rows @ train_features.T, k,
                                                   chunk=chunk)
        weights = (top_similarity / temperature).exp()
    elif metric == "euclidean":
        _, top_rows = top_k_in_chunks(test_features, lambda rows: torch.cdist(rows, train_features), k,
                                      largest=False, chunk=chunk)
        weights = torch.ones(top_rows.shape)
    else:
        raise ValueError(f"unknown k-NN metric {metric!r}; choose cosine or euclidean")
    votes = torch.zeros(len(test_features), int(train_labels.max()) + 1)
    votes.scatter_add_(1, train_labels[top_rows], weights)
    return votes.argmax(1)


def knn_accuracy(train_features, train_labels, test_features, test_labels, k=KNN_K,
                 temperature=KNN_TEMPERATURE, chunk=1024) -> float:
    """Weighted k-NN top-1 accuracy (cosine protocol above); features must be L2-normalised."""
    predictions = knn_predict(train_features, train_labels, test_features, k, temperature, chunk=chunk)
    return (predictions == test_labels).float().mean().item()


def nearest_neighbours(bank: torch.Tensor, queries: torch.Tensor, k: int = 8, exclude_self: bool = False,
                       chunk: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """The k most cosine-similar rows of `bank` for each query (both L2-normalised): (similarities, indices).
    `exclude_self`: the queries are the bank's rows, and a row is not its own neighbour."""
    k = min(k, len(bank) - int(exclude_self))
    return top_k_in_chunks(queries, lambda rows: rows @ bank.T, k,
                           own_score=-float("inf") if exclude_self else None, chunk=chunk)


def feature_spread(features: torch.Tensor) -> float:
    """Collapse monitor: std of L2-normalised features per dimension, in units of 1/√D — about 1 when
    healthy, → 0 when every image gets the same embedding (SimSiam paper, Sec. 4.1). NaN (not measured) for
    fewer than two items, as on a tiny folder's held-out images."""
    if len(features) < 2:
        return float("nan")
    return (features.std(dim=0).mean() * features.shape[1] ** 0.5).item()


def effective_rank(features: torch.Tensor) -> float:
    """RankMe (Garrido et al. 2023): exp of the entropy of the normalised singular values — how many
    dimensions the embedding really uses; 1 when collapsed to a line or a point."""
    singular = torch.linalg.svdvals(features.double() - features.double().mean(0))
    p = singular / singular.sum().clamp_min(1e-12) + 1e-12
    return float((-(p * p.log()).sum()).exp())
