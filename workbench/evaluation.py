"""How good is a representation? Embeddings, a k-NN probe, baselines to beat, and a UMAP map.

k-NN protocol (fixed for every run so numbers compare): cosine similarity of L2-normalised features, k = 20
neighbours from the training split, each voting with weight exp(similarity / 0.07) — the protocol of DINO and
solo-learn (Wu et al. 2018). Accuracy is measured on the held-out test split.
"""

import os
import threading
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .tasks import PretextTask

KNN_K = 20
KNN_TEMPERATURE = 0.07


@torch.no_grad()
def embed(model, images: torch.Tensor, device="cpu", batch_size=512, normalize=True,
          output="features") -> torch.Tensor:
    """uint8 images (N, 3, H, W) → features (N, D) on the CPU, L2-normalised unless asked not to, in eval
    mode (BN statistics). `model` is a task (its `features` are the representation; `output="embedding"`
    gives what its loss compares instead) or a bare encoder."""
    features_of = getattr(model, output) if isinstance(model, PretextTask) else model
    was_training = model.training
    model.eval()
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size].to(device).float().div_(255)
        batch = batch.contiguous(memory_format=torch.channels_last)
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


def raw_pixel_features(images: torch.Tensor) -> torch.Tensor:
    """The baseline of no learning at all: the pixels themselves, centred and L2-normalised."""
    flat = images.flatten(1).float() / 255
    return F.normalize(flat - flat.mean(dim=1, keepdim=True), dim=1)


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


# --- UMAP ------------------------------------------------------------------------------------------------
# umap-learn compiles its numba kernels on first use (~40 s on two cores). `warm_up_umap` pays that in a
# background thread when the app starts, so that nobody waits for it later. The thread runs at the lowest CPU
# priority: a training run started meanwhile keeps the cores (Linux gives each thread its own nice value).
_umap_ready = threading.Event()


def warm_up_umap() -> threading.Thread:
    def run():
        try:
            if hasattr(os, "setpriority"):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            umap_2d(np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32), n_neighbors=5)
        finally:
            _umap_ready.set()

    thread = threading.Thread(target=run, name="umap-warm-up", daemon=True)
    thread.start()
    return thread


def umap_ready() -> bool:
    return _umap_ready.is_set()


def umap_2d(features, n_neighbors=15, seed=0, min_dist=0.1, metric="cosine", n_components=2) -> np.ndarray:
    """(N, D) features → (N, 2) (or `n_components`) UMAP coordinates, reproducible for a seed."""
    import umap  # imported here: importing umap-learn takes seconds, and only this function needs it

    reducer = umap.UMAP(n_neighbors=min(n_neighbors, len(features) - 1), min_dist=min_dist, metric=metric,
                        n_components=n_components, random_state=seed, n_jobs=1)
    return reducer.fit_transform(np.asarray(features, dtype=np.float32))


# --- a finished (or stopped) run --------------------------------------------------------------------------
@dataclass(frozen=True)
class MapSettings:
    """What a UMAP map shows and how it is laid out."""
    representation: str = "trained"   # "trained", "random_init" (the same network untrained) or "raw_pixels"
    dimensions: int = 2               # 2 or 3
    n_neighbors: int = 15             # UMAP: larger keeps more of the global layout
    min_dist: float = 0.1             # UMAP: smaller packs clusters tighter
    metric: str = "cosine"            # "cosine" or "euclidean"
    sample: int = 1000                # held-out images shown at most (drawn per class)
    colour: str = "label"             # "label", "knn" (right / wrong) or "cluster" (k-means on the features)


def map_run(run_dir, device="cpu", data: str | None = None, settings: MapSettings = MapSettings()) -> dict:
    """A UMAP map of held-out images of the run's data set (or of `data`), in the representation that
    `settings` names: {"coords" (n, 2|3), "labels", "groups" (the colour of each point), "group_names",
    "indices" (rows of the test split), "class_names", "shown", "total"}."""
    from .checkpoints import load_task
    from .data import load_dataset

    if settings.representation not in ("trained", "random_init", "raw_pixels"):
        raise ValueError(f"unknown representation {settings.representation!r}")
    if settings.dimensions not in (2, 3) or settings.n_neighbors < 2 or not 0 <= settings.min_dist <= 1:
        raise ValueError("a map has 2 or 3 dimensions, at least 2 neighbours and a min_dist in [0, 1]")
    task, config = load_task(run_dir, device, trained=settings.representation == "trained")
    dataset = load_dataset(data or config["data"])
    indices = stratified_sample(dataset.test_labels, max(settings.sample, 10), torch.Generator().manual_seed(0))

    def features_of(images):
        return raw_pixel_features(images) if settings.representation == "raw_pixels" else embed(task, images, device)

    features, labels = features_of(dataset.test_images[indices]), dataset.test_labels[indices]
    if settings.colour == "knn":  # right or wrong under the k-NN probe, measured in the full feature space
        predicted = knn_predict(features_of(dataset.train_images), dataset.train_labels, features)
        groups, group_names = (predicted != labels).long(), ["k-NN right", "k-NN wrong"]
    elif settings.colour == "cluster":
        from sklearn.cluster import KMeans

        k = len(dataset.class_names)
        groups = torch.as_tensor(KMeans(k, n_init=3, random_state=0).fit_predict(features.numpy())).long()
        group_names = [f"cluster {c + 1}" for c in range(k)]
    else:
        groups, group_names = labels, list(dataset.class_names)
    _umap_ready.wait(timeout=180)  # the first call would compile anyway; this only avoids compiling twice
    coords = umap_2d(features.numpy(), settings.n_neighbors, min_dist=settings.min_dist, metric=settings.metric,
                     n_components=settings.dimensions)
    return {"coords": coords, "labels": labels.numpy(), "groups": groups.numpy(), "group_names": group_names,
            "indices": indices.numpy(), "class_names": list(dataset.class_names), "shown": len(indices),
            "total": len(dataset.test_labels), "task": config["task"], "data": dataset.name,
            "representation": settings.representation}


def nearest_neighbours(bank: torch.Tensor, queries: torch.Tensor, k: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """The k most cosine-similar rows of `bank` for each query (both L2-normalised): (similarities, indices)."""
    return (queries @ bank.T).topk(min(k, len(bank)), dim=1)
