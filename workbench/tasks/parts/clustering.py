"""DeepCluster's clustering toolkit: features PCA-reduced, whitened and L2-normalised, then k-means on the
training device with the run's generator.

Letters: N points, D feature dimensions, P PCA dimensions, K clusters.
"""

import torch
import torch.nn.functional as F


def pca_whitening(features: torch.Tensor, dims: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean (D,) and the projection (D, P) onto the top P principal directions, each scaled to unit
    variance. "The features are PCA-reduced to 256 dimensions, whitened and l2-normalized" (Sec. 3.3)."""
    centred = features.double() - features.double().mean(dim=0)
    covariance = centred.T @ centred / max(1, len(features) - 1)       # (D, D)
    variances, directions = torch.linalg.eigh(covariance)              # ascending
    variances, directions = variances.flip(0)[:dims], directions.flip(1)[:, :dims]
    # A relative floor: a direction with (almost) no variance is not blown up to unit variance from rounding.
    scale = variances.clamp_min(1e-6 * variances[0].clamp_min(1e-12)).rsqrt()
    return features.mean(dim=0), (directions * scale).to(features.dtype)


def reduce(features: torch.Tensor, mean: torch.Tensor, projection: torch.Tensor) -> torch.Tensor:
    """(N, D) features → (N, P) PCA-reduced, whitened, L2-normalised points that k-means clusters."""
    return F.normalize((features - mean) @ projection, dim=1)


def kmeans(points: torch.Tensor, k: int, gen: torch.Generator, iterations: int = 30):
    """Lloyd's k-means with K distinct random points as the first centroids → labels (N,), centroids (K, P).

    Written in torch rather than taken from scikit-learn: 5,000 × 32 points cost milliseconds either way, but
    this runs on the training device (a GPU for the CIFAR preset) and draws from the run's generator, so a seed
    repeats the clustering exactly. No cluster is ever left empty: an empty one takes the point of the largest
    cluster that lies farthest from its centroid (the paper splits a big cluster instead; both keep K clusters).
    """
    centroids = points[torch.randperm(len(points), generator=gen, device=points.device)[:k]]
    labels = None
    for _ in range(iterations):
        distances = torch.cdist(points, centroids)                    # (N, K)
        new_labels = distances.argmin(dim=1)
        sizes = torch.bincount(new_labels, minlength=k)
        for empty in (sizes == 0).nonzero().flatten().tolist():
            largest = sizes.argmax()
            members = (new_labels == largest).nonzero().flatten()
            farthest = members[distances[members, largest].argmax()]
            new_labels[farthest] = empty
            sizes[largest] -= 1
            sizes[empty] = 1
        centroids = torch.zeros_like(centroids).index_add_(0, new_labels, points) / sizes[:, None]
        if labels is not None and torch.equal(new_labels, labels):
            break
        labels = new_labels
    return labels, centroids
