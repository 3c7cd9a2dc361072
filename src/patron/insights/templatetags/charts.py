"""Server-rendered SVG charts: bar, stacked bar, line and heat map, each with its numbers.

Every chart is an accessible <svg role="img"> with a <title> and <desc>, followed by a
<details> holding the same figures as a table, so the numbers are one click away and the chart
needs no JavaScript or third-party library (they render offline).

Usage::

    {% load charts %}
    {% bar_chart rows "label" "n" title=_("Customers by segment") %}
    {% stacked_bar_chart rows "label" series title=... %}       series: [(key, label), ...]
    {% line_chart rows "month" series title=... %}
    {% heatmap_chart matrix row_labels col_labels title=... %}
"""

import itertools
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()
PALETTE = (
    "#2457c5",
    "#1a7f37",
    "#9a6700",
    "#b42318",
    "#6e40c9",
    "#0e7490",
    "#c2410c",
    "#4d7c0f",
    "#be185d",
    "#475569",
)
_ids = itertools.count(1)
WIDTH = 640


def _text_width(text: str, size: float) -> float:
    """About how wide `text` is drawn at font size `size`: a Chinese character takes the full
    size, a Latin one a little over half (enough to lay out labels without a browser)."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.58 for ch in text)


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    return number_format(round(float(value), digits), decimal_pos=digits, use_l10n=True, force_grouping=True)


def _get(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, dict) else getattr(row, key, None)


def _figure(title: str, svg_body: str, height: int, desc: str, table: str) -> SafeString:
    n = next(_ids)
    t, d = escape(str(title)), escape(desc)
    show = escape(_("Show the numbers"))  # outside the f-string, where xgettext can see it
    # Every value interpolated above went through escape(); the markup is our own.
    return mark_safe(  # noqa: S308
        f'<figure class="chart"><svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="chart-t{n} chart-d{n}" preserveAspectRatio="xMinYMin meet" '
        f'font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="chart-t{n}">{t}</title><desc id="chart-d{n}">{d}</desc>{svg_body}</svg>'
        f'<details class="chart-numbers"><summary>{show}</summary>'
        f'<div class="table-wrap">{table}</div></details></figure>'
    )


def _legend(labels: Sequence[str], left: float) -> tuple[str, int]:
    """A swatch and label per series, placed one after another by their width (a fixed step let
    a long label run into the next), on as many lines as they need; the markup and its height."""
    body, x, y = "", float(left), 4
    for j, label in enumerate(labels):
        width = 14 + _text_width(label, 12) + 16
        if x > left and x + width > WIDTH - 10:
            x, y = float(left), y + 16
        colour = PALETTE[j % len(PALETTE)]
        body += (f'<rect x="{x:.1f}" y="{y}" width="10" height="10" fill="{colour}"/>'
                 f'<text x="{x + 14:.1f}" y="{y + 9}">{escape(label)}</text>')
        x += width
    return body, y + 20


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return _num(value, 2 if isinstance(value, float) and abs(value) < 10 else 0)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], caption: str) -> str:
    head = "".join(f'<th scope="col">{escape(str(h))}</th>' for h in headers)
    body = ""
    for row in rows:
        cells = [f'<th scope="row">{escape(str(row[0]))}</th>']
        cells += [f'<td class="num">{escape(_cell(c))}</td>' for c in row[1:]]
        body += f"<tr>{''.join(cells)}</tr>"
    return (
        f'<table class="table"><caption class="visually-hidden">{escape(str(caption))}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


@register.simple_tag
def bar_chart(
    rows: Sequence[Any],
    label_key: str,
    value_key: str,
    title: str = "",
    value_label: str = "",
    digits: int = 0,
) -> SafeString:
    """Horizontal bars, one per row, with the value printed at the end of each bar."""
    rows = list(rows)
    top = max([float(_get(r, value_key) or 0) for r in rows] + [1e-9])
    bar_h, label_w = 22, 190
    body = ""
    for i, r in enumerate(rows):
        value = float(_get(r, value_key) or 0)
        w = (WIDTH - label_w - 80) * value / top
        y = i * bar_h + 4
        body += (
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" fill="#1f2933">'
            f"{escape(str(_get(r, label_key)))}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 6}" rx="3" fill="{PALETTE[0]}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 14}" fill="#616e7c">{escape(_num(value, digits))}</text>'
        )
    height = max(len(rows) * bar_h + 8, 30)
    table = _table(
        [_("Item"), value_label or _("Value")],
        [(_get(r, label_key), _get(r, value_key)) for r in rows],
        title,
    )
    return _figure(title, body, height, _("Bar chart with %(n)d bars.") % {"n": len(rows)}, table)


@register.simple_tag
def stacked_bar_chart(
    rows: Sequence[Any],
    label_key: str,
    series: Sequence[tuple[str, str]],
    title: str = "",
    stacked: bool = True,
) -> SafeString:
    """Horizontal bars split into the series (key, label), with a legend; side by side if not stacked."""
    rows, series = list(rows), list(series)
    if stacked:
        top = max([sum(float(_get(r, k) or 0) for k, _l in series) for r in rows] + [1e-9])
    else:
        top = max([float(_get(r, k) or 0) for r in rows for k, _l in series] + [1e-9])
    bar_h, label_w = 22, 190
    body, legend_h = _legend([str(lab) for _k, lab in series], label_w)
    for i, r in enumerate(rows):
        y, x = legend_h + i * bar_h, float(label_w)
        body += f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end">{escape(str(_get(r, label_key)))}</text>'
        for j, (k, _lab) in enumerate(series):
            w = (WIDTH - label_w - 20) * float(_get(r, k) or 0) / top
            if stacked:
                colour = PALETTE[j % len(PALETTE)]
                body += f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h - 6}" fill="{colour}"/>'
                x += w
            else:
                h = (bar_h - 6) / len(series)
                colour = PALETTE[j % len(PALETTE)]
                body += f'<rect x="{label_w}" y="{y + j * h:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{colour}"/>'
    table = _table(
        [_("Item"), *[lab for _k, lab in series]],
        [(_get(r, label_key), *[_get(r, k) for k, _l in series]) for r in rows],
        title,
    )
    return _figure(
        title,
        body,
        legend_h + len(rows) * bar_h + 8,
        _("Stacked bar chart with %(n)d bars.") % {"n": len(rows)},
        table,
    )


@register.simple_tag
def line_chart(rows: Sequence[Any], x_key: str, series: Sequence[tuple[str, str]], title: str = "") -> SafeString:
    """One line per series over the rows (in order), each scaled to its own maximum."""
    rows, series = list(rows), list(series)
    left, bottom = 40, 30
    n = max(len(rows) - 1, 1)
    scaled = _("scaled")  # outside the f-string, where xgettext can see it
    body, top_pad = _legend([f"{lab} ({scaled})" for _k, lab in series], left)
    height = 196 + top_pad
    body += f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - 10}" y2="{height - bottom}" stroke="#dde2e8"/>'
    for j, (k, _lab) in enumerate(series):
        values = [float(_get(r, k) or 0) for r in rows]
        top = max([*values, 1e-09])
        points = " ".join(
            f"{left + (WIDTH - left - 10) * i / n:.1f},{height - bottom - (height - bottom - top_pad) * v / top:.1f}"
            for i, v in enumerate(values)
        )
        body += f'<polyline points="{points}" fill="none" stroke="{PALETTE[j % len(PALETTE)]}" stroke-width="2"/>'
    step = max(1, len(rows) // 6)
    for i in range(0, len(rows), step):
        x = left + (WIDTH - left - 10) * i / n
        body += (
            f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" fill="#616e7c">'
            f"{escape(str(_get(rows[i], x_key)))}</text>"
        )
    table = _table(
        ["", *[lab for _k, lab in series]],
        [(_get(r, x_key), *[_get(r, k) for k, _l in series]) for r in rows],
        title,
    )
    return _figure(title, body, height, _("Line chart over %(n)d points.") % {"n": len(rows)}, table)


@register.simple_tag
def heatmap_chart(
    matrix: Sequence[Sequence[Any]],
    row_labels: Sequence[Any],
    col_labels: Sequence[Any],
    title: str = "",
    percent: bool = False,
) -> SafeString:
    """A grid of cells shaded by value (rows x columns); empty cells stay blank."""
    matrix = [list(r) for r in matrix]
    cols = max([len(r) for r in matrix] + [len(col_labels), 1])
    label_w = round(min(200, max([60.0] + [_text_width(str(r), 11) + 10 for r in row_labels])))
    head_w = max([_text_width(str(c), 10) for c in col_labels] + [0])
    cell_w, head_h, slanted = (WIDTH - label_w) / cols, 22, False
    if head_w > cell_w - 4:
        # Ten segment names do not fit side by side: slanted at 45 degrees, each from its
        # column's foot, with room above the grid and at its right for the last ones.
        slanted = True
        reach = head_w * 0.71
        cell_w = (WIDTH - label_w - max(0.0, reach - cell_w / 2)) / cols
        head_h = round(reach) + 12
    cell_h = 18
    top = max([float(v) for r in matrix for v in r if v is not None] + [1e-9])
    texts = [[None if v is None else f"{float(v):.0f}%" if percent else _num(v) for v in row] for row in matrix]
    # The figures drawn as small as they must be to stay inside their cells ("100%" ran into
    # the next of 23 columns); digits and signs are wider than `_text_width`'s Latin average.
    widest = max([len(t) for row in texts for t in row if t] + [1])
    font = round(max(6.0, min(9.0, (cell_w - 3) / (widest * 0.68))), 1)
    body = ""
    for j, c in enumerate(col_labels):
        x = label_w + (j + 0.5) * cell_w
        place = (f'x="{x:.1f}" y="{head_h - 5}" transform="rotate(-45 {x:.1f} {head_h - 5})" text-anchor="start"'
                 if slanted else f'x="{x:.1f}" y="15" text-anchor="middle"')
        body += f'<text {place} font-size="10" fill="#616e7c">{escape(str(c))}</text>'
    for i, (label, row) in enumerate(zip(row_labels, matrix, strict=False)):
        y = head_h + i * cell_h
        body += f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="11">{escape(str(label))}</text>'
        for j, v in enumerate(row):
            if v is None:
                continue
            alpha = 0.08 + 0.92 * float(v) / top
            text = texts[i][j]
            column = str(col_labels[j]) if j < len(col_labels) else ""
            ink = "#fff" if alpha > 0.55 else "#1f2933"
            body += (
                f'<rect x="{label_w + j * cell_w:.1f}" y="{y}" width="{cell_w - 1:.1f}" '
                f'height="{cell_h - 1}" fill="#2457c5" fill-opacity="{alpha:.2f}"><title>'
                f"{escape(str(label))} / {escape(column)}: {escape(text)}</title></rect>"
                f'<text x="{label_w + (j + 0.5) * cell_w:.1f}" y="{y + 13}" text-anchor="middle" '
                f'font-size="{font}" fill="{ink}">{escape(text)}</text>'
            )
    fmt = (lambda v: "" if v is None else f"{float(v):.1f}%") if percent else (lambda v: "" if v is None else v)
    table = _table(
        ["", *col_labels],
        [(label, *[fmt(v) for v in row]) for label, row in zip(row_labels, matrix, strict=False)],
        title,
    )
    return _figure(
        title,
        body,
        head_h + len(matrix) * cell_h + 6,
        _("Heat map with %(r)d rows and %(c)d columns.") % {"r": len(matrix), "c": cols},
        table,
    )
