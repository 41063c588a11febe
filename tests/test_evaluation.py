import numpy as np
import torch
import torch.nn.functional as F

from workbench.evaluation import metrics, umap
from workbench.evaluation.metrics import feature_spread, knn_accuracy
from workbench.evaluation.umap import exact_neighbours, umap_layout


def clusters(n_per_class=30, classes=3, dim=8, spread=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = F.normalize(torch.randn(classes, dim, generator=g), dim=1)
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    features = F.normalize(centres[labels] + spread * torch.randn(len(labels), dim, generator=g), dim=1)
    return features, labels


def test_knn_finds_separated_clusters_and_not_noise():
    train_x, train_y = clusters(seed=0)
    test_x, test_y = clusters(seed=0, n_per_class=10)
    assert knn_accuracy(train_x, train_y, test_x, test_y) == 1.0
    shuffled = train_y[torch.randperm(len(train_y), generator=torch.Generator().manual_seed(1))]
    assert knn_accuracy(train_x, shuffled, test_x, test_y) < 0.7


def test_knn_clamps_k_to_a_tiny_bank_and_chunks_queries():
    train_x, train_y = clusters(n_per_class=2)
    test_x, test_y = clusters(n_per_class=50, seed=0)
    assert knn_accuracy(train_x, train_y, test_x, test_y, k=200, chunk=7) == 1.0


def test_feature_spread_tells_collapse_from_health():
    healthy = F.normalize(torch.randn(500, 64), dim=1)
    collapsed = F.normalize(torch.ones(500, 64) + 1e-3 * torch.randn(500, 64), dim=1)
    assert 0.8 < feature_spread(healthy) < 1.2
    assert feature_spread(collapsed) < 0.05


def test_umap_keeps_clusters_apart():
    features, labels = clusters(n_per_class=40, classes=2, spread=0.02)
    coords = umap_layout(features.numpy(), n_neighbors=10)
    assert coords.shape == (80, 2)
    a, b = coords[labels.numpy() == 0], coords[labels.numpy() == 1]
    gap = np.linalg.norm(a.mean(0) - b.mean(0))
    assert gap > 3 * max(a.std(0).max(), b.std(0).max())


def test_umap_is_reproducible_for_a_seed_in_3d_and_euclidean():
    features, _ = clusters(n_per_class=30, classes=3, spread=0.02)
    first = umap_layout(features.numpy(), n_neighbors=10, metric="euclidean", n_components=3)
    assert first.shape == (90, 3)
    assert np.array_equal(first, umap_layout(features.numpy(), n_neighbors=10, metric="euclidean", n_components=3))


def test_umap_through_pca_still_keeps_clusters_apart(monkeypatch):
    monkeypatch.setattr(umap, "UMAP_PCA_ABOVE", 50)  # the path of large maps, on a small one
    features, labels = clusters(n_per_class=40, classes=2, dim=64, spread=0.02)
    monkeypatch.setattr(umap, "UMAP_PCA_DIMS", 8)
    coords = umap_layout(features.numpy(), n_neighbors=10)
    a, b = coords[labels.numpy() == 0], coords[labels.numpy() == 1]
    assert np.linalg.norm(a.mean(0) - b.mean(0)) > 3 * max(a.std(0).max(), b.std(0).max())


def test_exact_neighbours_are_the_nearest_with_self_first():
    x = torch.randn(300, 16, generator=torch.Generator().manual_seed(0))
    for metric, distance in (("euclidean", torch.cdist(x, x)),
                             ("cosine", 1 - F.normalize(x, dim=1) @ F.normalize(x, dim=1).T)):
        indices, distances = exact_neighbours(x, 6, metric, chunk=64)
        assert (indices[:, 0] == np.arange(300)).all() and (distances[:, 0] == 0).all()
        expected = distance.topk(6, dim=1, largest=False).values
        assert np.allclose(distances[:, 1:], expected[:, 1:].numpy(), atol=1e-4)


def test_embed_passes_each_batch_through_a_transform_first():
    from workbench.models import create_encoder

    encoder = create_encoder("small_cnn").eval()
    images = torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8)
    mirrored = metrics.embed(encoder, images, batch_size=4, transform=lambda batch: batch.flip(-1))
    assert torch.allclose(mirrored, metrics.embed(encoder, images.flip(-1)), atol=1e-5)
    assert not torch.allclose(mirrored, metrics.embed(encoder, images), atol=1e-3)


def test_top_k_in_chunks_is_the_top_k_of_one_product_with_or_without_each_row_itself():
    x = F.normalize(torch.randn(300, 16, generator=torch.Generator().manual_seed(0)), dim=1)
    whole = (x @ x.T).topk(5, dim=1)
    values, indices = metrics.top_k_in_chunks(x, lambda rows: rows @ x.T, 5, chunk=64)
    assert torch.equal(indices, whole.indices) and torch.allclose(values, whole.values)
    _, own_first = metrics.top_k_in_chunks(x, lambda rows: rows @ x.T, 5, own_score=float("inf"), chunk=64)
    assert torch.equal(own_first[:, 0], torch.arange(300))
    _, others = metrics.top_k_in_chunks(x, lambda rows: torch.cdist(rows, x), 5, largest=False,
                                        own_score=float("inf"), chunk=64)
    assert (others != torch.arange(300)[:, None]).all()
