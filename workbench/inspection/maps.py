"""A UMAP map of a run's held-out images, in the representation asked for, with each point's nearest neighbours."""

from dataclasses import dataclass

import torch

from ..data import load_run_data
from ..engine.checkpoints import load_task
from ..evaluation.metrics import embed, knn_predict, nearest_neighbours, stratified_sample
from ..evaluation.umap import umap_layout, wait_for_warm_up

MAP_NEIGHBOURS = 8


@dataclass(frozen=True)
class MapSettings:
    """What a UMAP map shows and how it is laid out."""
    representation: str = "trained"   # "trained", "random_init" (the same network untrained), a no-learning
                                      # baseline of the data's kind ("raw_pixels", "bag_of_words", …), or
                                      # "baseline": the kind's first
    dimensions: int = 2               # 2 or 3
    n_neighbors: int = 15             # UMAP: larger keeps more of the global layout
    min_dist: float = 0.1             # UMAP: smaller packs clusters tighter
    metric: str = "cosine"            # "cosine" or "euclidean"
    sample: int = 1000                # held-out images shown at most (drawn per class)
    colour: str = "label"             # "label", "knn" (right / wrong) or "cluster" (k-means on the features)


def map_run(run_dir, device="cpu", data: str | None = None, settings: MapSettings = MapSettings()) -> dict:
    """A UMAP map of held-out items of the run's data set (or of `data`), in the representation that
    `settings` names: {"coords" (n, 2|3), "labels", "groups" (the colour of each point), "group_names",
    "indices" (rows of the test split), "items" (those items), "neighbours" and "similarities" (n,
    MAP_NEIGHBOURS: each point's nearest among the points shown, cosine in the feature space), "class_names",
    "shown", "total", "kind" (the data kind's name: how the map draws its items)}."""
    if settings.dimensions not in (2, 3) or settings.n_neighbors < 2 or not 0 <= settings.min_dist <= 1:
        raise ValueError("a map has 2 or 3 dimensions, at least 2 neighbours and a min_dist in [0, 1]")
    task, config = load_task(run_dir, device, trained=settings.representation == "trained")
    dataset = load_run_data(config, data)
    baselines = {baseline.key: baseline for baseline in dataset.kind.baselines}
    baselines["baseline"] = dataset.kind.baselines[0]
    if settings.representation not in ("trained", "random_init", *baselines):
        raise ValueError(f"unknown representation {settings.representation!r}")
    indices = stratified_sample(dataset.test_labels, max(settings.sample, 10), torch.Generator().manual_seed(0))
    if settings.representation in baselines:  # fitted on the training items (a bag of words' vocabulary)
        train_features, test_features = baselines[settings.representation].features(dataset)
        features, training_features = test_features[indices], lambda: train_features
    else:
        features = embed(task, dataset.test_items[indices], device)
        training_features = lambda: embed(task, dataset.train_items, device)  # noqa: E731
    labels = dataset.test_labels[indices]
    groups, group_names = _colour_groups(settings.colour, features, labels, training_features, dataset)
    wait_for_warm_up()
    coords = umap_layout(features.numpy(), settings.n_neighbors, min_dist=settings.min_dist,
                         metric=settings.metric, n_components=settings.dimensions)
    similarities, neighbours = nearest_neighbours(features, features, MAP_NEIGHBOURS, exclude_self=True)
    return {"coords": coords, "labels": labels.numpy(), "groups": groups.numpy(), "group_names": group_names,
            "indices": indices.numpy(), "items": dataset.test_items[indices], "neighbours": neighbours.numpy(),
            "similarities": similarities.numpy(), "class_names": list(dataset.class_names), "shown": len(indices),
            "total": len(dataset.test_labels), "task": config["task"], "data": dataset.name,
            "representation": settings.representation, "kind": dataset.kind.name,
            "what": _what(settings.representation, config["task"], baselines)}


def _what(representation: str, task: str, baselines: dict) -> str:
    """The representation in words, for the map's title: "mlm features", "bag of words (unigram TF-IDF)"."""
    if representation in baselines:
        return baselines[representation].label
    return f"{task} features" if representation == "trained" else "random-init features"


def _colour_groups(colour: str, features, labels, training_features, dataset) -> tuple[torch.Tensor, list[str]]:
    """Each shown point's colour group and the groups' names: its class, whether the k-NN probe reads its class
    right, or its k-means cluster."""
    if colour == "knn":  # right or wrong under the k-NN probe, measured in the full feature space
        predicted = knn_predict(training_features(), dataset.train_labels, features)
        return (predicted != labels).long(), ["k-NN right", "k-NN wrong"]
    if colour == "cluster":
        from sklearn.cluster import KMeans

        k = len(dataset.class_names)
        groups = torch.as_tensor(KMeans(k, n_init=3, random_state=0).fit_predict(features.numpy())).long()
        return groups, [f"cluster {c + 1}" for c in range(k)]
    return labels, list(dataset.class_names)
