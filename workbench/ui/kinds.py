"""Where the page shows an item of one kind or another — an image or a text — it lays out one component per kind
({kind name: component}) and shows the one of the kind at hand: the preview's picture or table of tokens, the
data's samples, the neighbours. A handler gives the kind's component its value (`kind_values`, plain values, so
the API answers with them) and the kind to a `gr.State`; `show_by_kind` then shows that component alone."""

import gradio as gr


def kind_values(components: dict, kind: str, value) -> list:
    """`value` for the `kind`'s component, nothing for the others."""
    return [value if name == kind else None for name in components]


def kind_shown(components: dict, kind: str) -> list:
    """The `kind`'s component shown, the others hidden."""
    return [gr.update(visible=name == kind) for name in components]


def show_by_kind(event, components: dict, kind: gr.State):
    """After `event` (which set `kind`), show the components of that kind alone."""
    return event.then(lambda name: kind_shown(components, name), kind, list(components.values()), api_name=False,
                      show_progress="hidden")
