"""What a language-model task feeds its model, as HTML: a table per text, a row per named line ("input", "target",
the model's guesses, …) and a cell per token, the positions the model must predict highlighted. Inline styles
only, so the same string reads alike in the page and in a file of its own."""

import html

TOKENS_A_ROW = 16  # a long text wraps into tables of this many tokens, each with the lines' names
LINE_NAMES = {"text": "text", "id": "token id", "input": "model reads", "target": "must predict",
              "model": "model's guesses"}
TARGET_BACKGROUND, RIGHT, WRONG = "#fef3c7", "#15803d", "#b91c1c"
TABLE = 'style="border-collapse:collapse;margin:0 0 6px 0;font:13px system-ui,sans-serif"'
NAME_CELL = 'style="border:0;padding:2px 8px 2px 0;color:#6b7280;white-space:nowrap;text-align:right;font-size:12px"'
EMPTY = "&nbsp;"


def targets_of(lines: dict[str, list[str]]) -> list[bool]:
    """Which positions carry a target: where the "target" line has a token."""
    return [bool(cell) for cell in lines.get("target", [])]


def guesses_html(cell: str, target: str) -> str:
    """"dog 0.91 · cat 0.05" → the guesses one under the other, the first bold, green where it is the target
    and red where it is not."""
    if not cell:
        return EMPTY
    guesses = cell.split(" · ")
    colour = RIGHT if guesses[0].rsplit(" ", 1)[0] == target else WRONG
    first = f'<b style="color:{colour}">{html.escape(guesses[0])}</b>'
    return "<br>".join([first] + [f'<span style="color:#6b7280">{html.escape(g)}</span>' for g in guesses[1:]])


def cell_html(name: str, cell: str, target: str, is_target: bool) -> str:
    style = "padding:2px 5px;border:1px solid #e5e7eb;text-align:center;vertical-align:top;white-space:nowrap"
    if is_target and name in ("input", "target"):
        style += f";background:{TARGET_BACKGROUND}"
    if name == "id":
        style += ";color:#9ca3af;font-size:11px"
    body = guesses_html(cell, target) if name == "model" else (html.escape(cell) or EMPTY)
    return f'<td style="{style}">{body}</td>'


def text_table(lines: list[tuple[str, list[str]]], start: int, stop: int) -> str:
    """Positions start … stop − 1 of one text, every line a row."""
    named = dict(lines)
    is_target, target = targets_of(named), named.get("target", [])
    rows = []
    for name, cells in lines:
        tds = "".join(cell_html(name, cells[i], target[i] if i < len(target) else "",
                                i < len(is_target) and is_target[i]) for i in range(start, min(stop, len(cells))))
        rows.append(f"<tr><td {NAME_CELL}>{html.escape(LINE_NAMES.get(name, name))}</td>{tds}</tr>")
    return f"<table {TABLE}>{''.join(rows)}</table>"


def preview_table(rows) -> str:
    """`TextPreviewRow`s → one HTML block: per text, its lines in tables of TOKENS_A_ROW tokens."""
    blocks = []
    for number, row in enumerate(rows, 1):
        length = max((len(cells) for _, cells in row.lines), default=0)
        tables = "".join(text_table(row.lines, start, start + TOKENS_A_ROW) for start in range(0, length, TOKENS_A_ROW))
        blocks.append(f'<div style="margin-bottom:14px"><div style="font-weight:600;margin-bottom:2px">text {number}'
                      f"</div>{tables}</div>")
    legend = "Highlighted: the positions the model must predict."
    if any(name == "model" for row in rows for name, _ in row.lines):
        legend += (f' Its guesses, likeliest first, in <b style="color:{RIGHT}">green</b> where the first is right, '
                   f'<b style="color:{WRONG}">red</b> where it is wrong.')
    legend = f'<p style="font-size:12px;color:#4b5563">{legend}</p>'
    return f'<div class="wb-text-preview" style="overflow-x:auto">{legend}{"".join(blocks)}</div>'
