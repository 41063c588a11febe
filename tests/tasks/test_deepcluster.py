import math

import torch
from safetensors.torch import load_file
from sklearn.metrics import adjusted_rand_score

from workbench.engine.checkpoints import save_weights
from workbench.data.shapes import generate_shapes
from workbench.evaluation.metrics import embed
from workbench.tasks import Progress, build_task
from workbench.tasks.parts.clustering import kmeans, pca_whitening, reduce


def blobs(n_per_blob=60, blobs_=5, dims=192, seed=0):
    """Well-separated synthetic features: tight clouds around random far-apart centres, and their truth."""
    gen = torch.Generator().manual_seed(seed)
    centres = 10 * torch.randn(blobs_, dims, generator=gen)
    truth = torch.arange(blobs_).repeat_interleave(n_per_blob)
    return centres[truth] + torch.randn(len(truth), dims, generator=gen), truth


def deepcluster(**params):
    return build_task("deepcluster", "small_cnn", 0, **params)


def given(features):
    """An `embed_dataset` that gives these features whatever views it is asked for."""
    return lambda transform=None: features


def test_kmeans_finds_well_separated_blobs_whatever_the_order_of_points_and_seeds():
    features, truth = blobs()
    mean, projection = pca_whitening(features, 8)
    points = reduce(features, mean, projection)
    labels, centroids = kmeans(points, 5, torch.Generator().manual_seed(0))
    assert adjusted_rand_score(truth, labels) == 1.0
    assert centroids.shape == (5, 8)
    # the same points shuffled, with another seed (so other first centroids and other cluster ids): the same
    # partition up to a renaming of the clusters
    order = torch.randperm(len(points), generator=torch.Generator().manual_seed(1))
    shuffled, _ = kmeans(points[order], 5, torch.Generator().manual_seed(7))
    assert adjusted_rand_score(labels[order], shuffled) == 1.0
    # and the feature dimensions permuted: PCA, whitening and k-means do not care about their order
    dims = torch.randperm(features.shape[1], generator=torch.Generator().manual_seed(2))
    mean, projection = pca_whitening(features[:, dims], 8)
    permuted, _ = kmeans(reduce(features[:, dims], mean, projection), 5, torch.Generator().manual_seed(3))
    assert adjusted_rand_score(labels, permuted) == 1.0


def test_pca_whitening_gives_uncorrelated_unit_variance_dimensions():
    features, _ = blobs(dims=16)
    mean, projection = pca_whitening(features, 4)
    reduced = (features - mean) @ projection  # before the L2 normalisation
    covariance = torch.cov(reduced.T)
    assert torch.allclose(covariance, torch.eye(4), atol=1e-3)


def test_no_cluster_is_left_empty_even_with_duplicated_points():
    points = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]]).repeat(10, 1)  # 30 points, 3 distinct
    labels, _ = kmeans(points, 12, torch.Generator().manual_seed(0))
    assert torch.bincount(labels, minlength=12).min() >= 1


def test_epoch_start_clusters_the_data_set_weights_clusters_and_resets_the_classifier():
    task = deepcluster(clusters=5, pca_dims=8, head_init="random", reassign_every=1)  # the paper's
    features, truth = blobs()
    torch.nn.init.zeros_(task.classifier.weight)
    task.on_epoch_start(Progress(epoch=1), given(features))
    assert adjusted_rand_score(truth, task.pseudo_labels) == 1.0
    assert task.classifier.weight.abs().sum() > 0  # a fresh head: cluster ids are new
    sizes = torch.bincount(task.pseudo_labels, minlength=5).float()
    assert torch.allclose(task.cluster_weights * sizes, torch.ones(5))  # every cluster weighs the same
    assert task.stability is None
    head = task.classifier.weight.clone()
    task.on_epoch_start(Progress(epoch=2), given(features))
    assert not torch.equal(task.classifier.weight, head)
    assert math.isclose(task.stability, 1.0)  # the same partition again: NMI 1 whatever the ids


def test_it_reclusters_every_R_epochs_and_keeps_clusters_and_classifier_in_between(tmp_path):
    task = deepcluster(clusters=5, pca_dims=8, reassign_every=2)
    features, _ = blobs()
    other = features[torch.randperm(len(features), generator=torch.Generator().manual_seed(0))]  # shuffled
    task.on_epoch_start(Progress(epoch=1), given(features))
    labels = task.pseudo_labels.clone()
    torch.nn.init.ones_(task.classifier.weight)  # as if the epoch had trained it
    task.on_epoch_start(Progress(epoch=2), given(other))
    assert torch.equal(task.pseudo_labels, labels)
    assert torch.equal(task.classifier.weight, torch.ones_like(task.classifier.weight))
    # resumed before epoch 2 from a checkpoint: the same clusters and classifier go on
    save_weights(task, tmp_path / "model.safetensors", {})
    resumed = deepcluster(clusters=5, pca_dims=8, reassign_every=2)
    resumed.load_state_dict(load_file(str(tmp_path / "model.safetensors")))
    resumed.on_epoch_start(Progress(epoch=2), given(other))
    assert torch.equal(resumed.pseudo_labels, labels)
    task.on_epoch_start(Progress(epoch=3), given(other))
    assert adjusted_rand_score(task.pseudo_labels, labels) < 1  # clustered anew, the classifier restarted
    assert not torch.equal(task.classifier.weight, torch.ones_like(task.classifier.weight))


