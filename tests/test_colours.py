"""The map's class colours stay apart for colour-blind viewers: the ten first colours, seen as a red-, green- or
blue-blind viewer sees them (Machado, Oliveira and Fernandes 2009, full severity), differ pairwise by at least 15
CIELAB units — a difference anyone sees at a glance; matplotlib's ten come to 4.6 for the red-blind."""

import numpy as np

from workbench.inspection.plots import PALETTE, SYMBOLS, umap_figure

SEEN_AS = {"red-blind": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                         [-0.003882, -0.048116, 1.051998]],
           "green-blind": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                           [-0.011820, 0.042940, 0.968881]],
           "blue-blind": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                          [0.004733, 0.691367, 0.303900]],
           "trichromat": np.eye(3)}


def cielab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = linear_rgb @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def smallest_difference(colours: list[str], seen_as) -> float:
    srgb = np.array([[int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)] for c in colours])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    lab = cielab(np.clip(linear @ np.asarray(seen_as).T, 0, 1))
    distances = np.linalg.norm(lab[:, None] - lab[None], axis=-1) + np.eye(len(colours)) * 1e9
    return float(distances.min())


def test_ten_classes_stay_apart_for_every_kind_of_colour_vision():
    for vision, seen_as in SEEN_AS.items():
        assert smallest_difference(PALETTE[:10], seen_as) >= 15, vision
    matplotlib_ten = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                      "#bcbd22", "#17becf"]
    assert smallest_difference(matplotlib_ten, SEEN_AS["red-blind"]) < 15  # the measure tells the two apart


def test_each_class_of_a_2d_map_has_its_own_colour_and_marker_up_to_sixty_classes():
    classes = 60
    result = {"coords": np.random.default_rng(0).normal(size=(classes, 2)), "groups": np.arange(classes),
              "labels": np.arange(classes), "group_names": [f"class {c}" for c in range(classes)],
              "class_names": [f"class {c}" for c in range(classes)], "indices": np.arange(classes),
              "shown": classes, "total": classes}
    figure = umap_figure(result, "sixty classes")
    looks = {(trace.marker.color, trace.marker.symbol) for trace in figure.data}
    assert len(looks) == classes and {trace.marker.symbol for trace in figure.data} <= set(SYMBOLS)
