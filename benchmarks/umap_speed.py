"""Seconds a UMAP map takes, and how good it is, for umap-learn as the app used to call it and for the
alternatives: fewer epochs, PCA first, exact k-NN by matrix product (no nearest-neighbour descent), numba's disk
cache, a warm-up that compiles the large-input path, and other libraries (openTSNE, PaCMAP, TorchDR) if installed.

    python benchmarks/umap_speed.py [--sizes 1000 10000 50000] [--variants today knn200 ...] [--repeats 2]

Every (variant, size) runs in a fresh Python process: it imports, runs the variant's warm-up (as the app does at
start-up), then times the first map ("first") and `--repeats` more ("warm"), and checks that the repeats give
the same coordinates ("same": reproducible for a seed). Quality of the first map, on a 2,000-point subset:
trustworthiness (sklearn, 10 neighbours, cosine in the feature space) and the k-NN accuracy (k = 20, half the
points voting for the other half) of the 2-D map against the blobs' labels. The data: 10 classes of 512-d unit
vectors, each class four overlapping sub-blobs on the sphere, so that neither the classes nor their inner
structure are trivially separate. The table also goes to benchmarks/results/umap-blobs-MACHINE-float32.csv, one
row a (variant, size).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from csv_results import measured_by, results_path, save_rows

SEED, N_NEIGHBORS, MIN_DIST, METRIC = 0, 15, 0.1, "cosine"


def blobs(n, dim=512, classes=10, sub=4, latent=16, seed=0):
    """Unit vectors like an encoder's: a 16-d latent mixture (classes of `sub` overlapping sub-blobs) sent through
    a random tanh layer to `dim`, plus noise; the classes overlap (k-NN in the 512-d space ≈ 0.9)."""
    g = torch.Generator().manual_seed(seed)
    centres = 0.45 * torch.randn(classes, latent, generator=g)
    subs = centres.repeat_interleave(sub, 0) + 0.27 * torch.randn(classes * sub, latent, generator=g)
    which = torch.randint(classes * sub, (n,), generator=g)
    z = subs[which] + 0.5 * torch.randn(n, latent, generator=g)
    lift = torch.randn(latent, dim, generator=g) / latent ** 0.5
    x = F.normalize(torch.tanh(z @ lift) + 0.1 * torch.randn(n, dim, generator=g), dim=1)
    return x.numpy(), (which // sub).numpy()


# --- the pieces the variants are made of ----------------------------------------------------------------
def exact_knn(x, k, metric):
    """Exact k nearest neighbours (self first) by matrix product, as umap-learn's precomputed_knn wants them:
    (int32 indices, float32 distances), each (N, k)."""
    x = torch.from_numpy(x)
    if metric == "cosine":
        x = F.normalize(x, dim=1)
    squared = (x * x).sum(1)
    found_i, found_d = [], []
    for start in range(0, len(x), 1024):
        rows = x[start:start + 1024]
        score = rows @ x.T  # larger = nearer; for euclidean the |row|² term does not change the order
        if metric == "euclidean":
            score = 2 * score - squared
        score[torch.arange(len(rows)), torch.arange(start, start + len(rows))] = float("inf")  # self first
        top, idx = score.topk(k, dim=1)
        if metric == "cosine":
            dist = (1 - top).clamp_min(0)
        else:
            dist = (squared[start:start + len(rows), None] - top).clamp_min(0).sqrt()
        dist[:, 0] = 0
        found_i.append(idx.int())
        found_d.append(dist)
    return torch.cat(found_i).numpy(), torch.cat(found_d).numpy().astype(np.float32)


def pca(x, dims=50):
    """Exact PCA by the eigenvectors of the D × D covariance (deterministic, ~0.2 s at 50,000 × 512)."""
    t = torch.from_numpy(x).double()
    t = t - t.mean(0)
    _, vectors = torch.linalg.eigh(t.T @ t)
    return (t @ vectors[:, -dims:].flip(1)).float().numpy()


def umap_learn(x, n_epochs=None, knn=False, reduce=None, parallel=False, metric=METRIC, n_components=2,
               n_neighbors=N_NEIGHBORS, init="spectral"):
    import umap

    cosine_after_pca = False
    if reduce:  # cosine → unit rows, PCA, then euclidean there: |a − b|² = 2 − 2 cos(a, b)
        cosine_after_pca = metric == "cosine"
        x = pca(F.normalize(torch.from_numpy(x), dim=1).numpy() if cosine_after_pca else x, reduce)
        metric = "euclidean"
    extra = {}
    n_neighbors = min(n_neighbors, len(x) - 1)
    if knn:
        indices, distances = exact_knn(x, n_neighbors, metric)
        if cosine_after_pca:
            distances = distances ** 2 / 2  # back to cosine distance
        extra["precomputed_knn"] = (indices, distances, None)
    seeding = {"n_jobs": -1} if parallel else {"random_state": SEED, "n_jobs": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "transform unavailable" with precomputed_knn
        reducer = umap.UMAP(n_neighbors=n_neighbors, min_dist=MIN_DIST, metric=metric, n_components=n_components,
                            n_epochs=n_epochs, init=init, **seeding, **extra)
        return reducer.fit_transform(x)


def tiny(n=64, dim=8):
    return F.normalize(torch.randn(n, dim, generator=torch.Generator().manual_seed(0)), dim=1).numpy()


def islands(groups=8, size=12, dim=8):
    """A tiny warm-up set whose k-NN graph falls apart into `groups` pieces: more than 2 × n_components pieces
    send umap-learn's spectral init through its component layout, which compiles the metric for float64."""
    g = torch.Generator().manual_seed(0)
    centres = torch.eye(groups, dim) * 10 + 1
    return (centres.repeat_interleave(size, 0) + 0.01 * torch.randn(groups * size, dim, generator=g)).numpy()


