"""DeepCluster: cluster the features of all images, then train the network to predict its own clusters.

What is predicted: for each augmented image, the id of the k-means cluster its image fell into at the last
clustering (a pseudo-label). Training alternates two steps:

    1. cluster   features of all N training images, each averaged over V augmented views of it → PCA to P dims,
                 whiten, L2-normalise → k-means, K clusters
    2. classify  for R epochs, L = − Σ_b w_{y_b} log p(y_b | augment(x_b)) / Σ_b w_{y_b},   w_k = 1 / |cluster k|

The paper clusters the features of the images as they are (V = 0 here). Averaging each image's features over V
views drawn like the classifier's keeps in the clustering what the views of an image share and averages out
what they do not (on Shapes: the place, size and tilt that a random network's features sort by), so each
cluster is one the classifier can tell from any view. Measured on Shapes, 2 CPU cores, 30 epochs: k-NN 0.54 with
the images as they are, 0.71 with V = 8 (a random network: 0.48).

The paper re-clusters every epoch (R = 1); the authors' code makes R a setting (--reassign), and R = 3 here
cuts the clustering, most of this task's time on a CPU, to a third. The classifier is re-initialised after
each clustering, because cluster ids mean nothing from one clustering to the next — here by default to the
mean of each new cluster rather than at random, so that a short run spends its steps on the encoder. Weighting
each image by the inverse size of its cluster makes every cluster count the same.

Paper: Caron, Bojanowski, Joulin, Douze. "Deep Clustering for Unsupervised Learning of Visual Features",
ECCV 2018. https://arxiv.org/abs/1807.05520

What to look for: the cluster accuracy climbs between two clusterings and drops when the classifier is reset;
the agreement between one clustering and the next (NMI) rises as the clustering settles; the k-NN rises when
the clusters follow shape rather than colour — which is why the input is Sobel-filtered, as in the paper.

Letters: N training images, B images in a batch, D encoder features, P PCA dimensions, K clusters, V views,
R epochs between two clusterings.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from sklearn.metrics import normalized_mutual_info_score
from torch import nn

from ..data.pixels import luma
from ..models import evaluating
from . import PreviewRow, PretextTask, Preset, StepOutput, TaskInfo, param, register_task
from .parts.clustering import kmeans, pca_whitening, reduce
from .parts.views import ViewParams, random_view

SOBEL_X = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


def sobel(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) colour → (B, 3, H, W): the horizontal and vertical Sobel gradients of the grey image and
    their length. The paper feeds the two gradients; the encoders here take three channels."""
    grey = luma(images)                                                               # (B, 1, H, W)
    kernels = torch.stack([SOBEL_X, SOBEL_X.T])[:, None].to(images)                   # (2, 1, 3, 3)
    gradients = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kernels)        # (B, 2, H, W)
    # hypot rather than gradients.norm(dim=1): the same numbers, 100x faster on a CPU over this short axis.
    return torch.cat([gradients, torch.hypot(gradients[:, :1], gradients[:, 1:])], dim=1)


