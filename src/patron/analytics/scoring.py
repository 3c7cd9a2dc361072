"""Opportunity scoring: a transparent priority score and a win probability learnt from history.

Two complementary tools for a sales pipeline (商机):

- `OpportunityPriorityScorer`, the opportunity priority score of the seed document on prospect
  development (商机优先级评分机制): four 0-100 parts, purchase intent (购买意向评分), customer
  value (客户价值评分), competitive position (竞争态势评分) and risk (风险评估), each the sum of
  the points of named signals, and a weighted total. Every point is explained.
- `WinProbabilityModel`, a regularised logistic regression over one-hot field values (numbers cut
  into quantile bins) learnt from closed deals, with the baseline `NaiveBayesWinModel`. Both split
  each prediction into per-field contributions in log-odds.

References: Hosmer, Lemeshow & Sturdivant (2013), "Applied Logistic Regression", 3rd ed., Wiley
(the model, ch. 1-4); Domingos & Pazzani (1997), "On the optimality of the simple Bayesian
classifier under zero-one loss", Machine Learning 29, 103-130 (naive Bayes as a baseline: good at
ranking, over-confident when fields are correlated).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Self

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from patron.analytics.errors import InputError, InsufficientDataError, NotFittedError

Array = NDArray[np.float64]
PARTS = ("intent", "value", "competition", "risk")
DEFAULT_WEIGHTS: Mapping[str, float] = {"intent": 0.35, "value": 0.25, "competition": 0.2,
                                        "risk": 0.2}

# Input columns of the priority score: name -> kind. Kinds: "probability" in [0, 1]; "count" and
# "days" >= 0; "signed_days" any number; "flag" boolean (or 0/1).
PRIORITY_INPUTS: Mapping[str, str] = {
    "stage_probability": "probability",
    "recent_interactions": "count",
    "recent_visits": "count",
    "inbound_request": "flag",
    "days_since_last_purchase": "days",
    "customer_value": "count",
    "amount": "count",
    "customer_purchases": "count",
    "customer_tenure_days": "days",
    "competitor_present": "flag",
    "incumbent": "flag",
    "discount_requested": "probability",
    "decision_maker_engaged": "flag",
    "days_to_close": "signed_days",
    "days_in_stage": "days",
    "stage_expected_days": "days",
    "days_since_last_interaction": "days",
    "credit_risk": "probability",
    "customer_churn_risk": "probability",
}


def _saturating(v: Array, half: float) -> Array:
    """0 at 0, one half at `half`, tending to 1: diminishing returns of repeated evidence."""
    return 1.0 - 0.5 ** (np.nan_to_num(v) / half)


def _linear(v: Array, full: float) -> Array:
    return np.clip(np.nan_to_num(v) / full, 0.0, 1.0)


def _log_scaled(v: Array, reference: float) -> Array:
    """Money on a log scale, full at `reference`: 10x the spend is a fixed step, not 10x points."""
    return np.clip(np.log1p(np.nan_to_num(v)) / np.log1p(reference), 0.0, 1.0)


def _unknown_is_half(fraction: Array, v: Array) -> Array:
    return np.where(np.isnan(v), 0.5, fraction)


@dataclass(frozen=True)
class Signal:
    """One named signal of the priority score.

    `fraction(values, refs)` maps the input columns (float arrays, NaN = unknown) to the share in
    [0, 1] of `max_points` the signal earns; `reference` names the scale it is measured against.
    """

    key: str
    column: str
    max_points: float
    fraction: Callable[[Mapping[str, Array], Mapping[str, float]], Array]
    reference: str | None = None

    @property
    def part(self) -> str:
        return self.key.split(".", 1)[0]


SIGNALS: tuple[Signal, ...] = (
    # Purchase intent: how far the deal has come, how engaged the customer is now, and their
    # purchase and browsing history (seed 000, section 2).
    Signal("intent.stage_probability", "stage_probability", 40,
           lambda v, r: np.nan_to_num(v["stage_probability"])),
    Signal("intent.recent_interactions", "recent_interactions", 25,
           lambda v, r: _saturating(v["recent_interactions"], 2.0)),
    Signal("intent.recent_visits", "recent_visits", 15,
           lambda v, r: _saturating(v["recent_visits"], 3.0)),
    Signal("intent.inbound_request", "inbound_request", 10,
           lambda v, r: np.nan_to_num(v["inbound_request"])),
    Signal("intent.recent_purchase", "days_since_last_purchase", 10,
           lambda v, r: np.nan_to_num(0.5 ** (v["days_since_last_purchase"] / 180.0))),
    # Customer value: spending power, frequency and loyalty.
    Signal("value.customer_value", "customer_value", 40,
           lambda v, r: _log_scaled(v["customer_value"], r["customer_value"]),
           reference="customer_value"),
    Signal("value.amount", "amount", 30,
           lambda v, r: _log_scaled(v["amount"], r["amount"]), reference="amount"),
    Signal("value.purchase_frequency", "customer_purchases", 15,
           lambda v, r: _saturating(v["customer_purchases"], 3.0)),
    Signal("value.loyalty", "customer_tenure_days", 15,
           lambda v, r: _linear(v["customer_tenure_days"], 3 * 365.0)),
    # Competitive position: how likely the customer is to choose us over a rival.
    Signal("competition.no_competitor", "competitor_present", 40,
           lambda v, r: _unknown_is_half(1.0 - v["competitor_present"], v["competitor_present"])),
    Signal("competition.incumbent", "incumbent", 20,
           lambda v, r: np.nan_to_num(v["incumbent"])),
    Signal("competition.price_position", "discount_requested", 25,
           lambda v, r: _unknown_is_half(1.0 - _linear(v["discount_requested"], 0.3),
                                         v["discount_requested"])),
    Signal("competition.decision_maker", "decision_maker_engaged", 15,
           lambda v, r: np.nan_to_num(v["decision_maker_engaged"])),
    # Risk (higher = riskier): slipping dates, stalls, silence, credit and churn risk.
    Signal("risk.overdue", "days_to_close", 25,
           lambda v, r: _linear(-v["days_to_close"], 30.0)),
    Signal("risk.stalled", "days_in_stage", 25,
           lambda v, r: np.clip(np.nan_to_num(v["days_in_stage"] / v["stage_expected_days"]) - 1.0,
                                0.0, 1.0),
           reference="stage_expected_days"),
    Signal("risk.silence", "days_since_last_interaction", 15,
           lambda v, r: np.clip((np.nan_to_num(v["days_since_last_interaction"]) - 14.0) / 46.0,
                                0.0, 1.0)),
    Signal("risk.credit", "credit_risk", 20, lambda v, r: np.nan_to_num(v["credit_risk"])),
    Signal("risk.customer_churn", "customer_churn_risk", 15,
           lambda v, r: np.nan_to_num(v["customer_churn_risk"])),
)


def _column_values(frame: pl.DataFrame, column: str, kind: str) -> Array:
    """One input column as float64 (NaN for null), checked against its kind."""
    if column not in frame.columns:
        return np.full(frame.height, np.nan)
    series = frame.get_column(column)
    if not (series.dtype.is_numeric() or series.dtype == pl.Boolean or series.dtype == pl.Null):
        raise InputError(f"expected numbers or booleans, got {series.dtype}", column=column)
    values = series.cast(pl.Float64).to_numpy().astype(np.float64)
    known = ~np.isnan(values)
    if kind == "flag":
        bad = known & ~np.isin(values, (0.0, 1.0))
    elif kind == "probability":
        bad = known & ((values < 0.0) | (values > 1.0))
    elif kind in ("count", "days"):
        bad = known & (values < 0.0)
    else:
        bad = np.zeros(values.size, dtype=bool)
    bad |= np.isinf(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"value {values[row]} is not a valid {kind}", row=row + 1, column=column)
    return values


class OpportunityPriorityScorer:
    """Transparent priority score of open opportunities on four 0-100 parts.

    The parts follow the seed document on prospect development (商机优先级评分机制): purchase
    intent, customer value, competitive position, risk. Each part is the sum of the points of its
    signals (`SIGNALS`; each part's signals add up to 100 points at most). The total is
    ``w_intent*intent + w_value*value + w_competition*competition + w_risk*(100 - risk)`` with the
    weights normalised to sum to 1, so it also lies in 0-100 and more risk lowers it.

    Input columns (all optional; a missing column or a null counts as no evidence and earns 0
    points, except `competitor_present` and `discount_requested` where unknown earns half):

    ==============================  ============================================================
    stage_probability               win probability of the pipeline stage, [0, 1]
    recent_interactions             interactions with the customer in the last 30 days
    recent_visits                   browsing: site, catalogue or e-mail clicks in the last 30 days
    inbound_request                 the customer asked for a quote, demo or trial (bool)
    days_since_last_purchase        days since the customer's last order
    customer_value                  customer's lifetime value forecast (or total spend)
    amount                          deal amount
    customer_purchases              number of past orders of the customer
    customer_tenure_days            days since the customer's first order
    competitor_present              a rival is bidding (bool)
    incumbent                       we already supply this customer (bool)
    discount_requested              discount asked, as a share of list price, [0, 1]
    decision_maker_engaged          the decision maker is in the conversation (bool)
    days_to_close                   days from as_of to the expected close date (< 0: overdue)
    days_in_stage                   days the deal has spent in its current stage
    stage_expected_days             usual days in that stage (default `expected_days_in_stage`)
    days_since_last_interaction     days since the last interaction
    credit_risk                     credit risk of the customer, [0, 1] (e.g. share paid late)
    customer_churn_risk             churn risk of the customer, [0, 1] (`ChurnRiskModel`)
    ==============================  ============================================================

    Parameters
    ----------
    weights
        Weight of each part ("intent", "value", "competition", "risk"); non-negative.
    value_reference, amount_reference
        Customer value and deal amount that earn full points (log scale). None: learnt by
        `fit` as the `reference_quantile` of the positive values.
    reference_quantile
        Quantile used for the learnt references.
    expected_days_in_stage
        Usual days in a stage when the frame has no `stage_expected_days`.
    id_col
        Column copied to the output when present.

    Attributes
    ----------
    references_ : dict[str, float]
        The `customer_value` and `amount` scales used.
    weights_ : dict[str, float]
        The normalised weights.
    """

    def __init__(
        self,
        weights: Mapping[str, float] | None = None,
        value_reference: float | None = None,
        amount_reference: float | None = None,
        reference_quantile: float = 0.9,
        expected_days_in_stage: float = 30.0,
        id_col: str = "opportunity_id",
    ) -> None:
        self.weights = weights
        self.value_reference = value_reference
        self.amount_reference = amount_reference
        self.reference_quantile = reference_quantile
        self.expected_days_in_stage = expected_days_in_stage
        self.id_col = id_col

    def fit(self, opportunities: pl.DataFrame) -> Self:
        """Fix the weights and learn the money scales from a frame of opportunities."""
        weights = dict(DEFAULT_WEIGHTS if self.weights is None else self.weights)
        if set(weights) != set(PARTS):
            raise InputError(f"weights must name exactly the parts {PARTS}, got {sorted(weights)}")
        if any(not np.isfinite(w) or w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise InputError("weights must be non-negative numbers with a positive sum")
        if not 0.0 < self.reference_quantile <= 1.0:
            raise InputError(f"reference_quantile must lie in (0, 1]: {self.reference_quantile}")
        self.weights_ = {part: weights[part] / sum(weights.values()) for part in PARTS}
        self.references_ = {
            "customer_value": self._reference(opportunities, "customer_value",
                                              self.value_reference),
            "amount": self._reference(opportunities, "amount", self.amount_reference),
        }
        return self

    def _reference(self, frame: pl.DataFrame, column: str, given: float | None) -> float:
        if given is not None:
            if not given > 0:
                raise InputError(f"the {column} reference must be positive, got {given}")
            return float(given)
        values = _column_values(frame, column, PRIORITY_INPUTS[column])
        positive = values[values > 0]
        if positive.size == 0:
            raise InsufficientDataError(
                f"no positive {column!r} to learn its scale from: pass it as a parameter"
            )
        return float(max(np.quantile(positive, self.reference_quantile), 1.0))

    def score(self, opportunities: pl.DataFrame) -> pl.DataFrame:
        """Score each opportunity.

        Returns
        -------
        polars.DataFrame
            One row per input row, in order: `id_col` (when present), `intent_score`,
            `value_score`, `competition_score`, `risk_score`, `priority_score` (Float64, 0-100)
            and `explanation`, a list of structs, largest effect on the total first, one per
            signal that earned points: `key` (e.g. "intent.recent_interactions"), `part`,
            `value` (the input, null when unknown), `points` (in its part), `max_points`,
            `contribution` (points in the total: weight * points, negative for risk) and
            `reference` (the scale compared against, e.g. the expected days in stage, or null).
            priority_score = 100 * weights_["risk"] + the sum of the contributions.
        """
        if not hasattr(self, "weights_"):
            raise NotFittedError("call fit() before score()")
        values = {c: _column_values(opportunities, c, k) for c, k in PRIORITY_INPUTS.items()}
        expected = values["stage_expected_days"]
        values["stage_expected_days"] = np.where(
            np.isnan(expected) | (expected <= 0), self.expected_days_in_stage, expected
        )
        points = {s.key: s.max_points * s.fraction(values, self.references_) for s in SIGNALS}
        parts = {
            part: sum((points[s.key] for s in SIGNALS if s.part == part),
                      np.zeros(opportunities.height))
            for part in PARTS
        }
        total = sum(self.weights_[p] * (100.0 - parts[p] if p == "risk" else parts[p])
                    for p in PARTS)
        result = pl.DataFrame({f"{p}_score": parts[p] for p in PARTS}).with_columns(
            pl.Series("priority_score", total, dtype=pl.Float64)
        )
        result = result.with_columns(self._explanation(values, points))
        if self.id_col in opportunities.columns:
            result = result.with_columns(opportunities.get_column(self.id_col)).select(
                self.id_col, pl.exclude(self.id_col))
        return result

    def _explanation(self, values: Mapping[str, Array], points: Mapping[str, Array]) -> pl.Series:
        n = len(next(iter(points.values())))
        pieces = []
        for s in SIGNALS:
            weight = self.weights_[s.part] * (-1.0 if s.part == "risk" else 1.0)
            if s.reference in self.references_:
                reference = np.full(n, self.references_[s.reference])
            else:
                reference = values[s.reference] if s.reference else np.full(n, np.nan)
            pieces.append(pl.DataFrame({
                "row": np.arange(n), "key": [s.key] * n, "part": [s.part] * n,
                "value": values[s.column], "points": points[s.key],
                "max_points": np.full(n, float(s.max_points)),
                "contribution": weight * points[s.key], "reference": reference,
            }, schema_overrides={"row": pl.Int64}))
        long = (pl.concat(pieces).with_columns(pl.col("value", "reference").fill_nan(None))
                .filter(pl.col("points") > 1e-9)
                .sort(["row", pl.col("contribution").abs(), "key"],
                      descending=[False, True, False]))
        fields = ["key", "part", "value", "points", "max_points", "contribution", "reference"]
        grouped = long.group_by("row").agg(pl.struct(fields).alias("explanation"))
        rows = pl.DataFrame({"row": np.arange(n)}, schema={"row": pl.Int64})
        return rows.join(grouped, on="row", how="left").sort("row").get_column("explanation")


# ---------------------------------------------------------------------------------------------
# Win probability learnt from closed deals
# ---------------------------------------------------------------------------------------------

MISSING, OTHER = "(missing)", "(other)"


class _FieldEncoder:
    """Maps each field of a deal frame to a level code: numbers to quantile bins, text to levels.

    Numeric fields are cut at the quantiles of their training values (`n_bins` bins, fewer when
    values repeat) plus a level for nulls; categorical and boolean fields keep the levels seen at
    least `min_count` times, pool the rest (and any level unseen in training) into "(other)", and
    give nulls their own level. Binning lets the linear model follow non-linear effects (a deal
    size that helps up to a point) while each prediction still splits field by field.
    """

    def __init__(self, n_bins: int, min_count: int) -> None:
        self.n_bins = n_bins
        self.min_count = min_count

    def fit(self, frame: pl.DataFrame, fields: Sequence[str]) -> Self:
        self.fields = list(fields)
        self.edges: dict[str, Array] = {}
        self.levels: dict[str, list[str]] = {}
        for field in self.fields:
            series = frame.get_column(field)
            if series.dtype.is_numeric():
                values = series.cast(pl.Float64).drop_nulls().drop_nans().to_numpy()
                cuts = np.linspace(0.0, 1.0, self.n_bins + 1)[1:-1]
                edges = np.unique(np.quantile(values, cuts)) if values.size else np.array([])
                self.edges[field] = edges
                bounds = [-np.inf, *edges.tolist(), np.inf]
                self.levels[field] = [*(f"[{lo:g}, {hi:g})" for lo, hi in pairwise(bounds)),
                                      MISSING]
            else:
                counts = self._as_text(series).value_counts()
                kept = counts.filter(pl.col("count") >= self.min_count).get_column(field)
                self.levels[field] = [*sorted(set(kept.to_list()) - {MISSING, OTHER}), MISSING,
                                      OTHER]
        return self

    @staticmethod
    def _as_text(series: pl.Series) -> pl.Series:
        return series.cast(pl.String).fill_null(MISSING)

    def transform(self, frame: pl.DataFrame) -> NDArray[np.int64]:
        """Level codes, one column per field."""
        missing = [f for f in self.fields if f not in frame.columns]
        if missing:
            raise InputError(f"missing deal fields {missing}", column=missing[0])
        codes = np.empty((frame.height, len(self.fields)), dtype=np.int64)
        for j, field in enumerate(self.fields):
            series = frame.get_column(field)
            if field in self.edges:
                if not (series.dtype.is_numeric() or series.dtype == pl.Null):
                    raise InputError(f"expected numbers, got {series.dtype}", column=field)
                values = series.cast(pl.Float64).to_numpy().astype(np.float64)
                binned = np.searchsorted(self.edges[field], values, side="right")
                codes[:, j] = np.where(np.isnan(values), len(self.levels[field]) - 1, binned)
            else:
                index = {level: i for i, level in enumerate(self.levels[field])}
                other = index[OTHER]
                codes[:, j] = [index.get(v, other) for v in self._as_text(series).to_list()]
        return codes

    def one_hot(self, codes: NDArray[np.int64]) -> Array:
        offsets = np.cumsum([0] + [len(self.levels[f]) for f in self.fields])
        design = np.zeros((codes.shape[0], offsets[-1]))
        for j in range(len(self.fields)):
            design[np.arange(codes.shape[0]), offsets[j] + codes[:, j]] = 1.0
        return design


def _outcome(frame: pl.DataFrame, won_col: str) -> NDArray[np.int64]:
    if won_col not in frame.columns:
        raise InputError("the outcome column is missing", column=won_col)
    won = frame.get_column(won_col)
    if won.null_count():
        row = int(np.flatnonzero(won.is_null().to_numpy())[0])
        raise InputError("the outcome is unknown: use closed deals only", row=row + 1,
                         column=won_col)
    y = won.cast(pl.Float64).to_numpy()
    bad = np.flatnonzero(~np.isin(y, (0.0, 1.0)))
    if bad.size:
        raise InputError("the outcome must be won (1/true) or lost (0/false)",
                         row=int(bad[0]) + 1, column=won_col)
    if y.min() == y.max():
        raise InsufficientDataError("need both won and lost deals to learn a win probability")
    return y.astype(np.int64)


class _FieldModel:
    """What the two win models share: field selection, encoding, explanation."""

    features: Sequence[str] | None
    n_bins: int
    min_count: int
    base_logit_: float

    def _encode_fit(self, frame: pl.DataFrame, won_col: str) -> tuple[NDArray[np.int64],
                                                                      NDArray[np.int64]]:
        y = _outcome(frame, won_col)
        fields = [c for c in frame.columns if c != won_col] if self.features is None else list(
            self.features)
        if not fields:
            raise InsufficientDataError("no deal fields to learn from")
        self.encoder_ = _FieldEncoder(self.n_bins, self.min_count).fit(frame, fields)
        return self.encoder_.transform(frame), y

    def _field_log_odds(self, codes: NDArray[np.int64]) -> Array:
        raise NotImplementedError

    def contributions(self, deals: pl.DataFrame) -> pl.DataFrame:
        """Per-field log-odds contributions: `base_logit` + the sum of the fields = logit(P(won)).

        Returns one Float64 column per field plus `base_logit` (the same on every row).
        """
        if not hasattr(self, "encoder_"):
            raise NotFittedError("call fit() before predicting")
        parts = self._field_log_odds(self.encoder_.transform(deals))
        frame = pl.DataFrame(parts, schema=self.encoder_.fields, orient="row")
        return frame.with_columns(pl.lit(self.base_logit_, dtype=pl.Float64).alias("base_logit"))

    def predict_proba(self, deals: pl.DataFrame) -> Array:
        """P(won) per deal (a 1-d array, unlike scikit-learn's two-column predict_proba)."""
        contributions = self.contributions(deals)
        logit = contributions.select(pl.sum_horizontal(pl.all())).to_series().to_numpy()
        return 1.0 / (1.0 + np.exp(-logit))

    def explain(self, deals: pl.DataFrame, top: int = 3) -> pl.DataFrame:
        """P(won) with the `top` fields that move it most.

        Returns `win_probability` (Float64) and `explanation`: a list of structs, largest effect
        first, `key` ("win.field"), `field`, `level` (the value's level or bin, e.g. "[2, 5)")
        and `log_odds` (positive: raises the chance of winning).
        """
        parts = self.contributions(deals).drop("base_logit").to_numpy()
        codes = self.encoder_.transform(deals)
        fields = self.encoder_.fields
        explanation = []
        for i in range(parts.shape[0]):
            order = np.argsort(-np.abs(parts[i]), kind="stable")[:top]
            explanation.append([
                {"key": "win.field", "field": fields[j],
                 "level": self.encoder_.levels[fields[j]][codes[i, j]],
                 "log_odds": float(parts[i, j])} for j in order
            ])
        return pl.DataFrame({"win_probability": self.predict_proba(deals),
                             "explanation": explanation})


class WinProbabilityModel(_FieldModel):
    """Probability that an open deal is won, learnt from closed deals by logistic regression.

    Each field is one-hot encoded (numbers cut into `n_bins` quantile bins, nulls and rare levels
    their own levels) and the coefficients are shrunk by an L2 penalty of strength 1/C, which keeps
    rare levels near the average and copes with the redundancy of one-hot columns (Hosmer,
    Lemeshow & Sturdivant 2013, ch. 4). A deal's logit splits exactly into a base (the average
    training deal) plus one contribution per field, coef . (x - mean x) summed over the field's
    levels.

    Parameters
    ----------
    C
        Inverse penalty strength (scikit-learn's convention).
    n_bins, min_count
        Quantile bins of numeric fields; least count of a kept categorical level.
    features
        Fields to use; None: every column except the outcome.

    Attributes
    ----------
    coefficients_ : polars.DataFrame
        `field`, `level`, `coef` (log-odds), `count` (training deals at that level).
    base_logit_ : float
        Logit of the average training deal.
    """

    def __init__(self, C: float = 1.0, n_bins: int = 5, min_count: int = 5,
                 features: Sequence[str] | None = None) -> None:
        self.C = C
        self.n_bins = n_bins
        self.min_count = min_count
        self.features = features

    def fit(self, deals: pl.DataFrame, won_col: str = "won") -> Self:
        """Learn from closed deals; `won_col` is boolean or 0/1 (1 = won)."""
        codes, y = self._encode_fit(deals, won_col)
        design = self.encoder_.one_hot(codes)
        self.model_ = LogisticRegression(C=self.C, max_iter=2000).fit(design, y)
        coef = self.model_.coef_[0]
        self.design_mean_ = design.mean(axis=0)
        self.base_logit_ = float(self.model_.intercept_[0] + coef @ self.design_mean_)
        self.coefficients_ = pl.DataFrame({
            "field": [f for f in self.encoder_.fields for _ in self.encoder_.levels[f]],
            "level": [lv for f in self.encoder_.fields for lv in self.encoder_.levels[f]],
            "coef": coef, "count": design.sum(axis=0).astype(np.int64),
        })
        return self

    def _field_log_odds(self, codes: NDArray[np.int64]) -> Array:
        centred = (self.encoder_.one_hot(codes) - self.design_mean_) * self.model_.coef_[0]
        sizes = [len(self.encoder_.levels[f]) for f in self.encoder_.fields]
        starts = np.cumsum([0, *sizes[:-1]])
        return np.add.reduceat(centred, starts, axis=1)


class NaiveBayesWinModel(_FieldModel):
    """Baseline win probability: naive Bayes over field levels with Laplace smoothing.

    P(won | fields) is proportional to P(won) * prod_f P(level_f | won), each conditional
    estimated as (count + alpha) / (deals of the class + alpha * levels). It treats fields as
    independent given the outcome, so correlated fields count the same evidence twice: it ranks
    well but its probabilities are over-confident (Domingos & Pazzani 1997). Contributions are the
    log-likelihood ratios log P(level | won) / P(level | lost); the base is the prior log-odds.

    Attributes
    ----------
    log_ratios_ : polars.DataFrame
        `field`, `level`, `log_ratio`.
    base_logit_ : float
        log(won / lost) in training.
    """

    def __init__(self, alpha: float = 1.0, n_bins: int = 5, min_count: int = 5,
                 features: Sequence[str] | None = None) -> None:
        self.alpha = alpha
        self.n_bins = n_bins
        self.min_count = min_count
        self.features = features

    def fit(self, deals: pl.DataFrame, won_col: str = "won") -> Self:
        """Count field levels among won and lost deals; `won_col` is boolean or 0/1."""
        if not self.alpha > 0:
            raise InputError(f"alpha must be positive, got {self.alpha}")
        codes, y = self._encode_fit(deals, won_col)
        n_won, n_lost = int(y.sum()), int(y.size - y.sum())
        self.base_logit_ = float(np.log(n_won / n_lost))
        self.tables_: list[Array] = []
        for j, field in enumerate(self.encoder_.fields):
            k = len(self.encoder_.levels[field])
            won = np.bincount(codes[y == 1, j], minlength=k) + self.alpha
            lost = np.bincount(codes[y == 0, j], minlength=k) + self.alpha
            self.tables_.append(np.log(won / won.sum()) - np.log(lost / lost.sum()))
        self.log_ratios_ = pl.DataFrame({
            "field": [f for f in self.encoder_.fields for _ in self.encoder_.levels[f]],
            "level": [lv for f in self.encoder_.fields for lv in self.encoder_.levels[f]],
            "log_ratio": np.concatenate(self.tables_),
        })
        return self

    def _field_log_odds(self, codes: NDArray[np.int64]) -> Array:
        return np.column_stack([table[codes[:, j]] for j, table in enumerate(self.tables_)])


__all__ = [
    "DEFAULT_WEIGHTS",
    "PRIORITY_INPUTS",
    "SIGNALS",
    "NaiveBayesWinModel",
    "OpportunityPriorityScorer",
    "Signal",
    "WinProbabilityModel",
]