def opentsne(x):
    from openTSNE import TSNE

    return np.asarray(TSNE(n_jobs=2, random_state=SEED, metric=METRIC, neighbors="exact" if len(x) < 1000 else "auto").fit(x))


def pacmap_fit(x):
    import pacmap

    return pacmap.PaCMAP(n_neighbors=10, random_state=SEED, distance="angular").fit_transform(x)


def torchdr_umap(x):
    import torchdr

    return torchdr.UMAP(n_neighbors=N_NEIGHBORS, min_dist=MIN_DIST, device="cpu", backend=None, random_state=SEED,
                        max_iter=500).fit_transform(torch.from_numpy(x)).numpy()


# name: (what it is, fit, warm-up)
VARIANTS = {
    "today": ("umap-learn as the app called it (random_state, n_jobs=1), 64-point warm-up",
              umap_learn, lambda: umap_learn(tiny(), n_neighbors=5)),
    "today_cache": ("the same, numba disk cache (NUMBA_CACHE_DIR) primed by an earlier process",
                    umap_learn, lambda: umap_learn(tiny(), n_neighbors=5)),
    "today_bigwarm": ("the same, warm-up fits 4,096 points (compiles nearest-neighbour descent)",
                      umap_learn, lambda: umap_learn(tiny(4096, 32), n_epochs=10)),
    "epochs200": ("n_epochs=200, 4,096-point warm-up",
                  lambda x: umap_learn(x, n_epochs=200), lambda: umap_learn(tiny(4096, 32), n_epochs=10)),
    "pca50": ("PCA to 50 dims first, 4,096-point warm-up",
              lambda x: umap_learn(x, reduce=50), lambda: umap_learn(tiny(4096, 64), n_epochs=10, reduce=50)),
    "knn": ("exact k-NN by torch matmul (precomputed_knn), warm-up on 96 points in 8 islands, precomputed k-NN",
            lambda x: umap_learn(x, knn=True), lambda: umap_learn(islands(), knn=True, n_neighbors=5)),
    "knn200": ("exact k-NN + n_epochs=200",
               lambda x: umap_learn(x, knn=True, n_epochs=200), lambda: umap_learn(islands(), knn=True, n_neighbors=5)),
    "knn200_pca": ("exact k-NN + n_epochs=200 + PCA to 50 dims first",
                   lambda x: umap_learn(x, knn=True, n_epochs=200, reduce=50),
                   lambda: umap_learn(islands(), knn=True, n_neighbors=5, reduce=4)),
    "knn200_parallel": ("exact k-NN + n_epochs=200, threaded layout (no random_state: not reproducible)",
                        lambda x: umap_learn(x, knn=True, n_epochs=200, parallel=True),
                        lambda: umap_learn(islands(), knn=True, n_neighbors=5, parallel=True)),
    "workbench": ("workbench.evaluation.umap.umap_layout as it is now, after warm_up_umap()",
                  lambda x: __import__("workbench.evaluation.umap").evaluation.umap.umap_layout(x),
                  lambda: __import__("workbench.evaluation.umap").evaluation.umap.warm_up_umap().join()),
    "opentsne": ("openTSNE (t-SNE, FFT gradients, 2 threads, seeded)", opentsne, lambda: opentsne(tiny(200))),
    "pacmap": ("PaCMAP (numba; its own PCA to 100 and k-NN)", pacmap_fit, lambda: pacmap_fit(tiny(200))),
    "torchdr": ("TorchDR UMAP (PyTorch, CPU)", torchdr_umap, lambda: torchdr_umap(tiny(200))),
}


