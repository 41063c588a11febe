"""How the embedding changed during training: the same held-out images mapped at random initialisation and at
every epoch kept in the run's history/, so that a slider can play the classes separating.

Maps of different epochs are comparable because each is laid out starting from the previous one (UMAP's
`init`): a point moves only as far as its neighbourhood changed, instead of the whole map turning or flipping
from one epoch to the next, as independent UMAP runs do.
"""

import torch

from ..data import load_run_data
from ..engine.checkpoints import RunFolder
from ..evaluation.metrics import embed, knn_accuracy, stratified_sample
from ..evaluation.umap import umap_layout

BANK = 5000  # training images the k-NN of each epoch compares with


def evolution(run_dir, sample: int = 1000, n_neighbors: int = 15, min_dist: float = 0.1, device="cpu") -> dict:
    """{"frames": [label per map], "coords": [(n, 2) per map], "knn_top1": [per map], "labels", "class_names",
    "shown", "total"}: the network at random initialisation, at the end of each epoch in history/, and at the
    last checkpoint when that came later (a run stopped in the middle of an epoch)."""
    folder = RunFolder(run_dir)
    config = folder.read_config()
    epochs = folder.history()
    frames = [("random init", dict(trained=False))] + [(f"epoch {e}", dict(epoch=e)) for e in epochs]
    last_step = folder.load_training_state().step
    if not epochs or folder.history_step(epochs[-1]) != last_step:
        frames.append((f"step {last_step:,} (last checkpoint)", {}))
    dataset = load_run_data(config)
    indices = stratified_sample(dataset.test_labels, sample, torch.Generator().manual_seed(0))
    images, labels = dataset.test_items[indices], dataset.test_labels[indices]
    bank = stratified_sample(dataset.train_labels, BANK, torch.Generator().manual_seed(1))
    coords, accuracies, layout = [], [], None
    for _, weights in frames:
        task, _ = folder.load_task(device, **weights)
        features = embed(task, images, device)
        accuracies.append(knn_accuracy(embed(task, dataset.train_items[bank], device), dataset.train_labels[bank],
                                       features, labels))
        layout = umap_layout(features.numpy(), n_neighbors, min_dist=min_dist, init=layout)
        coords.append(layout)
    return {"frames": [label for label, _ in frames], "coords": coords, "knn_top1": accuracies,
            "labels": labels.numpy(), "class_names": list(dataset.class_names), "shown": len(indices),
            "total": len(dataset.test_labels), "task": config["task"], "data": dataset.name}
