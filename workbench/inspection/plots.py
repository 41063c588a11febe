"""Plotly figures of a run and of an embedding. Small on purpose: the page re-sends a figure on every update,
so figures use template "none", float32 data, a fixed height and at most `MAX_POINTS` points per line."""

from collections import Counter

import numpy as np
import plotly.graph_objects as go

from ..data.kinds import BASELINE_LABELS

MAX_POINTS = 400
# The classes' colours. The first ten, Paul Tol's "muted" scheme with black for its pale grey, stay apart for a
# viewer who lacks one kind of cone (simulated red-, green- and blue-blind, every pair is at least 15 CIELAB units
# apart; matplotlib's ten, which these replace, came to 4.6 for the red-blind); on 2-D maps each class has its own
# marker too. Past ten, colours repeat with other markers (each pair of the two differs up to 60 classes).
PALETTE = ["#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499",
           "#000000"]
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "triangle-down", "x", "star", "hexagon", "pentagon",
           "star-diamond", "hourglass"]
# Label efficiency's lines: the learned representation blue, its random init orange, the kind's baselines in
# greys (text has two: the 1–2-gram bag of words darker than the unigram one)
REPRESENTATION_COLOURS = {"trained": "#1f77b4", "random_init": "#ff7f0e", "bag_of_ngrams": "#4b5563"}
BASELINE_COLOUR = "#9ca3af"


def _layout(fig, title, x_title, y_title, height=280):
    fig.update_layout(template="none", title=dict(text=title, x=0.02, font=dict(size=14)), height=height,
                      margin=dict(l=55, r=15, t=40, b=40), xaxis_title=x_title, yaxis_title=y_title,
                      showlegend=False)
    return fig


