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
# Fast maps: benchmarks/umap_speed.py measures the choices (table in benchmarks/README.md, "UMAP maps"). umap-learn
# called plainly took 35 s for the first 10,000-point map after a 64-point warm-up and 9 s for the next. Now:
# - The k nearest neighbours are exact, from matrix products in torch, handed over as `precomputed_knn`: none of
#   pynndescent's nearest-neighbour descent runs, so none of it is compiled (most of those 35 s), and the
#   neighbours are exact and the same every time. Above UMAP_PCA_ABOVE points the features go through PCA to
#   UMAP_PCA_DIMS dimensions first: the N × N products shrink ten-fold (50,000 points: ~20 s → ~2 s).
# - UMAP_EPOCHS = 200 epochs, umap-learn's own choice above 10,000 points, instead of its 500 below: the layout
#   is most of a warm map's time, and 200 epochs give as trustworthy a map.
# - random_state stays, so the same features give the same map (the page caches maps per run and settings);
#   its price is a single-threaded layout.
# - `warm_up_umap` fits 96 points in 8 islands with precomputed neighbours, once per metric: that compiles what a
#   large map runs (the fuzzy graph, the layout, the spectral start's layout of separate pieces), in the
#   background when the app starts. It runs at the lowest CPU priority: a training run started meanwhile keeps
#   the cores (Linux gives each thread its own nice value).
UMAP_EPOCHS = 200
UMAP_PCA_ABOVE, UMAP_PCA_DIMS = 10_000, 50
_umap_warming, _umap_ready = threading.Event(), threading.Event()


def warm_up_umap() -> threading.Thread:
    def run():
        try:
            if hasattr(os, "setpriority"):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            islands = torch.eye(8).repeat_interleave(12, 0) * 10 + 1      # 8 groups of 12 points, far apart
            islands += 0.01 * torch.randn(islands.shape, generator=torch.Generator().manual_seed(0))
            for metric in ("cosine", "euclidean"):
                umap_2d(islands.numpy(), n_neighbors=5, metric=metric)
            _pca(islands, 4)  # torch's first eigh loads LAPACK (~1 s)
        finally:
            _umap_ready.set()

    _umap_warming.set()
    thread = threading.Thread(target=run, name="umap-warm-up", daemon=True)
    thread.start()
    return thread


def umap_ready() -> bool:
    return _umap_ready.is_set()


def exact_neighbours(features: torch.Tensor, k: int, metric: str = "cosine",
                     chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k nearest rows, itself first, as umap-learn's `precomputed_knn` takes them: (N, k) int32
    indices and float32 distances (cosine: 1 − cosine similarity; euclidean: L2). Memory O(chunk · N)."""
    if metric == "cosine":
        features = F.normalize(features, dim=1)
    elif metric != "euclidean":
        raise ValueError(f"unknown UMAP metric {metric!r}; choose cosine or euclidean")
    squared = (features * features).sum(1)
    indices, distances = [], []
    for start in range(0, len(features), chunk):
        rows = features[start:start + chunk]
        nearness = rows @ features.T                  # cosine: the similarity itself
        if metric == "euclidean":
            nearness = 2 * nearness - squared         # −|a − b|² + |a|²: the same order
        own = torch.arange(len(rows))
        nearness[own, own + start] = float("inf")     # a point is its own nearest neighbour
        top, found = nearness.topk(k, dim=1)
        if metric == "cosine":
            distance = (1 - top).clamp_min(0)
        else:
            distance = (squared[start:start + len(rows), None] - top).clamp_min(0).sqrt()
        distance[:, 0] = 0
        indices.append(found.int())
        distances.append(distance)
    return torch.cat(indices).numpy(), torch.cat(distances).numpy()


def umap_2d(features, n_neighbors=15, seed=0, min_dist=0.1, metric="cosine", n_components=2,
            init=None) -> np.ndarray:
    """(N, D) features → (N, 2) (or `n_components`) UMAP coordinates, reproducible for a seed. `init`: an
    (N, n_components) layout to start from (the evolution view starts each epoch's map from the last one)."""
    import warnings

    import umap  # imported here: importing umap-learn takes seconds, and only this function needs it

    features = torch.as_tensor(np.asarray(features, dtype=np.float32))
    k = min(n_neighbors, len(features) - 1)
    from_cosine = False
    if len(features) > UMAP_PCA_ABOVE and features.shape[1] > UMAP_PCA_DIMS:
        # unit rows, then euclidean in the PCA space: |a − b|² = 2 − 2 cos(a, b) there, up to what PCA drops
        from_cosine = metric == "cosine"
        features = _pca(F.normalize(features, dim=1) if from_cosine else features, UMAP_PCA_DIMS)
        metric = "euclidean"
    indices, distances = exact_neighbours(features, k, metric)
    if from_cosine:
        distances = distances ** 2 / 2  # back to cosine distance
    reducer = umap.UMAP(n_neighbors=k, min_dist=min_dist, metric=metric, n_components=n_components,
                        n_epochs=UMAP_EPOCHS, random_state=seed, n_jobs=1,
                        precomputed_knn=(indices, distances, None),
                        init="spectral" if init is None else np.asarray(init, dtype=np.float32))
    with warnings.catch_warnings():  # "transform unavailable" (no search index): this map is never extended
        warnings.simplefilter("ignore", UserWarning)
        return reducer.fit_transform(features.numpy())


def _pca(features: torch.Tensor, dims: int) -> torch.Tensor:
    """Exact PCA from the eigenvectors of the D × D scatter matrix: deterministic, ~0.2 s at 50,000 × 512."""
    centred = features.double() - features.double().mean(0)
    _, vectors = torch.linalg.eigh(centred.T @ centred)   # ascending eigenvalues
    return (centred @ vectors[:, -dims:]).float()


# --- a finished (or stopped) run --------------------------------------------------------------------------
MAP_NEIGHBOURS = 8


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
    "indices" (rows of the test split), "images" (those images), "neighbours" and "similarities" (n,
    MAP_NEIGHBOURS: each point's nearest among the points shown, cosine in the feature space), "class_names",
    "shown", "total"}."""
    from .checkpoints import load_task
    from .data import load_run_data

    if settings.representation not in ("trained", "random_init", "raw_pixels"):
        raise ValueError(f"unknown representation {settings.representation!r}")
    if settings.dimensions not in (2, 3) or settings.n_neighbors < 2 or not 0 <= settings.min_dist <= 1:
        raise ValueError("a map has 2 or 3 dimensions, at least 2 neighbours and a min_dist in [0, 1]")
    task, config = load_task(run_dir, device, trained=settings.representation == "trained")
    dataset = load_run_data(config, data)
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
    if _umap_warming.is_set():  # the first call would compile anyway; waiting only avoids compiling twice
        _umap_ready.wait(timeout=180)
    coords = umap_2d(features.numpy(), settings.n_neighbors, min_dist=settings.min_dist, metric=settings.metric,
                     n_components=settings.dimensions)
    similarities, neighbours = nearest_neighbours(features, features, MAP_NEIGHBOURS, exclude_self=True)
    return {"coords": coords, "labels": labels.numpy(), "groups": groups.numpy(), "group_names": group_names,
            "indices": indices.numpy(), "images": dataset.test_images[indices], "neighbours": neighbours.numpy(),
            "similarities": similarities.numpy(), "class_names": list(dataset.class_names), "shown": len(indices),
            "total": len(dataset.test_labels), "task": config["task"], "data": dataset.name,
            "representation": settings.representation}


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