def quality(x, labels, coords):
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import KNeighborsClassifier

    rows = np.random.default_rng(0).permutation(len(x))[:2000]
    trust = trustworthiness(x[rows], coords[rows], n_neighbors=10, metric="cosine")
    half = len(rows) // 2
    knn = KNeighborsClassifier(20).fit(coords[rows[:half]], labels[rows[:half]])
    return trust, knn.score(coords[rows[half:]], labels[rows[half:]])


def worker(variant, size, repeats):
    x, labels = blobs(size)
    _, fit, warm_up = VARIANTS[variant]
    start = time.perf_counter()
    warm_up()
    warm_up_s = time.perf_counter() - start
    times, maps = [], []
    for _ in range(1 + repeats):
        start = time.perf_counter()
        maps.append(np.asarray(fit(x)))
        times.append(time.perf_counter() - start)
    trust, map_knn = quality(x, labels, maps[0])
    print(json.dumps({"warm_up": warm_up_s, "first": times[0], "warm": times[1:], "trust": trust, "map_knn": map_knn,
                      "same": all(np.array_equal(maps[0], m) for m in maps[1:])}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--repeats", type=int, default=2, help="warm calls after the first, per process")
    parser.add_argument("--timeout", type=int, default=300, help="seconds one process may take")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker[0], int(args.worker[1]), args.repeats)

    for size in args.sizes:
        x, labels = blobs(size)
        rows = np.random.default_rng(0).permutation(size)[:2000]
        half = len(rows) // 2
        sim = torch.from_numpy(x[rows[half:]]) @ torch.from_numpy(x[rows[:half]]).T
        vote = labels[rows[:half]][sim.topk(20, dim=1).indices.numpy()]
        acc = np.mean([np.bincount(v, minlength=10).argmax() == t for v, t in zip(vote, labels[rows[half:]])])
        print(f"{size:,} points: k-NN accuracy in the 512-d space itself (same protocol): {acc:.3f}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    print("| variant | points | warm-up s | first s | warm s | same | trustworthiness | map k-NN |")
    print("|---|---|---|---|---|---|---|---|")
    cache = tempfile.mkdtemp(prefix="numba-cache-")
    rows, source = [], measured_by("umap_speed.py")
    for variant in args.variants:
        env = dict(os.environ)
        if variant == "today_cache":
            env["NUMBA_CACHE_DIR"] = cache
        for size in args.sizes:
            command = [sys.executable, __file__, "--worker", variant, str(size), "--repeats", str(args.repeats)]
            if variant == "today_cache":  # prime the cache in a process of its own, untimed
                subprocess.run(command[:-2] + ["0"], env=env, capture_output=True)
            try:
                done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                print(f"| {variant} | {size:,} | over {args.timeout} s |||||", flush=True)
                continue
            if done.returncode:
                print(f"| {variant} | {size:,} | failed: {done.stderr.strip().splitlines()[-1][:120]} |||||")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            warm = "–".join(dict.fromkeys(f"{t:.1f}" for t in (min(r["warm"]), max(r["warm"])))) if r["warm"] else "–"
            print(f"| {variant} | {size:,} | {r['warm_up']:.1f} | {r['first']:.1f} | {warm} | "
                  f"{'yes' if r['same'] else 'no'} | {r['trust']:.3f} | {r['map_knn']:.3f} |", flush=True)
            rows.append({"variant": variant, "points": size, "warm_up_s": f"{r['warm_up']:.1f}",
                         "first_s": f"{r['first']:.1f}", "warm_min_s": f"{min(r['warm']):.1f}" if r["warm"] else "",
                         "warm_max_s": f"{max(r['warm']):.1f}" if r["warm"] else "",
                         "same_on_repeat": "yes" if r["same"] else "no", "trustworthiness": f"{r['trust']:.3f}",
                         "map_knn": f"{r['map_knn']:.3f}", "source": source})
    print("\n".join(f"- {name}: {VARIANTS[name][0]}" for name in args.variants))
    if rows:
        save_rows(results_path("umap", "blobs", "cpu", "float32"), rows, key=("variant", "points"))


if __name__ == "__main__":
    main()
