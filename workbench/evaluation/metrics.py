"""How good is a representation? Embeddings, a k-NN probe, baselines to beat, and a UMAP map.

k-NN protocol (fixed for every run so numbers compare): cosine similarity of L2-normalised features, k = 20
neighbours from the training split, each voting with weight exp(similarity / 0.07) — the protocol of DINO and
solo-learn (Wu et al. 2018). Accuracy is measured on the held-out test split.
"""

import torch
import torch.nn.functional as F

from ..tasks import PretextTask

KNN_K = 20
KNN_TEMPERATURE = 0.07


@torch.no_grad()
def embed(model, images: torch.Tensor, device="cpu", batch_size=512, normalize=True,
          output="features", transform=None) -> torch.Tensor:
    """uint8 images (N, 3, H, W) → features (N, D) on the CPU, L2-normalised unless asked not to, in eval
    mode (BN statistics). `model` is a task (its `features` are the representation; `output="embedding"`
    gives what its loss compares instead) or a bare encoder. `transform`: applied to each batch of [0, 1]
    images on the device first (an augmentation)."""
    features_of = getattr(model, output) if isinstance(model, PretextTask) else model
    was_training = model.training
    model.eval()
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size].to(device).float().div_(255)
        batch = batch.contiguous(memory_format=torch.channels_last)
        if transform is not None:
            batch = transform(batch)
        features = features_of(batch).float()
        chunks.append((F.normalize(features, dim=1) if normalize else features).cpu())
    model.train(was_training)
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


@torch.no_grad()
def knn_predict(train_features, train_labels, test_features, k=KNN_K, temperature=KNN_TEMPERATURE,
                metric="cosine", chunk=1024) -> torch.Tensor:
    """Weighted k-NN class predictions for the test rows. "cosine": features must be L2-normalised, each of
    the k nearest votes with weight exp(similarity / temperature). "euclidean": the k nearest by L2
    distance, one vote each. k is clamped to the bank's size."""
    k = min(k, len(train_features))
    classes = int(train_labels.max()) + 1
    predictions = []
    for start in range(0, len(test_features), chunk):  # rows in chunks: memory stays O(chunk · N)
        rows = test_features[start:start + chunk]
        if metric == "cosine":
            top_sim, top_idx = (rows @ train_features.T).topk(k, dim=1)           # (n, k)
            weights = (top_sim / temperature).exp()
        elif metric == "euclidean":
            top_idx = torch.cdist(rows, train_features).topk(k, dim=1, largest=False).indices
            weights = torch.ones(top_idx.shape)
        else:
            raise ValueError(f"unknown k-NN metric {metric!r}; choose cosine or euclidean")
        votes = torch.zeros(len(rows), classes)
        votes.scatter_add_(1, train_labels[top_idx], weights)
        predictions.append(votes.argmax(1))
    return torch.cat(predictions)


def knn_accuracy(train_features, train_labels, test_features, test_labels, k=KNN_K,
                 temperature=KNN_TEMPERATURE, chunk=1024) -> float:
    """Weighted k-NN top-1 accuracy (cosine protocol above); features must be L2-normalised."""
    predictions = knn_predict(train_features, train_labels, test_features, k, temperature, chunk=chunk)
    return (predictions == test_labels).float().mean().item()


def feature_spread(features: torch.Tensor) -> float:
    """Collapse monitor: std of L2-normalised features per dimension, in units of 1/√D — about 1 when
    healthy, → 0 when every image gets the same embedding (SimSiam paper, Sec. 4.1)."""
    return (features.std(dim=0).mean() * features.shape[1] ** 0.5).item()


def effective_rank(features: torch.Tensor) -> float:
    """RankMe (Garrido et al. 2023): exp of the entropy of the normalised singular values — how many
    dimensions the embedding really uses; 1 when collapsed to a line or a point."""
    singular = torch.linalg.svdvals(features.double() - features.double().mean(0))
    p = singular / singular.sum().clamp_min(1e-12) + 1e-12
    return float((-(p * p.log()).sum()).exp())




def nearest_neighbours(bank: torch.Tensor, queries: torch.Tensor, k: int = 8, exclude_self: bool = False,
                       chunk: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """The k most cosine-similar rows of `bank` for each query (both L2-normalised): (similarities, indices).
    `exclude_self`: the queries are the bank's rows, and a row is not its own neighbour."""
    k = min(k, len(bank) - int(exclude_self))
    found = []
    for start in range(0, len(queries), chunk):  # memory O(chunk · N), not O(N²)
        similarity = queries[start:start + chunk] @ bank.T
        if exclude_self:
            rows = torch.arange(len(similarity))
            similarity[rows, rows + start] = -float("inf")
        found.append(similarity.topk(k, dim=1))
    return torch.cat([s for s, _ in found]), torch.cat([i for _, i in found])
