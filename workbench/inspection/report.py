"""Results as text, the same for the page and the command line (Markdown: a table reads well in both)."""

from ..data.kinds import BASELINE_LABELS

REPRESENTATIONS = {"trained": "trained encoder", "random_init": "same encoder, random init", **BASELINE_LABELS}
METHODS = {"linear": "linear probe", "fine_tune": "fine-tuning"}


def probe_markdown(result: dict) -> str:
    """k-NN and linear-probe top-1 of a run against its baselines, then per-class k-NN accuracy."""
    classes, baselines = len(result["class_names"]), result["baselines"]
    transfer = (f" — a transfer: the encoder was trained on **{result['trained_on']}**"
                if result["data"] != result["trained_on"] else "")
    lines = [f"Top-1 on {result['test_items']:,} held-out {result['items']} of **{result['data']}**, "
             f"{classes} classes "
             f"(chance {1 / classes:.2f}){transfer}. k-NN: {_knn_words(result)}; linear probe: logistic "
             "regression on frozen features.", "",
             "| representation | k-NN top-1 | linear probe top-1 |", "|---|---|---|",
             f"| trained encoder ({result['task']}) | **{result['knn_top1']:.3f}** | "
             f"**{result['linear_top1']:.3f}** |",
             f"| same encoder, random init | {result['random_init_knn_top1']:.3f} | "
             f"{result['random_init_linear_top1']:.3f} |",
             *(f"| {label} (no learning) | {result[f'{key}_knn_top1']:.3f} | {result[f'{key}_linear_top1']:.3f} |"
               for key, label in baselines.items()),
             "", "k-NN accuracy per class (trained encoder): "
             + ", ".join(f"{name} {acc:.2f}" for name, acc in result["knn"]["per_class"].items())]
    if "label_efficiency" in result:
        lines += ["", label_efficiency_markdown(result["label_efficiency"])]
    return "\n".join(lines)


def _knn_words(result: dict) -> str:
    if result.get("metric", "cosine") == "euclidean":
        return f"k = {result['k']}, euclidean distance, one vote each"
    return f"k = {result['k']}, cosine, weights exp(s / {result['temperature']})"


def label_efficiency_rows(table: dict) -> list[dict]:
    """The nested label-efficiency result as flat rows: fraction, labels, method, representation, scores."""
    return [{"fraction": float(fraction), "method": method, "representation": name, **scores}
            for fraction, methods in table.items() for method, names in methods.items()
            for name, scores in names.items()]


def label_efficiency_markdown(table: dict) -> str:
    rows = label_efficiency_rows(table)
    draws = rows[0]["draws"] if rows else 0
    lines = [f"Label efficiency — mean ± std over {draws} draws of the labelled images; precision, recall and F1 "
             "are macro averages.", "",
             "| labels | method | representation | accuracy | precision | recall | F1 |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        cells = " | ".join(f"{row[m]:.3f} ± {row[m + '_std']:.3f}" for m in ("accuracy", "precision", "recall", "f1"))
        lines.append(f"| {row['fraction']:.0%} ({row['labels']:,}) | {METHODS[row['method']]} | "
                     f"{REPRESENTATIONS[row['representation']]} | {cells} |")
    return "\n".join(lines)
