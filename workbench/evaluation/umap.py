"""UMAP maps of an embedding, fast: exact neighbours from torch, a warm-up that compiles in the background."""

import os
import threading

import numpy as np
import torch
import torch.nn.functional as F

from .metrics import top_k_in_chunks

# Fast maps: benchmarks/umap_speed.py measures the choices (benchmarks/JOURNAL.md, "UMAP maps"; the current
# figures: benchmarks/results/umap-blobs-cpu2-float32.csv). umap-learn called plainly took 35 s for the first
# 10,000-point map after a 64-point warm-up and 9 s for the next. Now:
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
    """Compile what a map runs, in a background thread at the lowest priority (see above)."""
    def run():
        try:
            if hasattr(os, "setpriority"):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            islands = torch.eye(8).repeat_interleave(12, 0) * 10 + 1      # 8 groups of 12 points, far apart
            islands += 0.01 * torch.randn(islands.shape, generator=torch.Generator().manual_seed(0))
            for metric in ("cosine", "euclidean"):
                umap_layout(islands.numpy(), n_neighbors=5, metric=metric)
            _pca(islands, 4)  # torch's first eigh loads LAPACK (~1 s)
        finally:
            _umap_ready.set()

    _umap_warming.set()
    thread = threading.Thread(target=run, name="umap-warm-up", daemon=True)
    thread.start()
    return thread


def umap_ready() -> bool:
    """Whether the warm-up has finished: a map now takes seconds, not half a minute."""
    return _umap_ready.is_set()


def wait_for_warm_up(timeout: float = 180) -> None:
    """If the warm-up has started, wait for it: the first map would compile anyway, and waiting avoids
    compiling twice."""
    if _umap_warming.is_set():
        _umap_ready.wait(timeout=timeout)


def exact_neighbours(features: torch.Tensor, k: int, metric: str = "cosine",
                     chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k nearest rows, itself first, as umap-learn's `precomputed_knn` takes them: (N, k) int32
    indices and float32 distances (cosine: 1 − cosine similarity; euclidean: L2). Memory O(chunk · N)."""
    if metric == "cosine":
        features = F.normalize(features, dim=1)
    elif metric != "euclidean":
        raise ValueError(f"unknown UMAP metric {metric!r}; choose cosine or euclidean")
    squared = (features * features).sum(1)

    def nearness(rows):  # cosine: the similarity itself
        if metric == "euclidean":
            return 2 * (rows @ features.T) - squared  # −|a − b|² + |a|²: the same order
        return rows @ features.T

    # a point is its own nearest neighbour
    top, found = top_k_in_chunks(features, nearness, k, own_score=float("inf"), chunk=chunk)
    if metric == "cosine":
        distances = (1 - top).clamp_min(0)
    else:
        distances = (squared[:, None] - top).clamp_min(0).sqrt()
    distances[:, 0] = 0
    return found.int().numpy(), distances.numpy()


def umap_layout(features, n_neighbors=15, seed=0, min_dist=0.1, metric="cosine", n_components=2,
                init=None) -> np.ndarray:
    """(N, D) features → (N, n_components) UMAP coordinates, a 2-D or a 3-D map, reproducible for a seed.
    `init`: an (N, n_components) layout to start from (the evolution view starts each epoch's map from the
    last one)."""
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
