"""Plotly figures of a run and of an embedding. Small on purpose: the page re-sends a figure on every update,
so figures use template "none", float32 data, a fixed height and at most `MAX_POINTS` points per line."""

import numpy as np
import plotly.graph_objects as go

MAX_POINTS = 400
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#393b79", "#e7969c", "#637939", "#ad494a", "#3182bd", "#fd8d3c", "#31a354", "#756bb1"]


def _layout(fig, title, x_title, y_title, height=280):
    fig.update_layout(template="none", title=dict(text=title, x=0.02, font=dict(size=14)), height=height,
                      margin=dict(l=55, r=15, t=40, b=40), xaxis_title=x_title, yaxis_title=y_title,
                      showlegend=False)
    return fig


def _thin(rows):
    stride = max(1, len(rows) // MAX_POINTS)
    return rows[::stride] + ([rows[-1]] if rows and (len(rows) - 1) % stride else [])


def loss_figure(steps: list[dict], total_steps: int) -> go.Figure:
    rows = _thin(steps)
    fig = go.Figure(go.Scatter(x=np.array([r["step"] for r in rows], dtype=np.float32),
                               y=np.array([r["loss"] for r in rows], dtype=np.float32),
                               mode="lines", line=dict(width=2, color="#d62728"), name="loss"))
    if total_steps:
        # The axis grows ahead of the line up to the whole run: early on the line fills the plot, later it
        # shows how far the run has come.
        last = rows[-1]["step"] if rows else 0
        fig.update_xaxes(range=[0, min(total_steps, max(4 * last, 20))])
    return _layout(fig, "Pretext loss", "step", "loss")


def knn_figure(evals: list[dict], epochs: int) -> go.Figure:
    """Online k-NN accuracy and, dashed, the collapse monitor (feature spread: ≈ 1 healthy, → 0 collapsed)."""
    x = np.array([e["epoch"] for e in evals], dtype=np.float32)
    fig = go.Figure([
        go.Scatter(x=x, y=np.array([e["knn_top1"] for e in evals], dtype=np.float32), mode="lines+markers",
                   line=dict(width=2, color="#1f77b4"), name="k-NN top-1"),
        go.Scatter(x=x, y=np.array([min(e["feature_spread"], 1.2) for e in evals], dtype=np.float32),
                   mode="lines", line=dict(width=1.5, color="#6b7280", dash="dash"), name="feature spread"),
    ])
    fig.update_yaxes(range=[0, 1.2])
    fig.update_xaxes(range=[-0.2, max(epochs, 1) + 0.2])
    _layout(fig, "Online k-NN accuracy and collapse monitor (held-out images)", "epoch", "")
    return fig.update_layout(showlegend=True, legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"))


def umap_figure(coords: np.ndarray, labels: np.ndarray, class_names: list[str], title: str) -> go.Figure:
    fig = go.Figure()
    for c, name in enumerate(class_names):
        rows = labels == c
        if rows.any():
            fig.add_trace(go.Scatter(x=coords[rows, 0].astype(np.float32), y=coords[rows, 1].astype(np.float32),
                                     mode="markers", name=name, hovertemplate=f"{name}<extra></extra>",
                                     marker=dict(size=5, color=PALETTE[c % len(PALETTE)], opacity=0.8)))
    _layout(fig, title, "", "", height=480)
    fig.update_layout(showlegend=True, legend=dict(itemsizing="constant"))
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    return fig


def label_efficiency_figure(table: dict) -> go.Figure:
    """Test accuracy against the number of labelled images (log scale), one line per method and
    representation, error bars ± one std over the label draws: the few-label claim as a picture."""
    styles = {"ssl": "#1f77b4", "random_init": "#ff7f0e", "raw_pixels": "#7f7f7f"}
    names = {"ssl": "trained encoder", "random_init": "random init", "raw_pixels": "raw pixels"}
    fig = go.Figure()
    for method, dash in (("linear", "solid"), ("fine_tune", "dash")):
        for representation, colour in styles.items():
            points = [(methods[method][representation]["labels"], methods[method][representation])
                      for methods in table.values() if representation in methods.get(method, {})]
            if points:
                fig.add_trace(go.Scatter(
                    x=[labels for labels, _ in points], y=[s["accuracy"] for _, s in points],
                    error_y=dict(type="data", array=[s["accuracy_std"] for _, s in points], width=3),
                    mode="lines+markers", line=dict(color=colour, dash=dash, width=2),
                    name=f"{names[representation]}, {'linear probe' if method == 'linear' else 'fine-tuned'}"))
    fig.update_xaxes(type="log")
    fig.update_yaxes(range=[0, 1])
    _layout(fig, "Label efficiency: test accuracy with few labels", "labelled training images", "accuracy",
            height=380)
    return fig.update_layout(showlegend=True)


def placeholder_figure(text: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, font=dict(size=14, color="#6b7280"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, "", "", "", height=480)