def edge_strength(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) → the length of the Sobel gradient as a grey picture in [0, 1], brightest edge white."""
    strength = sobel(images)[:, 2:]                          # (B, 1, H, W)
    return (strength / strength.amax(dim=(2, 3), keepdim=True).clamp_min(1e-6)).expand(-1, 3, -1, -1)


@register_task
class DeepCluster(PretextTask):
    info = TaskInfo(
        name="deepcluster",
        family="clustering",
        title="DeepCluster — predict your own k-means clusters",
        summary="Cluster the features of all images with k-means every few epochs, then train the network to "
                "predict each augmented image's cluster.",
        paper="Caron et al., Deep Clustering for Unsupervised Learning of Visual Features, ECCV 2018",
        paper_url="https://arxiv.org/abs/1807.05520",
        look_for="Cluster accuracy climbs between clusterings and resets with the classifier; NMI between "
                 "successive clusterings rises as the clusters settle; k-NN rises once clusters follow shape.",
    )
    # 36 epochs fit the 200 s a preset may take on two cores; K = 300 re-clustered every 3 epochs (the Params
    # defaults) learned as well as re-clustering every epoch, for a third of the clustering's time. What it
    # reaches: benchmarks/results/tasks-shapes-cpu2-bfloat16.csv.
    preset = Preset(epochs=36, batch_size=64, learning_rate=2e-3)
    # The paper trains AlexNet with SGD, lr 0.05, momentum 0.9, wd 1e-5, batch 256, and re-clusters every epoch.
    gpu_preset = Preset(epochs=200, batch_size=256, learning_rate=0.05, weight_decay=1e-5, optimizer="sgd")

    @dataclass
    class Params(ViewParams):
        clusters: int = param(300, "K, the number of k-means clusters. More clusters than classes works better "
                              "(the paper: 10,000 for ImageNet's 1,000 classes); here 30× the 10 shapes.",
                              2, 1000, 1)
        pca_dims: int = param(32, "P, the dimensions the features are PCA-reduced and whitened to before "
                              "k-means (the paper: 256 from 4,096). Fewer drops noise and speeds k-means.",
                              2, 128, 2)
        sobel: bool = param(True, "Feed the network grey level and Sobel gradients instead of colour, as the "
                            "paper does: k-means on colour features finds colour clusters.",
                            lab="Off: the first clusters are colours, and the network learns to predict "
                                "colours — the k-NN stays near its random-init value.")
        hidden_dim: int = param(512, "Width of the hidden layer between the encoder and the cluster classifier "
                                "(the paper's AlexNet keeps its two 4,096-wide fully connected layers there); "
                                "0 puts the classifier straight on the features.", 0, 4096, 64)
        head_init: str = param("class_means", "How the classifier restarts after each clustering: 'random' as in "
                               "the paper, or 'class_means' — each cluster's weight is the mean hidden vector of its "
                               "images, so the first steps train the encoder instead of a blind classifier (on "
                               "a short CPU run the random restart spends most of an epoch relearning it).",
                               choices=("class_means", "random"))
        reassign_every: int = param(3, "R, the epochs of training between two clusterings (the authors' code: "
                                    "--reassign; the paper: 1). Between two, the classifier goes on learning "
                                    "the same clusters; each clustering costs V passes over the data.", 1, 10, 1)
        cluster_views: int = param(8, "V, the augmented views of each image whose features are averaged before "
                                   "k-means (ours): the clusters keep what an image's views share. 0 clusters "
                                   "the images as they are, as the paper does — on Shapes, clusters of place "
                                   "and size that no view can predict. Each view costs a pass over the data.",
                                   0, 32, 1)
        head_temperature: float = param(0.1, "τ of the class-mean restart: logits are cosine / τ. Lower starts "
                                        "more confident.", 0.01, 1.0, 0.01)

    def __init__(self, encoder, params=None):
        super().__init__(encoder, params)
        h = self.params.hidden_dim
        self.hidden = (nn.Sequential(nn.Linear(encoder.feature_dim, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True))
                       if h else nn.Identity())
        self.classifier = nn.Linear(h or encoder.feature_dim, self.params.clusters)
        # The clustering of the last epoch. Empty until the first one: N is known only then (see below).
        self.register_buffer("pseudo_labels", torch.zeros(0, dtype=torch.long))  # (N,) a cluster per image
        self.register_buffer("pca_mean", torch.zeros(0))                          # (D,)
        self.register_buffer("pca_projection", torch.zeros(0))                    # (D, P)
        self.register_buffer("centroids", torch.zeros(0))                         # (K, P)
        self.register_buffer("cluster_weights", torch.ones(self.params.clusters))  # (K,) 1 / |cluster|
        self.stability = None  # NMI between this clustering and the last one (the paper's Fig. 2b)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The clustering buffers take the shape of the checkpoint's: a new task holds them empty.
        for name in ("pseudo_labels", "pca_mean", "pca_projection", "centroids"):
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name], device=self.centroids.device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def features(self, images):
        return self.encoder(sobel(images) if self.params.sobel else images)

    @torch.no_grad()
    def on_epoch_start(self, progress, embed_dataset):
        p = self.params
        if len(self.pseudo_labels) and (progress.epoch - 1) % p.reassign_every:
            return  # the last clustering and its classifier go on for another epoch
        gen = torch.Generator(device=self.centroids.device).manual_seed(progress.epoch)
        if p.cluster_views:
            features = sum(embed_dataset(lambda batch: random_view(batch, gen, p))
                           for _ in range(p.cluster_views)) / p.cluster_views
        else:
            features = embed_dataset()
        features = features.to(self.centroids.device)                             # (N, D)
        self.pca_mean, self.pca_projection = pca_whitening(features, p.pca_dims)
        points = reduce(features, self.pca_mean, self.pca_projection)             # (N, P)
        labels, self.centroids = kmeans(points, min(p.clusters, len(points)), gen)
        if len(self.pseudo_labels) == len(labels):
            self.stability = normalized_mutual_info_score(self.pseudo_labels.cpu(), labels.cpu())
        self.pseudo_labels = labels
        sizes = torch.bincount(labels, minlength=p.clusters).float()
        self.cluster_weights = torch.where(sizes > 0, 1 / sizes.clamp_min(1), torch.zeros_like(sizes))
        # "We reassign the clusters... the top layer is re-initialized": the new cluster ids are permuted. At
        # random as nn.Linear starts (uniform within ±1/√fan-in), from the epoch's generator, as k-means starts:
        # the same in every process, and never from torch's global generator, which other threads share.
        bound = self.classifier.in_features ** -0.5
        self.classifier.weight.uniform_(-bound, bound, generator=gen)
        self.classifier.bias.uniform_(-bound, bound, generator=gen)
        if p.head_init == "class_means":
            with evaluating(self.hidden):
                hidden = self.hidden(features)                                         # (N, H)
            means = torch.zeros(p.clusters, hidden.shape[1], device=hidden.device).index_add_(0, labels, hidden)
            weight = F.normalize(means, dim=1) / (hidden.norm(dim=1).mean() * p.head_temperature)
            self.classifier.weight.copy_(weight)
            self.classifier.bias.zero_()

    @torch.no_grad()
    def pseudo_labels_for(self, images, indices=None):
        """Targets (B,): the stored cluster of each image when the data-set indices are known; the nearest
        centroid of the last clustering when they are not (the preview). Before the first clustering every
        image is its own class (image b → b mod K): Dosovitskiy et al.'s exemplar task, DeepCluster with one
        image per cluster, which keeps a step well defined in a preview or a test."""
        if len(self.pseudo_labels) == 0:
            return torch.arange(len(images), device=images.device) % self.params.clusters
        if indices is not None:
            return self.pseudo_labels[indices.to(self.pseudo_labels.device)].to(images.device)
        with evaluating(self):  # batch statistics of a preview must not move the BN running averages
            points = reduce(self.features(images), self.pca_mean, self.pca_projection)  # (B, P)
        return torch.cdist(points, self.centroids).argmin(dim=1)

    def make_inputs(self, images, gen, indices=None):
        # The paper's augmentation is a random crop and flip; colour jitter and grey views are ours (the Sobel
        # input already ignores hue).
        return (random_view(images, gen, self.params),
                self.pseudo_labels_for(images, indices))

    def loss(self, inputs, progress):
        views, labels = inputs
        logits = self.classifier(self.hidden(self.features(views)))                              # (B, K)
        loss = F.cross_entropy(logits, labels, weight=self.cluster_weights)
        metrics = {"cluster_accuracy": (logits.argmax(1) == labels).float().mean()}
        if self.stability is not None:
            metrics["nmi_with_last_clustering"] = self.stability
        return StepOutput(loss, metrics)

    def preview(self, images, gen, predict=False):
        views, labels = self.make_inputs(images, gen)
        if len(self.pseudo_labels) > 0:
            sizes = (1 / self.cluster_weights[labels]).round().int().tolist()
            captions = [f"cluster {c} ({n} images)" for c, n in zip(labels.tolist(), sizes)]
        else:
            captions = [f"own class {c} (not clustered yet)" for c in labels.tolist()]
        if predict:
            with torch.no_grad():
                probabilities = self.classifier(self.hidden(self.features(views))).softmax(1)  # (B, K)
            confidence, guess = probabilities.max(1)
            captions = [f"{caption} → {g} {c:.0%}" for caption, g, c in
                        zip(captions, guess.tolist(), confidence.tolist())]
        rows = [PreviewRow([image, view], ["original", caption])
                for image, view, caption in zip(images, views, captions)]
        if self.params.sobel:  # what the network is shown instead of colour
            for row, edges in zip(rows, edge_strength(views)):
                row.images.append(edges)
                row.captions.append("what the network sees: edges")
        return rows