def test_the_head_starts_after_each_clustering_as_the_nearest_class_mean_of_the_new_clusters():
    task = deepcluster(clusters=5, pca_dims=8).eval()
    features, _ = blobs()
    task.on_epoch_start(Progress(epoch=1), given(features))
    with torch.no_grad():
        logits = task.classifier(task.hidden(features))  # (N, K) on the clean features
    assert torch.equal(logits.argmax(1), task.pseudo_labels)  # it knows the new clusters from the first step
    assert logits.abs().max() < 3 / task.params.head_temperature  # cosine / τ in scale, not overconfident


def test_make_inputs_looks_up_the_pseudo_labels_of_the_batch_indices():
    task = deepcluster(clusters=5, pca_dims=8)
    features, _ = blobs()
    task.on_epoch_start(Progress(epoch=1), given(features))
    images = generate_shapes(6)[0].float() / 255
    indices = torch.tensor([0, 299, 61, 150, 3, 200])
    views, labels = task.make_inputs(images, torch.Generator().manual_seed(0), indices)
    assert torch.equal(labels, task.pseudo_labels[indices])
    assert views.shape == images.shape and not torch.equal(views, images)  # augmented


def test_before_any_clustering_every_image_is_its_own_class():
    task = deepcluster(clusters=4)
    images = generate_shapes(6)[0].float() / 255
    _, labels = task.make_inputs(images, torch.Generator().manual_seed(0), torch.arange(6))
    assert labels.tolist() == [0, 1, 2, 3, 0, 1]
    out = task.training_step(images, torch.Generator().manual_seed(0), Progress(), torch.arange(6))
    assert math.isfinite(out.loss.item())


def test_clustering_round_trips_through_a_checkpoint(tmp_path):
    task = deepcluster(clusters=5, pca_dims=8)
    features, _ = blobs()
    task.on_epoch_start(Progress(epoch=1), given(features))
    save_weights(task, tmp_path / "model.safetensors", {})
    fresh = deepcluster(clusters=5, pca_dims=8)  # N unknown: its buffers are empty
    fresh.load_state_dict(load_file(str(tmp_path / "model.safetensors")))
    for name in ("pseudo_labels", "pca_mean", "pca_projection", "centroids", "cluster_weights"):
        assert torch.equal(getattr(fresh, name), getattr(task, name)), name


def test_without_indices_an_image_gets_the_cluster_of_its_nearest_centroid():
    # clustered as they are (no views): then the preview's features are exactly those k-means saw
    task = deepcluster(clusters=10, pca_dims=16, cluster_views=0).eval()
    images = generate_shapes(300, seed=4)[0]
    task.on_epoch_start(Progress(epoch=1), lambda transform=None: embed(task, images, normalize=False, transform=transform))
    labels = task.pseudo_labels_for(images.float() / 255)  # the preview's path: no indices
    agreement = (labels == task.pseudo_labels).float().mean().item()
    assert agreement > 0.97  # k-means stopped at (or very near) a fixed point: points sit at their centroid


def test_k_means_clusters_features_averaged_over_the_views_the_classifier_will_see():
    images = generate_shapes(40)[0]
    asked = []

    def embed_dataset(transform=None):
        def recorded(batch):
            views = transform(batch)
            asked.append(views.shape == batch.shape and not torch.equal(views, batch))
            return views
        return embed(task, images, normalize=False, transform=recorded if transform else None)

    task = deepcluster(clusters=4, pca_dims=8, cluster_views=3)
    task.on_epoch_start(Progress(epoch=1), embed_dataset)
    assert asked == [True] * 3  # three augmented views of the one batch of 40
    again = deepcluster(clusters=4, pca_dims=8, cluster_views=3)
    again.on_epoch_start(Progress(epoch=1), embed_dataset)
    assert torch.equal(again.pseudo_labels, task.pseudo_labels)  # the views are drawn from the epoch's seed
    asked.clear()
    paper = deepcluster(clusters=4, pca_dims=8, cluster_views=0)
    paper.on_epoch_start(Progress(epoch=1), embed_dataset)
    assert asked == []  # the paper's clustering: the images as they are