def _thin(rows):
    stride = max(1, len(rows) // MAX_POINTS)
    return rows[::stride] + ([rows[-1]] if rows and (len(rows) - 1) % stride else [])


def loss_figure(steps: list[dict], total_steps: int, evals: list[dict] = ()) -> go.Figure:
    """The training loss at every step logged, and — where the evaluations measure one ("val_loss": a language
    model's loss on held-out text) — the held-out loss at each evaluation: the two part when the model starts
    learning its training text by heart."""
    rows = _thin(steps)
    fig = go.Figure(go.Scatter(x=np.array([r["step"] for r in rows], dtype=np.float32),
                               y=np.array([r["loss"] for r in rows], dtype=np.float32),
                               mode="lines", line=dict(width=2, color="#d62728"), name="training"))
    held_out = [e for e in evals if "val_loss" in e]
    if held_out:
        fig.add_trace(go.Scatter(x=np.array([e["step"] for e in held_out], dtype=np.float32),
                                 y=np.array([e["val_loss"] for e in held_out], dtype=np.float32),
                                 mode="lines+markers", line=dict(width=2, color="#1f77b4"), name="held out"))
    if total_steps:
        # The axis grows ahead of the line up to the whole run: early on the line fills the plot, later it
        # shows how far the run has come.
        last = rows[-1]["step"] if rows else 0
        fig.update_xaxes(range=[0, min(total_steps, max(4 * last, 20))])
    _layout(fig, "Pretext loss" + (": training and held out" if held_out else ""), "step", "loss")
    return fig.update_layout(showlegend=bool(held_out), legend=dict(orientation="h", x=1, xanchor="right", y=1.0,
                                                                    yanchor="bottom"))


def knn_figure(evals: list[dict], epochs: int) -> go.Figure:
    """Online k-NN accuracy and, dashed, the collapse monitor (feature spread: ≈ 1 healthy, → 0 collapsed).
    The run's last k-NN, on all images rather than the epochs' sample of them, is a point of its own: it is
    another measurement, not a jump in the last epoch."""
    def points(rows, key):
        return dict(x=np.array([e["epoch"] for e in rows], dtype=np.float32),
                    y=np.array([e[key] for e in rows], dtype=np.float32).clip(max=1.2))

    sampled = [e for e in evals if not e.get("all_images")]
    fig = go.Figure([
        go.Scatter(**points(sampled, "knn_top1"), mode="lines+markers", line=dict(width=2, color="#1f77b4"),
                   name="k-NN top-1 (a sample of the images)"),
        go.Scatter(**points(evals, "feature_spread"), mode="lines",
                   line=dict(width=1.5, color="#6b7280", dash="dash"), name="feature spread"),
    ])
    if whole := [e for e in evals if e.get("all_images")]:
        fig.add_trace(go.Scatter(**points(whole, "knn_top1"), mode="markers", name="k-NN top-1, all images (the end)",
                                 marker=dict(size=11, symbol="star", color="#d62728")))
    fig.update_yaxes(range=[0, 1.2])
    fig.update_xaxes(range=[-0.2, max(epochs, 1) + 0.6])  # room for the last point's star
    _layout(fig, "Online k-NN accuracy and collapse monitor (held-out images)", "epoch", "")
    return fig.update_layout(showlegend=True, legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"))


def umap_figure(result: dict, title: str) -> go.Figure:
    """A map from `maps.map_run`: one trace per colour group, 2D or 3D; hovering a point names its class
    and its held-out image number (the number the neighbours search takes)."""
    coords, groups, labels = result["coords"].astype(np.float32), result["groups"], result["labels"]
    three_d = coords.shape[1] == 3
    fig = go.Figure()
    for g, name in enumerate(result["group_names"]):
        rows = groups == g
        if not rows.any():
            continue
        text = [f"{result['class_names'][c]} · image #{i}" for c, i in zip(labels[rows], result["indices"][rows])]
        marker = dict(size=3 if three_d else 6, color=PALETTE[g % len(PALETTE)], opacity=0.8,
                      **({} if three_d else {"symbol": SYMBOLS[g % len(SYMBOLS)]}))
        points = dict(x=coords[rows, 0], y=coords[rows, 1], mode="markers", name=name, text=text,
                      customdata=result["indices"][rows], hovertemplate="%{text}<extra></extra>", marker=marker)
        fig.add_trace(go.Scatter3d(z=coords[rows, 2], **points) if three_d else go.Scatter(**points))
    if result["shown"] < result["total"]:
        title += f" — showing {result['shown']:,} of {result['total']:,} points"
    _layout(fig, title, "", "", height=520)
    fig.update_layout(showlegend=True, legend=dict(itemsizing="constant"))
    hidden = dict(showticklabels=False, showgrid=False, zeroline=False, title="")
    if three_d:
        fig.update_scenes(xaxis=hidden, yaxis=hidden, zaxis=hidden)
    else:
        fig.update_xaxes(**hidden)
        fig.update_yaxes(**hidden)
    return fig


def evolution_figure(result: dict) -> go.Figure:
    """The maps of `evolution.evolution`, one frame per epoch, with a slider and a play button: the classes
    separating as training goes on."""
    labels, names = result["labels"], result["class_names"]

    def traces(coords):
        return [go.Scatter(x=coords[labels == c, 0].astype(np.float32), y=coords[labels == c, 1].astype(np.float32),
                           mode="markers", name=name, marker=dict(size=6, color=PALETTE[c % len(PALETTE)], opacity=0.8,
                                                                  symbol=SYMBOLS[c % len(SYMBOLS)]),
                           hoverinfo="name") for c, name in enumerate(names)]

    def caption(i):
        return f"{result['frames'][i]} · k-NN top-1 {result['knn_top1'][i]:.3f}"

    frames = [go.Frame(data=traces(coords), name=str(i), layout=dict(title_text=caption(i)))
              for i, coords in enumerate(result["coords"])]
    every = np.concatenate(result["coords"])
    fig = go.Figure(data=frames[0].data, frames=frames)
    _layout(fig, caption(0), "", "", height=560)
    pad = 0.05 * (every.max(0) - every.min(0))
    hidden = dict(showticklabels=False, showgrid=False, zeroline=False, title="")
    fig.update_xaxes(range=[every[:, 0].min() - pad[0], every[:, 0].max() + pad[0]], **hidden)
    fig.update_yaxes(range=[every[:, 1].min() - pad[1], every[:, 1].max() + pad[1]], **hidden)
    play = dict(frame=dict(duration=900, redraw=False), transition=dict(duration=600), fromcurrent=True)
    fig.update_layout(
        showlegend=True, legend=dict(itemsizing="constant"), margin=dict(l=20, r=20, t=40, b=90),
        updatemenus=[dict(type="buttons", x=0, y=-0.08, xanchor="left", direction="left", buttons=[
            dict(label="▶ play", method="animate", args=[None, play]),
            dict(label="❚❚", method="animate", args=[[None], dict(mode="immediate", frame=dict(duration=0))])])],
        sliders=[dict(x=0.12, len=0.88, y=-0.04, currentvalue=dict(visible=False), steps=[
            dict(label=label.split(" (")[0], method="animate",
                 args=[[str(i)], dict(mode="immediate", frame=dict(duration=0, redraw=False),
                                      transition=dict(duration=300))])
            for i, label in enumerate(result["frames"])])])
    return fig


def label_efficiency_figure(table: dict) -> go.Figure:
    """Test accuracy against the number of labelled images (log scale), one line per method and
    representation, error bars ± one std over the label draws: the few-label claim as a picture."""
    names = {"trained": "trained encoder", "random_init": "random init", **BASELINE_LABELS}
    fig = go.Figure()
    for method, dash in (("linear", "solid"), ("fine_tune", "dash")):
        for representation, name in names.items():
            colour = REPRESENTATION_COLOURS.get(representation, BASELINE_COLOUR)
            points = [(methods[method][representation]["labels"], methods[method][representation])
                      for methods in table.values() if representation in methods.get(method, {})]
            if points:
                fig.add_trace(go.Scatter(
                    x=[labels for labels, _ in points], y=[s["accuracy"] for _, s in points],
                    error_y=dict(type="data", array=[s["accuracy_std"] for _, s in points], width=3),
                    mode="lines+markers", line=dict(color=colour, dash=dash, width=2),
                    name=f"{name}, {'linear probe' if method == 'linear' else 'fine-tuned'}"))
    fig.update_xaxes(type="log")
    fig.update_yaxes(range=[0, 1])
    _layout(fig, "Label efficiency: test accuracy with few labels", "labelled training images", "accuracy",
            height=380)
    return fig.update_layout(showlegend=True)


def confusion_figure(knn: dict, class_names: list[str]) -> go.Figure:
    """The k-NN probe's confusion matrix, each row (a true class) as shares of that class: where the
    representation mixes classes up."""
    counts = np.asarray(knn["confusion"], dtype=np.float32)
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    fig = go.Figure(go.Heatmap(z=shares, x=class_names, y=class_names, colorscale="Blues", zmin=0, zmax=1,
                               customdata=counts, hovertemplate="true %{y}, predicted %{x}: %{customdata:.0f} "
                                                                "(%{z:.0%})<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "k-NN confusion (rows: true class, shares of it)", "predicted", "true", height=380)


def placeholder_figure(text: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, font=dict(size=14, color="#6b7280"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, "", "", "", height=480)


def attention_figure(result: dict) -> go.Figure:
    """The attention over a sentence (`inspection.text.attention`), one heatmap per layer, its heads averaged:
    row i is how much token i reads each token when it is updated."""
    from plotly.subplots import make_subplots  # only this figure needs it

    maps, tokens = result["maps"].mean(axis=1), result["tokens"]
    strongest = float(maps.max())  # the scale of the strongest weight: an untrained model's are all alike
    labels = [f"{i}·{token}" for i, token in enumerate(tokens)]  # unique: a word may come twice
    fig = make_subplots(rows=1, cols=len(maps), subplot_titles=[f"layer {i + 1}" for i in range(len(maps))],
                        horizontal_spacing=0.03)
    for i, weights in enumerate(maps):
        fig.add_trace(go.Heatmap(z=weights.astype(np.float32), x=labels, y=labels, colorscale="Blues", zmin=0,
                                 zmax=strongest, showscale=i == len(maps) - 1, hovertemplate="%{y} reads %{x}: "
                                                                                     "%{z:.2f}<extra></extra>"),
                      row=1, col=i + 1)
    every_token = dict(tickmode="array", tickvals=labels, tickfont=dict(size=9))
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_yaxes(showticklabels=True, row=1, col=1, **every_token)
    fig.update_xaxes(showticklabels=len(tokens) <= 40, tickangle=-60, **every_token)
    _layout(fig, "Attention, layer by layer (the mean of the heads; row: the token that reads)", "", "", height=360)
    return fig.update_layout(margin=dict(l=90, r=15, t=60, b=80))


def comparison_figure(curves: list[dict], measure: str = "loss", x: str = "epoch") -> go.Figure:
    """Runs overlaid (`compare.compare_runs`'s "curves"), one line each, against epochs or training seconds:
    "loss" (each step) or "knn" (the online k-NN after each epoch; the run's last one, on all images, a star).
    Each line is named by its task, and by its run too where two runs share a task."""
    if measure not in ("loss", "knn") or x not in ("epoch", "seconds"):
        raise ValueError(f"a comparison draws loss or knn against epoch or seconds, not {measure} against {x}")
    runs_of_task = Counter(curve["task"] for curve in curves)
    fig = go.Figure()
    for i, curve in enumerate(curves):
        name = curve["task_title"].split(" — ")[0] + (f" ({curve['run']})" if runs_of_task[curve["task"]] > 1 else "")
        colour = PALETTE[i % len(PALETTE)]
        rows = _thin(curve["loss"]) if measure == "loss" else curve["knn"]
        points = dict(x=np.array([r[x] for r in rows], dtype=np.float32), name=name,
                      y=np.array([r["loss" if measure == "loss" else "knn_top1"] for r in rows], dtype=np.float32))
        if measure == "loss":
            fig.add_trace(go.Scatter(**points, mode="lines", line=dict(width=2, color=colour)))
        else:
            whole = [r["all_images"] for r in rows]
            fig.add_trace(go.Scatter(**points, mode="lines+markers", line=dict(width=2, color=colour),
                                     marker=dict(color=colour, symbol=["star" if w else "circle" for w in whole],
                                                 size=[12 if w else 6 for w in whole])))
    if measure == "knn":
        fig.update_yaxes(range=[0, 1.02])
    title = ("Pretext loss (each task its own scale: compare the shapes)" if measure == "loss"
             else "Online k-NN top-1, held-out images (★: the run's last, on all of them)")
    _layout(fig, title, "epoch" if x == "epoch" else "training seconds", "loss" if measure == "loss" else "top-1",
            height=340)
    return fig.update_layout(showlegend=True, margin=dict(b=100),  # the legend at the figure's foot, below the axis
                             legend=dict(orientation="h", x=0, y=0, yref="container", yanchor="bottom"))
