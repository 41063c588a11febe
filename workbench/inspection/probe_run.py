"""A run's representation measured with labels, next to the same network at random init and the data kind's
no-learning baselines (raw pixels for images; bags of words for text)."""

import threading
from dataclasses import astuple
from functools import lru_cache
from pathlib import Path

from ..data import DataError, load_dataset, load_run_data, resolve_data_path, run_data_options
from ..engine.checkpoints import load_task
from ..evaluation.metrics import embed, feature_spread
from ..evaluation.probes import FRACTIONS, FineTuning, KnnSettings, knn_report, label_efficiency, linear_probe


_BASELINES_LOCK = threading.Lock()  # one computation of the baselines at a time: a warm-up and a click never both


def baseline_probes(data: str, knn: KnnSettings, image_size: int, grayscale: bool,
                    test_fraction: float) -> dict[str, tuple[dict, float]]:
    """`_baseline_probes`, computed once even when asked for twice at once (a warm-up and a click)."""
    with _BASELINES_LOCK:
        return _baseline_probes(data, knn, image_size, grayscale, test_fraction)


def warm_baselines(config: dict) -> None:
    """Compute a run's data's baselines in a background thread while it trains, so that its first measurement
    does not wait for them (raw pixels' linear probe: 14 s on Shapes on two cores)."""
    def warm():
        try:
            if load_run_data(config).labelled:
                baseline_probes(config["data"], KnnSettings(), **run_data_options(config))
        except Exception:  # noqa: BLE001 — only a head start: the measurement itself says what is wrong
            pass

    threading.Thread(target=warm, daemon=True, name="warm-baselines").start()


@lru_cache(maxsize=8)
def _baseline_probes(data: str, knn: KnnSettings, image_size: int, grayscale: bool,
                     test_fraction: float) -> dict[str, tuple[dict, float]]:
    """For each of the data kind's no-learning baselines (raw pixels; bags of words), its k-NN report and
    linear-probe top-1 on a data set: the same for every run, so computed once per data set (cached as
    `load_dataset` caches the items, by name or folder path and options)."""
    dataset = load_dataset(data, image_size, grayscale, test_fraction)
    scores = {}
    for baseline in dataset.kind.baselines:
        train_f, test_f = baseline.features(dataset)
        scores[baseline.key] = (knn_report(train_f, dataset.train_labels, test_f, dataset.test_labels,
                                           dataset.class_names, *astuple(knn)),
                                linear_probe(train_f, dataset.train_labels, test_f, dataset.test_labels)["accuracy"])
    return scores


_RANDOM_INIT_SCORES: dict[tuple, tuple[float, float]] = {}  # the last few runs' (k-NN, linear) at random init


def _random_init_probes(random_init, dataset, knn: KnnSettings, device, key: tuple) -> tuple[float, float]:
    """The k-NN and linear-probe top-1 of a run's network at its random init: the same at every measurement of
    the run, so computed once per `key` (the run folder, when its config was written, the data, the settings)."""
    if key not in _RANDOM_INIT_SCORES:
        train_f = embed(random_init, dataset.train_items, device)
        test_f = embed(random_init, dataset.test_items, device)
        knn_top1 = knn_report(train_f, dataset.train_labels, test_f, dataset.test_labels, dataset.class_names,
                              *astuple(knn))["accuracy"]
        linear_top1 = linear_probe(train_f, dataset.train_labels, test_f, dataset.test_labels)["accuracy"]
        while len(_RANDOM_INIT_SCORES) >= 16:
            _RANDOM_INIT_SCORES.pop(next(iter(_RANDOM_INIT_SCORES)))
        _RANDOM_INIT_SCORES[key] = knn_top1, linear_top1
    return _RANDOM_INIT_SCORES[key]


def _run_and_labelled_data(run_dir, data: str | None, device):
    """A run's trained task, the same task where its training began, its settings, and the labelled data set
    to measure it on (`data`, or the run's own)."""
    trained, config = load_task(run_dir, device)
    random_init = load_task(run_dir, device, trained=False)[0]
    dataset = load_run_data(config, data)
    if not dataset.labelled:
        raise DataError(f"{dataset.name} has no labels: probes need labels — probe on a folder with one "
                        "sub-folder per class (--data), or on a built-in set")
    return trained, random_init, config, dataset


def label_efficiency_of_run(run_dir, data: str | None = None, device="cpu", fractions=FRACTIONS, draws=3,
                            fine_tuning=FineTuning(), progress=None) -> dict:
    """The label-efficiency table of a run (see `label_efficiency`) without `probe_run`'s whole-data probes,
    which the page has shown already: on the GAN's 5,760-d features those alone take a minute."""
    trained, random_init, _, dataset = _run_and_labelled_data(run_dir, data, device)
    return label_efficiency(trained, random_init, dataset, fractions, draws, fine_tuning, device, progress)


def probe_run(run_dir, data: str | None = None, device="cpu", fractions=(), draws=3,
              fine_tuning=FineTuning(), progress=None, knn: KnnSettings = KnnSettings()) -> dict:
    """A run's representation measured with labels, next to its baselines: k-NN top-1 (with per-class
    accuracy and confusion matrix for the trained encoder), linear-probe top-1, and — given `fractions` — the
    label-efficiency table. "baseline" and "baseline_label" name the data kind's first no-learning baseline;
    every baseline's scores are f"{key}_knn_top1" and f"{key}_linear_top1" ("baselines": their keys). `data`: another data set than the run's
    own (transfer); default the run's. `knn`: the k-NN's k, temperature and metric (the defaults are the online
    k-NN's, so the numbers compare)."""
    trained, random_init, config, dataset = _run_and_labelled_data(run_dir, data, device)
    train_f, test_f = embed(trained, dataset.train_items, device), embed(trained, dataset.test_items, device)
    y_train, y_test = dataset.train_labels, dataset.test_labels
    result = {"run": str(run_dir), "data": resolve_data_path(data) if data else config["data"],
              "trained_on": config["data"], "task": config["task"], "encoder": config["encoder_resolved"],
              "train_items": len(y_train), "test_items": len(y_test), "items": dataset.kind.items,
              "class_names": list(dataset.class_names),
              "k": knn.k, "temperature": knn.temperature, "metric": knn.metric,
              "baseline": dataset.kind.baseline, "baseline_label": dataset.kind.baseline_label,
              "baselines": {baseline.key: baseline.label for baseline in dataset.kind.baselines}}
    result["knn"] = knn_report(train_f, y_train, test_f, y_test, dataset.class_names, *astuple(knn))  # per class too
    result["knn_top1"] = result["knn"]["accuracy"]
    result["linear_top1"] = linear_probe(train_f, y_train, test_f, y_test)["accuracy"]
    this_run = (str(Path(run_dir).resolve()), (Path(run_dir) / "config.json").stat().st_mtime, result["data"], knn,
                str(device))
    result["random_init_knn_top1"], result["random_init_linear_top1"] = _random_init_probes(
        random_init, dataset, knn, device, this_run)
    baselines = baseline_probes(result["data"], knn, **run_data_options(config))
    for key, (baseline_knn, linear) in baselines.items():  # raw_pixels_knn_top1, bag_of_words_linear_top1, …
        result[f"{key}_knn_top1"], result[f"{key}_linear_top1"] = baseline_knn["accuracy"], linear
    result["feature_spread"] = feature_spread(test_f)
    if fractions:
        result["label_efficiency"] = label_efficiency(trained, random_init, dataset, fractions, draws, fine_tuning,
                                                      device, progress)
    return result
