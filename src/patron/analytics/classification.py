"""Customer classification of seed 002 (客户分类): frequency tiers, value tiers, lifecycle stages.

Seed document 002 ("销售开发的客户如何管理", on managing the customers that sales developed)
classifies customers three ways: by purchase frequency (高频/中频/低频客户), by purchase amount
(高价值/中价值/低价值客户) and by lifecycle stage (潜在客户, 新客户, 忠实客户, 流失客户). Its case
study (section 五, 实施过程) names exactly these ten classes and follows up each one differently.
The ten are not a partition: every customer who has bought belongs to one class of each of the
three dimensions (a prospect only to a lifecycle class). `TEN_CLASSES` holds them as data.

Input: a customer summary (see `patron.analytics.summary.customer_summary`) with the columns
``customer_id``, ``first_purchase`` and ``last_purchase`` (Date), ``n_purchases`` (distinct
purchase days; the default frequency measure) and ``total_spend`` (the default value measure).

Tiers
-----
A tier is low, medium or high. By default the edges are rank-based terciles of the reference
population (see `patron.analytics.rfm`): a customer is in the top tier when at least two thirds
of the customers have a strictly smaller value, in the middle tier when at least one third do.
Equal values always share a tier, and a customer's tier never falls when their own value rises.
Instead of quantiles the user may set the two edges: ``(a, b)`` means low when value <= a,
medium when a < value <= b, high when value > b (``(1, 4)`` on n_purchases: one purchase is low,
two to four medium, five or more high).

Lifecycle stages
----------------
Rules in order, the first that holds wins (days counted from the dates to the explicit `as_of`):

1. ``prospect``: no purchase on or before `as_of` (listed in `customers` but not in the summary).
2. ``churned``: no purchase for more than `churn_after_days` (default 180); or, when a P(alive)
   column is named, P(alive) below `p_alive_threshold` (default 0.5: more likely gone than not)
   after a silence of more than `p_alive_min_silence_days` (default 60).

   The minimum silence is a business rule on top of the model. BG/NBD lowers P(alive) as soon
   as a customer who bought densely pauses for a few of their usual gaps: on CDNOW as of
   1997-04-30, 268 customers fell below 0.5 after 19 to 112 days of silence, 109 of them (27
   Champions) within 60 days; on the demo, Champions who had bought 10 days before. A churned customer gets no churn
   warning (those are for customers still to be kept), and a sales team does not call a
   customer who bought this quarter lost. 60 days is two of the 30-day periods churn warnings
   are raised in, two thirds of the 90-day horizon of the churn risk, and about the 75th
   percentile of the gaps between CDNOW's purchase days (61 days as of 1997-09-30): most repeat
   buyers' usual gap fits inside it, and a customer the model doubts after it has already had
   the time for a warning.
3. ``new``: first purchase at most `new_within_days` ago (default 90) and at most
   `new_max_purchases` purchases (default 2).
4. ``loyal``: a repeat buyer (at least `loyal_min_purchases` purchases, default 2) who is not
   churned (see rule 2).
5. ``occasional``: everyone else, i.e. fewer than `loyal_min_purchases` purchases, past the new
   window and not churned (with the defaults: one purchase between 91 and 180 days ago). The
   seed's four stages leave this group out; it is not one of the ten classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple, Self

import numpy as np
import polars as pl
from numpy.typing import NDArray

from patron.analytics.errors import InputError, InsufficientDataError, NotFittedError
from patron.analytics.rfm import quantile_edges, score_from_edges

__all__ = [
    "LIFECYCLE_STAGES",
    "RULES",
    "TEN_CLASSES",
    "CustomerClass",
    "CustomerClassifier",
    "LifecycleRules",
    "classify_customers",
    "lifecycle_reason",
    "lifecycle_stage",
]

TIERS = ("low", "medium", "high")
TIER_DTYPE = pl.Enum(list(TIERS))


class CustomerClass(NamedTuple):
    """One of the ten classes of seed 002: stable key, Chinese name, dimension and level."""

    key: str
    name_zh: str
    dimension: str  # "frequency", "value" or "lifecycle"
    level: str  # a tier ("high", "medium", "low") or a lifecycle stage key


# The ten classes of the seed's case study, in its order (section 五, 2、实施过程).
TEN_CLASSES: tuple[CustomerClass, ...] = (
    CustomerClass("high_frequency", "高频客户", "frequency", "high"),
    CustomerClass("medium_frequency", "中频客户", "frequency", "medium"),
    CustomerClass("low_frequency", "低频客户", "frequency", "low"),
    CustomerClass("high_value", "高价值客户", "value", "high"),
    CustomerClass("medium_value", "中价值客户", "value", "medium"),
    CustomerClass("low_value", "低价值客户", "value", "low"),
    CustomerClass("prospect", "潜在客户", "lifecycle", "prospect"),
    CustomerClass("new", "新客户", "lifecycle", "new"),
    CustomerClass("loyal", "忠实客户", "lifecycle", "loyal"),
    CustomerClass("churned", "流失客户", "lifecycle", "churned"),
)

# Lifecycle stages: the seed's four plus the "occasional" catch-all (our addition, see above).
LIFECYCLE_STAGES: tuple[tuple[str, str], ...] = (
    ("prospect", "潜在客户"),
    ("new", "新客户"),
    ("loyal", "忠实客户"),
    ("occasional", "偶购客户"),
    ("churned", "流失客户"),
)
LIFECYCLE_DTYPE = pl.Enum([key for key, _ in LIFECYCLE_STAGES])


def _class_lists() -> pl.Series:
    """The ten-class keys of every (frequency tier, value tier, stage), null tiers last."""
    lists = []
    for freq in (*TIERS, None):
        for value in (*TIERS, None):
            for stage, _ in LIFECYCLE_STAGES:
                keys = [f"{freq}_frequency"] if freq else []
                keys += [f"{value}_value"] if value else []
                keys += [stage] if stage != "occasional" else []
                lists.append(keys)
    return pl.Series("classes", lists, dtype=pl.List(pl.String))


_CLASS_LISTS = _class_lists()


def _days_since(column: str, as_of: date) -> pl.Expr:
    return (pl.lit(as_of, dtype=pl.Date) - pl.col(column).cast(pl.Date)).dt.total_days()


def _check_dates(summary: pl.DataFrame, as_of: date) -> None:
    for column in ("first_purchase", "last_purchase"):
        if column not in summary.columns:
            raise InputError("the summary has no such column", column=column)
        dates = summary.get_column(column).cast(pl.Date)
        bad = (dates.is_null() | (dates > as_of)).arg_true()
        if bad.len():
            raise InputError(
                f"missing, or after as_of {as_of.isoformat()}", row=int(bad[0]) + 1, column=column
            )


def _p_alive(summary: pl.DataFrame, column: str) -> pl.Series:
    if column not in summary.columns:
        raise InputError("the summary has no such column", column=column)
    p = summary.get_column(column).cast(pl.Float64)
    bad = (p.is_null() | p.is_nan() | (p < 0) | (p > 1)).arg_true()
    if bad.len():
        raise InputError("P(alive) must be a probability", row=int(bad[0]) + 1, column=column)
    return p


class LifecycleRules(NamedTuple):
    """The thresholds of the lifecycle rules (the defaults of `lifecycle_stage` and of
    `CustomerClassifier`), to say afterwards which rule placed a customer."""

    new_within_days: int = 90
    new_max_purchases: int = 2
    loyal_min_purchases: int = 2
    churn_after_days: int = 180
    p_alive_threshold: float = 0.5
    # P(alive) below the threshold calls a customer churned only after this silence (days).
    p_alive_min_silence_days: int = 60


# The defaults of `lifecycle_stage` and `CustomerClassifier`, named once.
RULES = LifecycleRules()


def lifecycle_reason(
    stage: str,
    *,
    days_since_last: float | None,
    p_alive: float | None,
    rules: LifecycleRules | None = None,
) -> str:
    """Which rule of `lifecycle_stage` placed a customer in `stage`, from what a snapshot keeps.

    ``"no_purchase"`` (prospect), ``"long_silence"`` (churned: no purchase for more than
    ``churn_after_days``), ``"unlikely_active"`` (churned by P(alive) alone: a silence of more
    than ``p_alive_min_silence_days`` that is long for how often the customer used to buy, while
    still within ``churn_after_days``),
    ``"recent_first"`` (new), ``"repeat_buyer"`` (loyal), ``"one_purchase"`` (occasional);
    "" when the figures given do not meet the stage's rule (scored under other rules).
    `rules`: the thresholds it was classified with (the defaults when None).
    """
    rules = rules or RULES
    if stage == "churned":
        if days_since_last is not None and days_since_last > rules.churn_after_days:
            return "long_silence"
        if (p_alive is not None and p_alive < rules.p_alive_threshold
                and (days_since_last is None or days_since_last > rules.p_alive_min_silence_days)):
            return "unlikely_active"
        return ""
    return {"prospect": "no_purchase", "new": "recent_first", "loyal": "repeat_buyer",
            "occasional": "one_purchase"}.get(stage, "")


def lifecycle_stage(
    summary: pl.DataFrame,
    *,
    as_of: date,
    customers: pl.Series | Sequence[object] | None = None,
    new_within_days: int = RULES.new_within_days,
    new_max_purchases: int = RULES.new_max_purchases,
    loyal_min_purchases: int = RULES.loyal_min_purchases,
    churn_after_days: int = RULES.churn_after_days,
    p_alive_col: str | None = None,
    p_alive_threshold: float = RULES.p_alive_threshold,
    p_alive_min_silence_days: int = RULES.p_alive_min_silence_days,
) -> pl.DataFrame:
    """Lifecycle stage of each customer by the rules of the module docstring.

    Parameters
    ----------
    summary : polars.DataFrame
        ``customer_id``, ``first_purchase``, ``last_purchase``, ``n_purchases`` (and the
        P(alive) column when `p_alive_col` is given). Dates after `as_of` are an error.
    as_of : datetime.date
        The date the stages describe.
    customers : sequence or polars.Series, optional
        Every customer id to classify; those absent from the summary are prospects.
    new_within_days, new_max_purchases, loyal_min_purchases, churn_after_days : int
        Thresholds of the rules (defaults 90, 2, 2, 180).
    p_alive_col : str, optional
        Column of P(alive) (e.g. from a BG/NBD model); churned below `p_alive_threshold`
        once silent for more than `p_alive_min_silence_days` (default 60).

    Returns
    -------
    polars.DataFrame
        ``customer_id`` and ``lifecycle`` (Enum of `LIFECYCLE_STAGES` keys): the summary's rows
        in order, then the prospects in the order of `customers`.
    """
    if "customer_id" not in summary.columns:
        raise InputError("the summary has no such column", column="customer_id")
    _values(summary, "n_purchases")  # present, no nulls: a null count would fall through
    _check_dates(summary, as_of)
    silence = _days_since("last_purchase", as_of)
    churned = silence > churn_after_days
    if p_alive_col is not None:
        churned = churned | ((_p_alive(summary, p_alive_col) < p_alive_threshold)
                             & (silence > p_alive_min_silence_days))
    n = pl.col("n_purchases")
    stage = (
        pl.when(churned)
        .then(pl.lit("churned"))
        .when((_days_since("first_purchase", as_of) <= new_within_days) & (n <= new_max_purchases))
        .then(pl.lit("new"))
        .when(n >= loyal_min_purchases)
        .then(pl.lit("loyal"))
        .otherwise(pl.lit("occasional"))
        .cast(LIFECYCLE_DTYPE)
    )
    stages = summary.select("customer_id", stage.alias("lifecycle"))
    prospects = _prospects(summary, customers)
    if prospects.len() == 0:
        return stages
    extra = pl.DataFrame({"customer_id": prospects}).with_columns(
        pl.lit("prospect", dtype=LIFECYCLE_DTYPE).alias("lifecycle")
    )
    return pl.concat([stages, extra], how="vertical_relaxed")


def _prospects(summary: pl.DataFrame, customers: pl.Series | Sequence[object] | None) -> pl.Series:
    """The ids of `customers` that have no row in the summary, in their given order."""
    ids = summary.get_column("customer_id")
    if customers is None:
        return ids.clear()
    everyone = pl.Series("customer_id", customers)
    if everyone.dtype != ids.dtype and ids.len():
        try:
            everyone = everyone.cast(ids.dtype)
        except pl.exceptions.PolarsError as err:
            raise InputError(
                f"customer ids are {everyone.dtype} but the summary's are {ids.dtype}",
                column="customer_id",
            ) from err
    return everyone.filter(~everyone.is_in(ids.implode())).unique(maintain_order=True)


def _values(summary: pl.DataFrame, column: str) -> NDArray[np.float64]:
    if column not in summary.columns:
        raise InputError("the summary has no such column", column=column)
    values = summary.get_column(column).cast(pl.Float64)
    bad = (values.is_null() | values.is_nan() | values.is_infinite()).arg_true()
    if bad.len():
        raise InputError("values must be finite numbers", row=int(bad[0]) + 1, column=column)
    return values.to_numpy()


def _edges(
    thresholds: tuple[float, float] | None,
    values: NDArray[np.float64],
    quantiles: tuple[float, float],
    name: str,
) -> NDArray[np.float64]:
    if thresholds is not None:
        low, high = thresholds
        if not low <= high:
            raise InputError(f"{name} thresholds must be ordered (low edge <= high edge)")
        return np.array([low, high], dtype=np.float64)
    return quantile_edges(values, quantiles)


class CustomerClassifier:
    """Frequency tier, value tier and lifecycle stage of seed 002, and the ten classes.

    `fit` learns the tier edges on a reference population (or takes the thresholds set by the
    user); `transform` classifies any customers against them, so tiers stay stable between
    refreshes and a single customer can be classified. The rules are in the module docstring.

    Parameters
    ----------
    frequency_col : str, default "n_purchases"
        Frequency measure (purchase days). Any non-negative summary column may be used.
    value_col : str, default "total_spend"
        Value measure (购买金额: total spend).
    quantiles : tuple of two floats, default (1/3, 2/3)
        Quantile levels of the low/medium and medium/high edges (terciles).
    frequency_thresholds, value_thresholds : tuple of two floats, optional
        User-set edges ``(a, b)``: low <= a < medium <= b < high. They override `quantiles`.
    new_within_days, new_max_purchases, loyal_min_purchases, churn_after_days, p_alive_col,
    p_alive_threshold, p_alive_min_silence_days
        Lifecycle rules, see `lifecycle_stage`.

    Attributes
    ----------
    frequency_edges_, value_edges_ : numpy.ndarray
        The two edges of each tiering (the upper bounds of the low and medium tiers).
    n_customers_ : int
        Size of the reference population.
    """

    def __init__(
        self,
        frequency_col: str = "n_purchases",
        value_col: str = "total_spend",
        quantiles: tuple[float, float] = (1 / 3, 2 / 3),
        frequency_thresholds: tuple[float, float] | None = None,
        value_thresholds: tuple[float, float] | None = None,
        new_within_days: int = RULES.new_within_days,
        new_max_purchases: int = RULES.new_max_purchases,
        loyal_min_purchases: int = RULES.loyal_min_purchases,
        churn_after_days: int = RULES.churn_after_days,
        p_alive_col: str | None = None,
        p_alive_threshold: float = RULES.p_alive_threshold,
        p_alive_min_silence_days: int = RULES.p_alive_min_silence_days,
    ) -> None:
        self.frequency_col = frequency_col
        self.value_col = value_col
        self.quantiles = quantiles
        self.frequency_thresholds = frequency_thresholds
        self.value_thresholds = value_thresholds
        self.new_within_days = new_within_days
        self.new_max_purchases = new_max_purchases
        self.loyal_min_purchases = loyal_min_purchases
        self.churn_after_days = churn_after_days
        self.p_alive_col = p_alive_col
        self.p_alive_threshold = p_alive_threshold
        self.p_alive_min_silence_days = p_alive_min_silence_days

    def fit(self, summary: pl.DataFrame) -> Self:
        """Learn the tier edges (unless both are set by the user)."""
        q_low, q_high = self.quantiles
        if not 0 < q_low <= q_high < 1:
            raise InputError(f"quantiles must satisfy 0 < low <= high < 1, got {self.quantiles}")
        learns = self.frequency_thresholds is None or self.value_thresholds is None
        if learns and summary.height == 0:
            raise InsufficientDataError("no customers to learn tier edges from")
        freq = _values(summary, self.frequency_col)
        value = _values(summary, self.value_col)
        self.frequency_edges_ = _edges(self.frequency_thresholds, freq, self.quantiles, "frequency")
        self.value_edges_ = _edges(self.value_thresholds, value, self.quantiles, "value")
        self.n_customers_ = summary.height
        return self

    def transform(
        self,
        summary: pl.DataFrame,
        *,
        as_of: date,
        customers: pl.Series | Sequence[object] | None = None,
    ) -> pl.DataFrame:
        """Classify customers.

        Returns
        -------
        polars.DataFrame
            ``customer_id``; ``frequency_tier`` and ``value_tier`` (Enum low/medium/high, null
            for prospects); ``lifecycle`` (Enum of `LIFECYCLE_STAGES`); ``classes`` (List of
            the `TEN_CLASSES` keys the customer belongs to, e.g. ["high_frequency",
            "low_value", "loyal"]). Summary rows in order, then the prospects.
        """
        if not hasattr(self, "frequency_edges_"):
            raise NotFittedError("CustomerClassifier.transform() called before fit()")
        stages = lifecycle_stage(
            summary,
            as_of=as_of,
            customers=customers,
            new_within_days=self.new_within_days,
            new_max_purchases=self.new_max_purchases,
            loyal_min_purchases=self.loyal_min_purchases,
            churn_after_days=self.churn_after_days,
            p_alive_col=self.p_alive_col,
            p_alive_threshold=self.p_alive_threshold,
            # A classifier pickled by a refresh before this rule existed (the current run's
            # fitted models, used by triggered rescores) has no such attribute: today's default.
            p_alive_min_silence_days=getattr(self, "p_alive_min_silence_days", RULES.p_alive_min_silence_days),
        )
        tiers = pl.Series(list(TIERS), dtype=TIER_DTYPE)
        freq = score_from_edges(_values(summary, self.frequency_col), self.frequency_edges_) - 1
        value = score_from_edges(_values(summary, self.value_col), self.value_edges_) - 1
        tiered = pl.DataFrame(
            {"frequency_tier": tiers.gather(freq), "value_tier": tiers.gather(value)}
        )
        out = pl.concat(
            [
                stages,
                tiered.extend(
                    pl.DataFrame(
                        {
                            "frequency_tier": [None] * (stages.height - summary.height),
                            "value_tier": [None] * (stages.height - summary.height),
                        },
                        schema=tiered.schema,
                    )
                ),
            ],
            how="horizontal",
        )
        # Few combinations exist (4 x 4 x 5 with null tiers): look the list up by a combined
        # code rather than building a million small lists string by string.
        n_stages = len(LIFECYCLE_STAGES)
        code = (
            pl.col("frequency_tier").to_physical().fill_null(len(TIERS)).cast(pl.Int64)
            * (len(TIERS) + 1)
            + pl.col("value_tier").to_physical().fill_null(len(TIERS)).cast(pl.Int64)
        ) * n_stages + pl.col("lifecycle").to_physical().cast(pl.Int64)
        classes = _CLASS_LISTS.gather(out.select(code).to_series())
        return out.select("customer_id", "frequency_tier", "value_tier", "lifecycle").with_columns(
            classes.alias("classes")
        )

    def fit_transform(
        self,
        summary: pl.DataFrame,
        *,
        as_of: date,
        customers: pl.Series | Sequence[object] | None = None,
    ) -> pl.DataFrame:
        """Fit on `summary` and classify it (plus the prospects among `customers`)."""
        return self.fit(summary).transform(summary, as_of=as_of, customers=customers)


def classify_customers(
    summary: pl.DataFrame,
    *,
    as_of: date,
    customers: pl.Series | Sequence[object] | None = None,
    **params: object,
) -> pl.DataFrame:
    """Classify a population against its own tiers: ``CustomerClassifier(**params)``.

    See `CustomerClassifier.transform` for the columns returned.
    """
    return CustomerClassifier(**params).fit_transform(  # type: ignore[arg-type]
        summary, as_of=as_of, customers=customers
    )
