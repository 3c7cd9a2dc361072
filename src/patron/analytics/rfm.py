"""RFM scores, the named RFM segments and the Chinese eight-class map (RFM 客户八分类).

RFM analysis (Hughes 1994, *Strategic Database Marketing*; Bult & Wansbeek 1995, "Optimal
selection for direct mail", Marketing Science 14(4), 378-394) describes each customer by the
recency of the last purchase (R), the frequency of purchase (F) and the money spent (M).

Input: a customer summary (see `patron.analytics.summary.customer_summary`) with the columns
``customer_id``, ``recency`` (time since the last purchase, in any unit), ``n_purchases`` (the
frequency: distinct purchase days) and a monetary column (``total_spend`` by default; any other
non-negative column such as ``avg_spend`` may be chosen).

Scores: rank-based quantiles
----------------------------
A measure is scored 1..``bins`` by the share of the reference population that it strictly
beats: score = 1 + floor(bins * #{customers with a strictly smaller value} / n). Equivalently, with
the learnt edges e_k = the ceil(k n / bins)-th smallest value (k = 1..bins-1),
score = 1 + #{k : e_k < value}, so the edge e_k is the largest value that still scores k.

- Ties get equal scores (all tied customers take the score of the lowest rank of the tie, like
  the "min" ranking method); the order of rows never matters.
- A population with fewer distinct values than bins still gives valid scores in 1..bins; some
  scores are then unused. For example, when 60% of customers bought once, every one-time buyer
  scores F = 1 and the next frequency already scores F = 4.
- Recency is reversed (a smaller recency is better): the most recent purchase scores 5.
- New customers are scored against the edges of the last fit (`RFMSegmenter`), so scores are
  stable between refreshes and one customer can be scored alone.

Named segments
--------------
``segment`` follows one published table, the 5 x 5 R x F segment matrix of Guillaume Martin
(2018), "RFM Segmentation with Python" (guillaume-martin.github.io/rfm-segmentation-with-python
.html), the grid most RFM tutorials reuse. M does not enter it, so it covers all 125 codes
exactly once (`rfm_segment_map` lists them). Rows R, columns F:

====  ==============  ===================  ===================  ===============  ===============
R/F   1               2                    3                    4                5
====  ==============  ===================  ===================  ===============  ===============
5     new_customers   potential_loyalists  potential_loyalists  champions        champions
4     promising       potential_loyalists  potential_loyalists  loyal_customers  loyal_customers
3     about_to_sleep  about_to_sleep       need_attention       loyal_customers  loyal_customers
1-2   hibernating     hibernating          at_risk              at_risk          cannot_lose_them
====  ==============  ===================  ===================  ===============  ===============

The table has ten segments and no separate "Lost": lost customers are in ``hibernating``.

Eight classes
-------------
``class8`` is the Chinese eight-class map: R, F and M each high or low against the population
mean (R high: recency below the mean; F high: n_purchases above the mean; M high: the monetary
column above the mean; a value equal to the mean is low), giving 重要价值/发展/保持/挽留客户 when M
is high and 一般价值/发展/保持/挽留客户 when it is low (`CLASS8`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple, Self

import numpy as np
import polars as pl
from numpy.typing import NDArray

from patron.analytics.errors import InputError, InsufficientDataError, NotFittedError

__all__ = [
    "CLASS8",
    "SEGMENTS",
    "Class8",
    "RFMSegmenter",
    "Segment",
    "quantile_edges",
    "rfm_scores",
    "rfm_segment_map",
    "score_from_edges",
]

FREQUENCY_COL = "n_purchases"
RECENCY_COL = "recency"


class Segment(NamedTuple):
    """A named RFM segment: stable key and English label (translations live in the Django layer)."""

    key: str
    label: str


# Source: the R x F segment matrix of Guillaume Martin (2018), "RFM Segmentation with Python",
# guillaume-martin.github.io/rfm-segmentation-with-python.html (the widely used 5 x 5 R x F grid;
# M does not enter). It has ten segments and no separate "Lost": its Hibernating cell (R 1-2,
# F 1-2) holds the lost customers.
SEGMENTS: tuple[Segment, ...] = (
    Segment("champions", "Champions"),
    Segment("loyal_customers", "Loyal Customers"),
    Segment("potential_loyalists", "Potential Loyalists"),
    Segment("new_customers", "New Customers"),
    Segment("promising", "Promising"),
    Segment("need_attention", "Need Attention"),
    Segment("about_to_sleep", "About To Sleep"),
    Segment("at_risk", "At Risk"),
    Segment("cannot_lose_them", "Cannot Lose Them"),
    Segment("hibernating", "Hibernating"),
)

# Row r-1 is the recency score r, column f-1 the frequency score f.
RF_GRID: tuple[tuple[str, str, str, str, str], ...] = (
    ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose_them"),
    ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose_them"),
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal_customers", "loyal_customers"),
    (
        "promising",
        "potential_loyalists",
        "potential_loyalists",
        "loyal_customers",
        "loyal_customers",
    ),
    ("new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"),
)


class Class8(NamedTuple):
    """One of the eight RFM classes: R, F, M each high or low against the population mean."""

    key: str
    name_zh: str
    r_high: bool
    f_high: bool
    m_high: bool


# The common Chinese eight-class RFM map (重要/一般 x 价值/发展/保持/挽留). Its order is the code:
# index = 4 * (M low) + 2 * (R low) + (F low).
CLASS8: tuple[Class8, ...] = (
    Class8("important_value", "重要价值客户", True, True, True),
    Class8("important_develop", "重要发展客户", True, False, True),
    Class8("important_keep", "重要保持客户", False, True, True),
    Class8("important_retain", "重要挽留客户", False, False, True),
    Class8("general_value", "一般价值客户", True, True, False),
    Class8("general_develop", "一般发展客户", True, False, False),
    Class8("general_keep", "一般保持客户", False, True, False),
    Class8("general_retain", "一般挽留客户", False, False, False),
)

SEGMENT_DTYPE = pl.Enum([s.key for s in SEGMENTS])
CLASS8_DTYPE = pl.Enum([c.key for c in CLASS8])
_SEGMENT_INDEX = {s.key: i for i, s in enumerate(SEGMENTS)}
_RF_CODES = np.array([[_SEGMENT_INDEX[k] for k in row] for row in RF_GRID], dtype=np.uint32)


def quantile_edges(values: NDArray[np.float64], levels: Sequence[float]) -> NDArray[np.float64]:
    """Rank-based quantile edges: for each level q, the ceil(q n)-th smallest value.

    With these edges, ``score_from_edges`` gives 1 + #{levels q : the share of values strictly
    below the scored value is at least q}.
    """
    n = values.size
    if n == 0:
        raise InsufficientDataError("no customers to learn quantile edges from")
    # The tolerance keeps k/3 * n from rounding up past an exact integer (e.g. 1/3 * 3).
    ranks = [min(n, max(1, math.ceil(q * n - 1e-9))) for q in levels]
    # A full sort beats np.partition with several kth here: numpy's sort is vectorised (SIMD).
    ordered = np.sort(values)
    return np.array([ordered[r - 1] for r in ranks], dtype=np.float64)


def score_from_edges(values: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.int8]:
    """Score = 1 + the number of edges strictly below the value (edges sorted ascending)."""
    # One vectorised comparison per edge (at most 8): an order of magnitude faster than a
    # binary search per value (np.searchsorted(edges, values, side="left") + 1, the same).
    score = np.ones(values.shape, dtype=np.int8)
    for edge in edges:
        score += values > edge
    return score


def _measure(summary: pl.DataFrame, column: str) -> NDArray[np.float64]:
    """A summary column as float64, rejecting missing, non-finite and negative values."""
    if column not in summary.columns:
        raise InputError("the summary has no such column", column=column)
    series = summary.get_column(column)
    if series.null_count():
        row = int(series.is_null().arg_true()[0]) + 1
        raise InputError("missing value", row=row, column=column)
    values = series.cast(pl.Float64).to_numpy()
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if bad.size:
        raise InputError(
            "values must be finite and non-negative", row=int(bad[0]) + 1, column=column
        )
    return values


def _check_id(summary: pl.DataFrame) -> None:
    if "customer_id" not in summary.columns:
        raise InputError("the summary has no such column", column="customer_id")


class RFMSegmenter:
    """Score customers 1..bins on R, F and M and name their RFM segment and eight-class.

    `fit` learns, on a reference population, the rank-based quantile edges of each measure and
    the means that split it into high and low; `transform` scores any customers (the reference
    population, later ones, or a single one) against them. See the module docstring for the
    scoring rule and its treatment of ties.

    Parameters
    ----------
    bins : int, default 5
        Number of score levels, 2..9 (a score is one digit of ``rfm_code``). The named segment
        map is defined for 5 levels only; with another number ``segment`` is null.
    monetary : str, default "total_spend"
        The summary column used as M for both the scores and the eight-class map (e.g.
        ``"avg_spend"`` for the mean spend per purchase day). Frequency is always
        ``n_purchases`` and recency ``recency``.

    Attributes
    ----------
    edges_ : dict[str, numpy.ndarray]
        ``bins - 1`` edges per measure ("recency", "frequency", "monetary"). Frequency and
        monetary edges ascend: a value above edge k scores more than k. Recency edges descend:
        a recency below edge k scores more than k.
    means_ : dict[str, float]
        Population means of recency, frequency and monetary (the eight-class thresholds).
    n_customers_ : int
        Size of the reference population.
    """

    def __init__(self, bins: int = 5, monetary: str = "total_spend") -> None:
        self.bins = bins
        self.monetary = monetary

    def _columns(self) -> dict[str, str]:
        return {"recency": RECENCY_COL, "frequency": FREQUENCY_COL, "monetary": self.monetary}

    def fit(self, summary: pl.DataFrame) -> Self:
        """Learn the score edges and the eight-class means from a reference population."""
        if not 2 <= self.bins <= 9:
            raise InputError(f"bins must be between 2 and 9, got {self.bins}")
        _check_id(summary)
        if summary.height == 0:
            raise InsufficientDataError("no customers to learn RFM scores from")
        levels = [k / self.bins for k in range(1, self.bins)]
        edges: dict[str, NDArray[np.float64]] = {}
        means: dict[str, float] = {}
        for measure, column in self._columns().items():
            values = _measure(summary, column)
            means[measure] = float(values.mean())
            if measure == "recency":
                # Recency is scored on its negation so that the most recent scores highest.
                edges[measure] = -quantile_edges(-values, levels)
            else:
                edges[measure] = quantile_edges(values, levels)
        self.edges_ = edges
        self.means_ = means
        self.n_customers_ = summary.height
        return self

    def transform(self, summary: pl.DataFrame) -> pl.DataFrame:
        """Score customers against the fitted edges and means.

        Returns
        -------
        polars.DataFrame
            One row per input row, in input order: ``customer_id``; ``r_score``, ``f_score``,
            ``m_score`` (Int8, 1..bins, higher is better); ``rfm_code`` (String, e.g. "545");
            ``segment`` (Enum of `SEGMENTS` keys, null unless bins == 5); ``r_high``,
            ``f_high``, ``m_high`` (Boolean: recency below its mean, frequency and monetary
            above theirs); ``class8`` (Enum of `CLASS8` keys).
        """
        if not hasattr(self, "edges_"):
            raise NotFittedError("RFMSegmenter.transform() called before fit()")
        _check_id(summary)
        cols = self._columns()
        rec = _measure(summary, cols["recency"])
        freq = _measure(summary, cols["frequency"])
        mon = _measure(summary, cols["monetary"])
        r = score_from_edges(-rec, -self.edges_["recency"])
        f = score_from_edges(freq, self.edges_["frequency"])
        m = score_from_edges(mon, self.edges_["monetary"])
        r_high = rec < self.means_["recency"]
        f_high = freq > self.means_["frequency"]
        m_high = mon > self.means_["monetary"]
        code8 = 4 * (~m_high) + 2 * (~r_high) + (~f_high).astype(np.int64)
        return pl.DataFrame(
            {
                "customer_id": summary.get_column("customer_id"),
                "r_score": r,
                "f_score": f,
                "m_score": m,
                # Built as an integer (fast) and rendered as digits below: 545 -> "545".
                "rfm_code": r.astype(np.int32) * 100 + f.astype(np.int32) * 10 + m,
                "segment": self._segments(r, f),
                "r_high": r_high,
                "f_high": f_high,
                "m_high": m_high,
                "class8": pl.Series([c.key for c in CLASS8], dtype=CLASS8_DTYPE).gather(code8),
            }
        ).with_columns(pl.col("rfm_code").cast(pl.String))

    def fit_transform(self, summary: pl.DataFrame) -> pl.DataFrame:
        """Fit on `summary` and score it."""
        return self.fit(summary).transform(summary)

    def _segments(self, r: NDArray[np.int8], f: NDArray[np.int8]) -> pl.Series:
        keys = pl.Series([s.key for s in SEGMENTS], dtype=SEGMENT_DTYPE)
        if self.bins != 5:
            return pl.Series("segment", [None] * r.size, dtype=SEGMENT_DTYPE)
        return keys.gather(_RF_CODES[r - 1, f - 1])


def rfm_scores(
    summary: pl.DataFrame, *, bins: int = 5, monetary: str = "total_spend"
) -> pl.DataFrame:
    """Score a population against itself: ``RFMSegmenter(bins, monetary).fit_transform(summary)``.

    Parameters
    ----------
    summary : polars.DataFrame
        Customer summary with ``customer_id``, ``recency``, ``n_purchases`` and `monetary`.
    bins : int, default 5
        Score levels (2..9).
    monetary : str, default "total_spend"
        Monetary column for M and the eight-class map.

    Returns
    -------
    polars.DataFrame
        See `RFMSegmenter.transform`.
    """
    return RFMSegmenter(bins=bins, monetary=monetary).fit_transform(summary)


def rfm_segment_map() -> pl.DataFrame:
    """The segment of every one of the 125 RFM codes of 5-level scores, as a table.

    Columns: ``rfm_code`` (String), ``r_score``, ``f_score``, ``m_score`` (Int8), ``segment``
    (Enum), ``label`` (English label).
    """
    grid = (
        np.array(np.meshgrid(np.arange(1, 6), np.arange(1, 6), np.arange(1, 6), indexing="ij"))
        .reshape(3, -1)
        .astype(np.int8)
    )
    r, f, m = grid
    labels = dict(SEGMENTS)
    keys = [RF_GRID[ri - 1][fi - 1] for ri, fi in zip(r, f, strict=True)]
    return pl.DataFrame(
        {
            "rfm_code": [f"{a}{b}{c}" for a, b, c in zip(r, f, m, strict=True)],
            "r_score": r,
            "f_score": f,
            "m_score": m,
            "segment": pl.Series(keys, dtype=SEGMENT_DTYPE),
            "label": [labels[k] for k in keys],
        }
    )
