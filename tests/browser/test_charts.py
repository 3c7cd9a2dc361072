"""The server-drawn charts as a browser lays them out, with the page's own stylesheets and
fonts: labels must not run into each other, figures must stay in their cells and be readable."""

import itertools
from pathlib import Path

import pytest

from patron.insights.templatetags import charts

STATIC = Path(charts.__file__).resolve().parents[2] / "static" / "patron"
# No live server, but the page fixture waits for the database to be idle when it closes (PostgreSQL).
pytestmark = pytest.mark.django_db


def _show(page, *figures: str) -> None:
    styles = "".join((STATIC / name).read_text() for name in ("app.css", "insights.css"))
    page.set_viewport_size({"width": 1250, "height": 900})
    page.set_content(f"<html><head><style>{styles}</style></head><body><main>{''.join(figures)}</main></body></html>")


def _boxes(locator) -> list[dict]:
    return [locator.nth(i).bounding_box() for i in range(locator.count())]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_legend_labels_of_a_line_chart_do_not_overlap(page, language):
    from django.utils import translation

    rows = [{"month": f"2026-{m:02d}", "aov": 100 + m, "orders": 2 + m % 3} for m in range(1, 13)]
    series = [("aov", "Average order value"), ("orders", "Orders per active customer"), ("x", "Third series")]
    with translation.override(language):
        _show(page, charts.line_chart(rows, "month", series, title="Purchase behaviour"))
    legend = _boxes(page.locator("figure svg > text").filter(has_text="("))
    assert len(legend) == 3
    for a, b in itertools.pairwise(legend):
        same_line = abs(a["y"] - b["y"]) < 1
        assert not same_line or a["x"] + a["width"] <= b["x"], (a, b)
    assert all(box["x"] + box["width"] <= 1250 for box in legend)


def test_a_heat_map_of_many_columns_keeps_its_figures_in_their_cells_and_readable(page):
    matrix = [[100.0, *[50.0 - k for k in range(22)]] for _ in range(3)]
    _show(page, charts.heatmap_chart(matrix, ["2025-01 (83)", "2025-02 (70)", "2025-03 (87)"],
                                     [f"+{k}" for k in range(23)], title="Cohort retention", percent=True))
    cells = page.locator("figure svg rect")
    figures = page.locator('figure svg text[fill="#fff"], figure svg text[fill="#1f2933"]')
    assert cells.count() == figures.count() == 69
    for cell, figure in zip(_boxes(cells), _boxes(figures), strict=True):
        assert cell["x"] <= figure["x"] and figure["x"] + figure["width"] <= cell["x"] + cell["width"], (cell, figure)
    # White on the darkest cells: the page's text colour must not override the figure's own.
    darkest = figures.first
    assert darkest.text_content() == "100%"
    assert darkest.evaluate("t => getComputedStyle(t).fill") == "rgb(255, 255, 255)"
