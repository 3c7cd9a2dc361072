"""Churn early warning (流失预警): purchase-gap survival and a calibrated churn risk with reasons.

In a non-contractual business nobody announces that they have left; a customer drifts away, and
the signs are in the purchase history (seed 000, section 6: falling purchase frequency or spend
raises the alert; seed 003: churn warning by survival analysis). Two estimators:

- `PurchaseGapSurvival` models the time between purchases. Every gap between two purchases is an
  event; the open gap since the last purchase is censored at `as_of`. A Kaplan-Meier estimate
  (Kaplan & Meier 1958, "Nonparametric estimation from incomplete observations", JASA 53(282),
  457-481) gives the population curve and a Cox proportional-hazards model (Cox 1972, "Regression
  models and life-tables", JRSS B 34(2), 187-220) adjusts it for what is known when each gap
  starts: purchases so far, the customer's mean gap, mean spend and the spend trend. From it, per
  customer: the probability that a gap as long as the current one would already have ended, and
  the customer's usual gap.
- `ChurnRiskModel` combines that signal with the purchase model's expectations (P(alive) and
  expected purchases from BG/NBD, Fader, Hardie & Lee 2005, "'Counting your customers' the easy
  way", Marketing Science 24(2), 275-284) and the customer's own trends in a logistic regression
  fitted on a past window where the outcome (no purchase in the following period) is known; it
  returns a calibrated risk in [0, 1] and the top reasons as structured data.

BG/NBD gives every one-time buyer P(alive) = 1 whatever their time since purchase, so P(alive)
is only ever one input among others here, never the churn score itself.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Literal, Protocol, Self

import numpy as np
import pandas as pd
import polars as pl
from lifelines import CoxPHFitter, KaplanMeierFitter
from numpy.typing import NDArray
from scipy.optimize import minimize

from patron.analytics.errors import (
    ConvergenceError,
    InputError,
    InsufficientDataError,
    NotFittedError,
)
from patron.analytics.summary import UNIT_DAYS, customer_summary, validate_transactions

Array = NDArray[np.float64]
COX_COVARIATES = ("log_purchases", "first_gap", "log_mean_gap", "log_mean_spend", "spend_trend")


def _as_date(value: date, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise InputError(f"{name} must be a datetime.date, got {type(value).__name__}")
    return value


def purchase_gaps(
    transactions: pl.DataFrame,
    *,
    as_of: date,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pl.DataFrame:
    """The gaps between purchase days, one row per purchase day on or before `as_of`.

    Purchases by one customer on one day are one purchase (amounts summed), as in
    `customer_summary`. Row k of a customer is the gap that starts at their k-th purchase: it
    ends at the next purchase (`observed` true) or is still open at `as_of` (`observed` false,
    censored). The covariates describe what was known when the gap started.

    Returns
    -------
    polars.DataFrame
        `customer_id`, `start` (Date), `k` (Int64, purchases so far), `duration` (Float64, days),
        `observed` (Boolean), `amount` (Float64, spend of the starting day), and the Cox
        covariates `log_purchases` = log k, `first_gap` (1.0 when k = 1), `log_mean_gap` (log of
        the mean of the earlier gaps, 0 when k = 1), `log_mean_spend` (log(1 + mean spend of the
        k purchases)), `spend_trend` (log(1 + this spend) - log(1 + mean of the earlier ones), 0
        when k = 1) and `sum_log_gaps` (sum of the logs of the k - 1 earlier gaps).
    """
    as_of = _as_date(as_of, "as_of")
    valid = validate_transactions(transactions, customer_col=customer_col, date_col=date_col,
                                  amount_col=amount_col)
    daily = (
        valid.lazy()
        .filter(pl.col(date_col) <= as_of)
        .group_by(pl.col(customer_col).alias("customer_id"), pl.col(date_col).alias("start"))
        .agg(pl.col(amount_col).sum().alias("amount"))
        .sort("customer_id", "start")
    )
    # The frame is sorted by customer and day, so window expressions run in purchase order.
    by = "customer_id"
    k = pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(by)
    end = pl.col("start").shift(-1).over(by)
    previous = pl.col("start").shift(1).over(by)
    span = (pl.col("start") - pl.col("start").first().over(by)).dt.total_days()
    cum_spend = pl.col("amount").cum_sum().over(by)
    earlier = pl.col("k") > 1
    return (
        daily.with_columns(
            k.alias("k"),
            (pl.coalesce(end, pl.lit(as_of)) - pl.col("start")).dt.total_days()
            .cast(pl.Float64).alias("duration"),
            end.is_not_null().alias("observed"),
            (pl.col("start") - previous).dt.total_days().cast(pl.Float64).log()
            .fill_null(0.0).cum_sum().over(by).alias("sum_log_gaps"),
            span.alias("_span"),
            cum_spend.alias("_cum_spend"),
        )
        .with_columns(
            pl.col("k").cast(pl.Float64).log().alias("log_purchases"),
            (~earlier).cast(pl.Float64).alias("first_gap"),
            pl.when(earlier).then((pl.col("_span") / (pl.col("k") - 1)).log()).otherwise(0.0)
            .alias("log_mean_gap"),
            (pl.col("_cum_spend") / pl.col("k")).log1p().alias("log_mean_spend"),
            pl.when(earlier)
            .then(pl.col("amount").log1p()
                  - ((pl.col("_cum_spend") - pl.col("amount")) / (pl.col("k") - 1)).log1p())
            .otherwise(0.0).alias("spend_trend"),
        )
        .select("customer_id", "start", "k", "duration", "observed", "amount", *COX_COVARIATES,
                "sum_log_gaps")
        .collect()
    )


# What lifelines' fitters (and the Cox fitter's inner model) keep of the training data.
_TRAINING_DATA = ("durations", "event_observed", "weights", "entry", "_predicted_partial_hazards_")


def _without_training_data(fitter: object) -> object:
    """A shallow copy of a fitted lifelines model with its training data left out."""
    fitter = copy.copy(fitter)
    if vars(fitter).get("_model") is not None:  # the Cox fitter keeps the data in its inner model
        fitter._model = _without_training_data(fitter._model)
    for name in _TRAINING_DATA:
        if name in vars(fitter):
            setattr(fitter, name, None)
    return fitter


def _pandas(frame: pl.DataFrame, columns: list[str]) -> pd.DataFrame:
    # lifelines wants pandas; build it from numpy so that pyarrow is not needed.
    return pd.DataFrame({c: frame.get_column(c).cast(pl.Float64).to_numpy() for c in columns})


def _step(times: Array, values: Array, at: Array) -> Array:
    """A right-continuous step function given by (times, values), 0 before the first time."""
    index = np.searchsorted(times, at, side="right") - 1
    return np.where(index >= 0, values[np.clip(index, 0, None)], 0.0)


class PurchaseGapSurvival:
    """Survival of the time between purchases, with the open gap since the last one censored.

    Parameters
    ----------
    penalizer
        Ridge penalty of the Cox model (lifelines' `penalizer`); a little keeps the fit stable
        when covariates are collinear (e.g. few customers with more than two purchases).
    min_events
        Completed gaps needed to fit the Cox model; with fewer, the per-customer signal falls back
        to the population Kaplan-Meier curve and `cox_` is None (a documented result, not an
        error).
    prior_gaps
        Weight, in gaps, of the population's typical gap in a customer's usual gap: the usual gap
        is the geometric mean of the customer's own gaps shrunk towards the population's, so a
        customer with one gap is not judged by it alone and a one-time buyer gets the
        population's.

    Attributes
    ----------
    km_ : lifelines.KaplanMeierFitter
        Population survival of gaps, in days.
    cox_ : lifelines.CoxPHFitter or None
        Cox model on `covariates_`.
    covariates_ : list[str]
        The Cox covariates used (those constant in the data are dropped).
    typical_gap_ : float
        Geometric mean of the completed gaps, in days.
    n_gaps_, n_events_ : int
        Gaps used (open gaps of length 0 excluded) and completed gaps among them.
    """

    def __init__(self, penalizer: float = 0.01, min_events: int = 20,
                 prior_gaps: float = 1.0) -> None:
        self.penalizer = penalizer
        self.min_events = min_events
        self.prior_gaps = prior_gaps

    def __getstate__(self) -> dict:
        """Pickled without the training data lifelines' fitters keep for their summaries and
        plots, which prediction does not read: a refresh stores its fitted models with every
        run, and at a million customers this model weighed 19-36 MB with it, 0.1 MB without."""
        state = self.__dict__.copy()
        for name in ("km_", "cox_"):
            if state.get(name) is not None:
                state[name] = _without_training_data(state[name])
        return state

    def fit(self, transactions: pl.DataFrame, *, as_of: date, customer_col: str = "customer_id",
            date_col: str = "date", amount_col: str = "amount") -> Self:
        """Fit on the purchases on or before `as_of`.

        Raises
        ------
        InsufficientDataError
            No customer has bought twice: there is no completed gap to learn from.
        ConvergenceError
            The Cox partial likelihood could not be maximised.
        """
        gaps = purchase_gaps(transactions, as_of=as_of, customer_col=customer_col,
                             date_col=date_col, amount_col=amount_col)
        gaps = gaps.filter(pl.col("duration") > 0)
        self.n_gaps_ = gaps.height
        self.n_events_ = int(gaps.get_column("observed").sum())
        if self.n_events_ == 0:
            raise InsufficientDataError(
                "no customer bought twice before as_of: the time between purchases is unknown"
            )
        completed = gaps.filter(pl.col("observed")).get_column("duration").to_numpy()
        self.typical_gap_ = float(np.exp(np.mean(np.log(completed))))
        self.km_ = KaplanMeierFitter().fit(gaps.get_column("duration").to_numpy(),
                                           gaps.get_column("observed").to_numpy())
        self.covariates_ = [c for c in COX_COVARIATES
                            if gaps.get_column(c).std() not in (None, 0.0)]
        self.cox_ = None
        if self.n_events_ >= self.min_events and self.covariates_:
            self.cox_ = self._fit_cox(gaps)
        return self

    def _fit_cox(self, gaps: pl.DataFrame) -> CoxPHFitter:
        data = _pandas(gaps, [*self.covariates_, "duration", "observed"])
        try:
            cox = CoxPHFitter(penalizer=self.penalizer).fit(data, "duration", "observed")
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
            # lifelines' own ConvergenceError is a ValueError; a singular Hessian a LinAlgError.
            raise ConvergenceError(f"the Cox model of purchase gaps did not converge: {error}")\
                from error
        hazard = cox.baseline_cumulative_hazard_
        self._baseline = (hazard.index.to_numpy(dtype=np.float64),
                          hazard.iloc[:, 0].to_numpy(dtype=np.float64))
        return cox

    @property
    def coefficients_(self) -> dict[str, float]:
        """Cox log hazard ratios per covariate (a positive one shortens the gaps)."""
        if getattr(self, "cox_", None) is None:
            return {}
        return {name: float(v) for name, v in self.cox_.params_.items()}

    def gap_ended_probability(self, gaps: pl.DataFrame) -> Array:
        """P(a gap with these covariates is over by its `duration`) = 1 - S(duration | x)."""
        if not hasattr(self, "km_"):
            raise NotFittedError("call fit() before predicting")
        durations = gaps.get_column("duration").to_numpy().astype(np.float64)
        if durations.size == 0:
            return durations
        if self.cox_ is None:
            survival = self.km_.survival_function_at_times(durations).to_numpy()
            return 1.0 - np.asarray(survival, dtype=np.float64)
        relative = self.cox_.predict_partial_hazard(_pandas(gaps, self.covariates_)).to_numpy()
        baseline = _step(*self._baseline, durations)
        return 1.0 - np.exp(-baseline * np.asarray(relative, dtype=np.float64))

    def predict(self, transactions: pl.DataFrame, *, as_of: date,
                customer_col: str = "customer_id", date_col: str = "date",
                amount_col: str = "amount") -> pl.DataFrame:
        """The current gap of each customer against their usual gap, as of `as_of`.

        Returns
        -------
        polars.DataFrame
            One row per customer with a purchase on or before `as_of`, sorted by customer:
            `customer_id`, `n_purchases` (Int64), `last_purchase` (Date), `last_spend`,
            `current_gap_days` (days since the last purchase), `usual_gap_days` (shrunk geometric
            mean of the customer's gaps, see `prior_gaps`), `gap_ratio` = current / usual,
            `p_gap_over` (Cox: probability that the current gap would already have ended,
            adjusted for the customer), `km_p_gap_over` (the same from the population curve) and
            `spend_trend` (log(1 + last spend) - log(1 + mean of the earlier purchases), 0 for a
            one-time buyer). For a one-time buyer the usual gap is the population's typical gap.

        Notes
        -----
        No gap longer than the longest one seen by `fit` has been observed to end, so the curves
        are flat beyond it and `p_gap_over` stops growing there: refit regularly, and prefer
        `gap_ratio` to rank customers whose gaps are longer than any in the fitting data.
        """
        gaps = purchase_gaps(transactions, as_of=as_of, customer_col=customer_col,
                             date_col=date_col, amount_col=amount_col)
        return self._current(gaps)

    def _current(self, gaps: pl.DataFrame) -> pl.DataFrame:
        """`predict` from the output of `purchase_gaps` (each customer's open gap)."""
        if not hasattr(self, "km_"):
            raise NotFittedError("call fit() before predicting")
        current = gaps.filter(~pl.col("observed")).sort("customer_id")
        weight = self.prior_gaps
        usual = (
            (pl.col("sum_log_gaps") + weight * math.log(self.typical_gap_))
            / (pl.col("k") - 1 + weight)
        ).exp()
        km = 1.0 - self.km_.survival_function_at_times(
            current.get_column("duration").to_numpy()).to_numpy()
        return current.select(
            "customer_id",
            pl.col("k").alias("n_purchases"),
            pl.col("start").alias("last_purchase"),
            pl.col("amount").alias("last_spend"),
            pl.col("duration").alias("current_gap_days"),
            usual.alias("usual_gap_days"),
            (pl.col("duration") / usual).alias("gap_ratio"),
            pl.Series("p_gap_over", self.gap_ended_probability(current), dtype=pl.Float64),
            pl.Series("km_p_gap_over", km, dtype=pl.Float64),
            pl.col("spend_trend"),
        )


# ---------------------------------------------------------------------------------------------
# Churn risk
# ---------------------------------------------------------------------------------------------


class PurchaseModel(Protocol):
    """A fitted repeat-purchase model (e.g. BG/NBD) over `customer_summary` frames."""

    def probability_alive(self, summary: pl.DataFrame) -> NDArray[np.float64]: ...

    def conditional_expected_purchases(
        self, t: float, summary: pl.DataFrame
    ) -> NDArray[np.float64]: ...


# Each feature of the risk model: the direction in which it may move the risk (+1: a larger
# value can only raise it) and the reason it speaks for. Reasons group features telling one story.
FEATURE_SIGNS: Mapping[str, int] = {
    "log_days_since": +1,
    "log_purchases": -1,
    "log_gap_ratio": +1,
    "p_gap_over": +1,
    "frequency_change": -1,
    "spend_change": -1,
    "p_alive": -1,
    "log_expected_purchases": -1,
}
REASON_OF: Mapping[str, str] = {
    "log_gap_ratio": "gap_vs_usual",
    "p_gap_over": "gap_vs_usual",
    "log_days_since": "long_inactive",
    "log_purchases": "few_purchases",
    "frequency_change": "frequency_down",
    "spend_change": "spend_down",
    "p_alive": "low_p_alive",
    "log_expected_purchases": "low_expected_purchases",
}
REASON_KEYS = tuple(dict.fromkeys(REASON_OF.values()))
REASON_SCHEMA = pl.Struct({
    "key": pl.String, "log_odds": pl.Float64, "ratio": pl.Float64, "days": pl.Float64,
    "usual_days": pl.Float64, "pct": pl.Float64, "p": pl.Float64, "purchases": pl.Float64,
    "expected": pl.Float64, "count": pl.Float64,
})
# p_gap_over is left out by default: beyond the longest gap seen before the fit date it stops
# growing (the Cox baseline is flat there), so on a young customer base it misranks customers
# scored at a later date; on CDNOW it cost about 0.02 of AUC out of time (see the tests).
# Reasons compare a customer with an ordinary one: no change for the ratio and trend features,
# the training median for the others. (Against the mean customer, who on CDNOW is a lapsed
# one-time buyer, a gap three times the usual would not count as a reason.)
NEUTRAL_AT_ZERO = frozenset({"log_gap_ratio", "frequency_change", "spend_change"})
DEFAULT_FEATURES = ("log_days_since", "log_purchases", "log_gap_ratio", "frequency_change",
                    "spend_change")
PURCHASE_FEATURES = ("p_alive", "log_expected_purchases")


def _fit_monotone_logit(z: Array, y: Array, signs: Array, C: float) -> tuple[float, Array]:
    """L2-penalised logistic regression whose coefficients keep the given signs.

    Minimises sum(log(1 + e^eta) - y eta) + |w|^2 / (2 C), eta = b + z w, under sign(w_j) in
    {0, signs_j} (L-BFGS-B with bounds). The signs are domain knowledge (a longer silence never
    lowers the risk); they stop collinear features from taking opposite signs, which would make
    the reasons incoherent and extrapolate badly to a later date.
    """
    def objective(theta: Array) -> tuple[float, Array]:
        eta = theta[0] + z @ theta[1:]
        residual = 1.0 / (1.0 + np.exp(-eta)) - y
        value = np.sum(np.logaddexp(0.0, eta) - y * eta) + theta[1:] @ theta[1:] / (2 * C)
        gradient = np.concatenate(([residual.sum()], z.T @ residual + theta[1:] / C))
        return float(value), gradient

    bounds = [(None, None)] + [(0.0, None) if s > 0 else (None, 0.0) for s in signs]
    start = np.zeros(z.shape[1] + 1)
    start[0] = math.log(y.mean() / (1.0 - y.mean()))
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds)
    if not np.all(np.isfinite(result.x)):
        raise ConvergenceError("the churn risk regression did not converge")
    return float(result.x[0]), result.x[1:]


def _standard(transactions: pl.DataFrame, customer_col: str, date_col: str,
              amount_col: str) -> pl.DataFrame:
    """Validated transactions under the standard names customer_id, date, amount."""
    valid = validate_transactions(transactions, customer_col=customer_col, date_col=date_col,
                                  amount_col=amount_col)
    return valid.select(pl.col(customer_col).alias("customer_id"), pl.col(date_col).alias("date"),
                        pl.col(amount_col).alias("amount"))


def purchase_model_features(
    model: PurchaseModel,
    transactions: pl.DataFrame,
    *,
    as_of: date,
    horizon_days: float,
    unit: Literal["day", "week"] = "week",
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pl.DataFrame:
    """P(alive) and expected purchases in the next `horizon_days` from a fitted purchase model.

    The model sees `customer_summary(transactions, as_of=as_of, unit=unit)`; `unit` must be the
    one it was fitted in. Returns `customer_id`, `p_alive`, `expected_purchases` (Float64).
    """
    summary = customer_summary(transactions, as_of=as_of, unit=unit, customer_col=customer_col,
                               date_col=date_col, amount_col=amount_col)
    t = horizon_days / UNIT_DAYS[unit]
    return summary.select("customer_id").with_columns(
        pl.Series("p_alive", model.probability_alive(summary), dtype=pl.Float64),
        pl.Series("expected_purchases", model.conditional_expected_purchases(t, summary),
                  dtype=pl.Float64),
    )


def _frequency_trend(gaps: pl.DataFrame, as_of: date, window_days: int) -> pl.DataFrame:
    """Purchases in the last `window_days` against the customer's earlier repeat rate.

    `expected_recent` = repeat purchases in (first purchase, as_of - window] per day of that span
    times the window; `frequency_change` = log((recent + 1/2) / (expected_recent + 1/2)), so
    falling frequency is negative and small counts are damped. Customers whose earlier span is
    shorter than the window have no trend yet (0, and a null `frequency_pct_down`).
    """
    cut = as_of - timedelta(days=window_days)
    first = pl.col("start").min()
    span = (pl.lit(cut, dtype=pl.Date) - first).dt.total_days().cast(pl.Float64)
    per = gaps.group_by("customer_id").agg(
        (pl.col("start") > cut).sum().cast(pl.Float64).alias("recent"),
        ((pl.col("start") > first) & (pl.col("start") <= cut)).sum().cast(pl.Float64)
        .alias("earlier"),
        span.alias("span"),
    )
    known = pl.col("span") >= window_days
    expected = pl.col("earlier") / pl.col("span") * window_days
    return per.select(
        "customer_id",
        pl.col("recent").alias("recent_purchases"),
        pl.when(known).then(((pl.col("recent") + 0.5) / (expected + 0.5)).log()).otherwise(0.0)
        .alias("frequency_change"),
        pl.when(known & (pl.col("earlier") > 0)).then(100.0 * (1.0 - pl.col("recent") / expected))
        .otherwise(None).alias("frequency_pct_down"),
    )


class ChurnRiskModel:
    """Calibrated churn risk with its reasons, learnt on a past window with a known outcome.

    Churn is "no purchase in the `horizon` that follows `as_of`", where the horizon is the
    length of the outcome window given to `fit` (`horizon_days_`). `fit` computes the features of
    every customer as of a past date, observes who bought in the following window, and fits an
    L2-regularised logistic regression with sign constraints on standardised features (Hosmer,
    Lemeshow & Sturdivant 2013, "Applied Logistic Regression", Wiley); `predict` applies it as
    of a later date. The risk is calibrated for that horizon at the fit date's mix of customers.

    Features (per customer, as of the date; `features` chooses among them):

    - `log_days_since` = log(1 + days since the last purchase);
    - `log_purchases` = log(purchase days);
    - `log_gap_ratio` = log((1 + current gap) / (1 + usual gap)) and `p_gap_over` (not used by
      default, see `DEFAULT_FEATURES`), from `PurchaseGapSurvival` fitted on the same data;
    - `frequency_change` (see `_frequency_trend`, window `window_days`) and `spend_change` =
      log(1 + last spend) - log(1 + mean earlier spend);
    - with purchase features or a purchase model, also `p_alive` and `log_expected_purchases` =
      log(1 + expected purchases in the horizon).

    Each coefficient is constrained to the sign in `FEATURE_SIGNS` (a longer silence, fewer
    purchases, falling frequency or spend, a lower P(alive) can only raise the risk). Hence the
    risk of a one-time buyer, whose P(alive) the BG/NBD fixes at 1, still grows with the time
    since the purchase.

    A feature's contribution is coef * (value - reference) / scale, in log-odds against an
    ordinary customer (`reference_`: 0 for the ratio and trend features, i.e. a gap as usual
    and no change, the training median for the others). Reasons add the contributions of the
    features telling one story (`REASON_OF`) and keep those that raise the risk by at least
    `min_reason_log_odds` and whose fact holds (gap longer than usual, frequency or spend
    actually down), largest first, at most `max_reasons`. Each reason is a struct with `key`,
    `log_odds` and parameters (the others null):

    ======================  ===================================================================
    gap_vs_usual            ratio (current gap / usual gap), days, usual_days
    long_inactive           days since the last purchase
    few_purchases           purchases (purchase days to date)
    frequency_down          pct (fall of the purchase rate, %), purchases (in the last window)
    spend_down              pct (last spend below the earlier mean, %)
    low_p_alive             p (P(alive) from the purchase model)
    low_expected_purchases  expected (purchases expected in the horizon)
    ======================  ===================================================================

    Parameters
    ----------
    purchase_model
        A fitted model with `probability_alive(summary)` and
        `conditional_expected_purchases(t, summary)` (e.g. BG/NBD), used at both the fit and the
        scoring date unless `purchase_features` are passed. Its parameters should not have
        been estimated on data after the fit date, or the training features see the future.
    purchase_model_unit
        Time unit of the purchase model's summary ("week" or "day").
    window_days
        Window of the frequency trend.
    C
        Inverse L2 penalty of the logistic regression.
    max_reasons, min_reason_log_odds
        How many reasons to give at most and the least effect of one.
    survival
        Options of the `PurchaseGapSurvival` fitted inside (None: defaults).
    features
        Features to use (keys of `FEATURE_SIGNS` except the purchase ones, which are added when
        purchase features are given); None: `DEFAULT_FEATURES`.

    Attributes
    ----------
    survival_ : PurchaseGapSurvival
        Fitted on the purchases up to the fit date; used unchanged by `predict`.
    feature_names_ : list[str]
    coef_ : dict[str, float]
        Log-odds per standard deviation of each feature.
    mean_, scale_ : numpy.ndarray
        Standardisation of the features (training mean and standard deviation).
    reference_ : dict[str, float]
        The ordinary customer reasons are measured against.
    intercept_ : float
    horizon_days_ : int
    base_rate_ : float
        Share of training customers who churned.
    n_customers_ : int
    """

    def __init__(
        self,
        purchase_model: PurchaseModel | None = None,
        purchase_model_unit: Literal["day", "week"] = "week",
        window_days: int = 90,
        C: float = 1.0,
        max_reasons: int = 3,
        min_reason_log_odds: float = 0.05,
        survival: PurchaseGapSurvival | None = None,
        features: tuple[str, ...] | None = None,
    ) -> None:
        self.purchase_model = purchase_model
        self.purchase_model_unit = purchase_model_unit
        self.window_days = window_days
        self.C = C
        self.max_reasons = max_reasons
        self.min_reason_log_odds = min_reason_log_odds
        self.survival = survival
        self.features = features

    def fit(
        self,
        transactions: pl.DataFrame,
        *,
        as_of: date,
        outcome_end: date,
        purchase_features: pl.DataFrame | None = None,
        customer_col: str = "customer_id",
        date_col: str = "date",
        amount_col: str = "amount",
    ) -> Self:
        """Learn the risk of no purchase in (as_of, outcome_end] from features as of `as_of`.

        Parameters
        ----------
        transactions
            Purchase lines (see `customer_summary`), including those of the outcome window.
        purchase_features
            Optional `customer_id`, `p_alive`, `expected_purchases` (over the horizon) as of
            `as_of`, instead of computing them with `purchase_model`.

        Raises
        ------
        InsufficientDataError
            Fewer than two customers, all of one outcome, or no repeat purchase before `as_of`.
        """
        as_of, outcome_end = _as_date(as_of, "as_of"), _as_date(outcome_end, "outcome_end")
        if outcome_end <= as_of:
            raise InputError("outcome_end must be after as_of")
        chosen = DEFAULT_FEATURES if self.features is None else tuple(self.features)
        allowed = set(FEATURE_SIGNS) - set(PURCHASE_FEATURES)
        if not chosen or not set(chosen) <= allowed:
            raise InputError(f"unknown churn features {sorted(set(chosen) - allowed)}; "
                             f"choose among {sorted(allowed)}")
        data = _standard(transactions, customer_col, date_col, amount_col)
        self.horizon_days_ = (outcome_end - as_of).days
        for name in ("feature_names_", "coef_"):  # a refit starts from scratch
            self.__dict__.pop(name, None)
        survival = PurchaseGapSurvival() if self.survival is None else copy.deepcopy(
            self.survival)
        self.survival_ = survival.fit(data, as_of=as_of)
        frame = self.churn_features(data, as_of=as_of, purchase_features=purchase_features)
        self.feature_names_ = [*chosen, *(PURCHASE_FEATURES if "p_alive" in frame.columns
                                          else ())]
        bought = data.filter((pl.col("date") > as_of) & (pl.col("date") <= outcome_end))
        churned = ~frame.get_column("customer_id").is_in(bought.get_column("customer_id")
                                                              .unique().implode())
        y = churned.to_numpy().astype(np.int64)
        if y.size < 2 or y.min() == y.max():
            raise InsufficientDataError(
                "need customers who bought and customers who did not in the outcome window"
            )
        X = frame.select(self.feature_names_).to_numpy()
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)  # a constant feature keeps coefficient 0
        signs = np.array([FEATURE_SIGNS[f] for f in self.feature_names_])
        self.intercept_, coef = _fit_monotone_logit((X - self.mean_) / self.scale_,
                                                    y.astype(np.float64), signs, self.C)
        self.coef_ = dict(zip(self.feature_names_, map(float, coef), strict=True))
        medians = np.median(X, axis=0)
        self.reference_ = {f: (0.0 if f in NEUTRAL_AT_ZERO else float(medians[j]))
                           for j, f in enumerate(self.feature_names_)}
        self.base_rate_ = float(y.mean())
        self.n_customers_ = int(y.size)
        return self

    def _purchase_inputs(self, data: pl.DataFrame, as_of: date,
                         given: pl.DataFrame | None) -> pl.DataFrame | None:
        if given is None and self.purchase_model is None:
            return None
        if given is None:
            assert self.purchase_model is not None
            given = purchase_model_features(self.purchase_model, data, as_of=as_of,
                                            horizon_days=self.horizon_days_,
                                            unit=self.purchase_model_unit)
        for column in ("customer_id", "p_alive", "expected_purchases"):
            if column not in given.columns:
                raise InputError("purchase features need this column", column=column)
        p, e = given.get_column("p_alive"), given.get_column("expected_purchases")
        if ((p < 0) | (p > 1) | p.is_null() | p.is_nan()).any():
            raise InputError("P(alive) must lie in [0, 1]", column="p_alive")
        if ((e < 0) | e.is_null() | e.is_nan()).any():
            raise InputError("expected purchases must be >= 0", column="expected_purchases")
        return given.select("customer_id", pl.col("p_alive", "expected_purchases")
                            .cast(pl.Float64))

    def churn_features(
        self,
        transactions: pl.DataFrame,
        *,
        as_of: date,
        purchase_features: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """The model's features and the facts behind the reasons, one row per customer.

        `transactions` must use the standard column names (customer_id, date, amount).
        """
        as_of = _as_date(as_of, "as_of")
        if not hasattr(self, "survival_"):
            raise NotFittedError("call fit() before predicting")
        gaps = purchase_gaps(transactions, as_of=as_of)
        current = self.survival_._current(gaps)
        earlier_mean = (pl.col("last_spend").log1p() - pl.col("spend_trend")).exp() - 1.0
        frame = current.join(_frequency_trend(gaps, as_of, self.window_days), on="customer_id",
                             how="left").with_columns(
            pl.col("current_gap_days").log1p().alias("log_days_since"),
            pl.col("n_purchases").cast(pl.Float64).log().alias("log_purchases"),
            ((pl.col("current_gap_days") + 1) / (pl.col("usual_gap_days") + 1)).log()
            .alias("log_gap_ratio"),
            pl.col("spend_trend").alias("spend_change"),
            pl.when((pl.col("n_purchases") > 1) & (earlier_mean > 0))
            .then(100.0 * (1.0 - pl.col("last_spend") / earlier_mean))
            .otherwise(None).alias("spend_pct_down"),
        )
        inputs = self._purchase_inputs(transactions, as_of, purchase_features)
        if hasattr(self, "feature_names_") and (
            ("p_alive" in self.feature_names_) != (inputs is not None)
        ):
            raise InputError("give purchase features (or a purchase model) at both fit and "
                             "predict, or at neither")
        if inputs is not None:
            frame = frame.join(inputs, on="customer_id", how="left")
            lacking = frame.filter(pl.col("p_alive").is_null())
            if lacking.height:
                raise InputError(f"no purchase features for customer {lacking.item(0, 0)!r}",
                                 column="customer_id")
            frame = frame.with_columns(
                pl.col("expected_purchases").log1p().alias("log_expected_purchases"))
        return frame

    def predict(
        self,
        transactions: pl.DataFrame,
        *,
        as_of: date,
        purchase_features: pl.DataFrame | None = None,
        customer_col: str = "customer_id",
        date_col: str = "date",
        amount_col: str = "amount",
    ) -> pl.DataFrame:
        """Churn risk as of `as_of` for every customer with a purchase on or before it.

        Returns
        -------
        polars.DataFrame
            Sorted by customer: `customer_id`, `churn_risk` (Float64 in [0, 1]: P(no purchase
            in the `horizon_days_` after as_of)), `n_purchases`, `last_purchase`,
            `days_since_last_purchase`, `usual_gap_days`, `gap_ratio`, `p_gap_over`, `p_alive`
            and `expected_purchases` (null without a purchase model), and `reasons` (a list of
            structs, see the class docstring).
        """
        data = _standard(transactions, customer_col, date_col, amount_col)
        frame = self.churn_features(data, as_of=as_of, purchase_features=purchase_features)
        X = frame.select(self.feature_names_).to_numpy()
        coef = np.array([self.coef_[f] for f in self.feature_names_])
        risk = 1.0 / (1.0 + np.exp(-(self.intercept_ + ((X - self.mean_) / self.scale_) @ coef)))
        reference = np.array([self.reference_[f] for f in self.feature_names_])
        contributions = (X - reference) / self.scale_ * coef
        if "p_alive" not in frame.columns:
            frame = frame.with_columns(p_alive=pl.lit(None, pl.Float64),
                                       expected_purchases=pl.lit(None, pl.Float64))
        return frame.select(
            "customer_id",
            pl.Series("churn_risk", risk, dtype=pl.Float64),
            "n_purchases", "last_purchase",
            pl.col("current_gap_days").alias("days_since_last_purchase"),
            "usual_gap_days", "gap_ratio", "p_gap_over", "p_alive", "expected_purchases",
            self._reasons(frame, contributions),
        )

    def _reasons(self, frame: pl.DataFrame, contributions: Array) -> pl.Series:
        """The top reasons of each customer, as a list of `REASON_SCHEMA` structs."""
        keys = [k for k in REASON_KEYS if any(REASON_OF[f] == k for f in self.feature_names_)]
        by_reason = np.column_stack([
            contributions[:, [i for i, f in enumerate(self.feature_names_) if REASON_OF[f] == k]]
            .sum(axis=1) for k in keys
        ])
        holds = frame.select(*(_FACT_HOLDS.get(k, pl.lit(True)).fill_null(False).alias(k)
                               for k in keys)).to_numpy()
        eligible = np.where(holds & (by_reason >= self.min_reason_log_odds), by_reason, -np.inf)
        top = np.argsort(-eligible, axis=1, kind="stable")[:, : self.max_reasons]
        rows = np.repeat(np.arange(frame.height), top.shape[1])
        picked = top.ravel()
        keep = np.isfinite(eligible[rows, picked])
        rows, picked = rows[keep], picked[keep]
        facts = frame.with_row_index("row").with_columns(
            pl.col("row").cast(pl.Int64),
            *((pl.lit(None, pl.Float64).alias(c) for c in ("p_alive", "expected_purchases"))
              if "p_alive" not in frame.columns else ()),
        )
        long = pl.DataFrame({
            "row": rows.astype(np.int64), "key": np.array(keys, dtype=object)[picked].tolist(),
            "log_odds": np.round(by_reason[rows, picked], 3),
        }, schema={"row": pl.Int64, "key": pl.String, "log_odds": pl.Float64})
        long = long.join(facts, on="row", how="left", maintain_order="left").select(
            "row", "key", "log_odds", *_reason_parameters())
        grouped = long.group_by("row", maintain_order=True).agg(
            pl.struct(*REASON_SCHEMA.to_schema()).alias("reasons"))
        every = pl.DataFrame({"row": np.arange(frame.height)}, schema={"row": pl.Int64})
        return (every.join(grouped, on="row", how="left").sort("row").get_column("reasons")
                .fill_null(pl.lit([], dtype=pl.List(REASON_SCHEMA))).cast(pl.List(REASON_SCHEMA)))


# When a reason's fact holds: a gap longer than usual, a frequency or spend that really fell.
_FACT_HOLDS: Mapping[str, pl.Expr] = {
    "gap_vs_usual": pl.col("gap_ratio") > 1.0,
    "frequency_down": pl.col("frequency_pct_down") > 0.0,
    "spend_down": pl.col("spend_pct_down") > 0.0,
}


def _reason_parameters() -> list[pl.Expr]:
    """The parameters of each reason key (null for the keys that do not use them)."""
    key = pl.col("key")

    def only(keys: tuple[str, ...], value: pl.Expr, name: str) -> pl.Expr:
        return pl.when(key.is_in(list(keys))).then(value.cast(pl.Float64)).otherwise(None)\
            .alias(name)

    return [
        only(("gap_vs_usual",), pl.col("gap_ratio").round(1), "ratio"),
        only(("gap_vs_usual", "long_inactive"), pl.col("current_gap_days"), "days"),
        only(("gap_vs_usual",), pl.col("usual_gap_days").round(1), "usual_days"),
        pl.when(key == "frequency_down").then(pl.col("frequency_pct_down").round(0))
        .when(key == "spend_down").then(pl.col("spend_pct_down").round(0)).otherwise(None)
        .cast(pl.Float64).alias("pct"),
        only(("low_p_alive",), pl.col("p_alive").round(2), "p"),
        # For a longer gap, whether it follows the only purchase (the usual gap is then the
        # population's, see PurchaseGapSurvival.prior_gaps).
        pl.when(key.is_in(["few_purchases", "gap_vs_usual"])).then(pl.col("n_purchases"))
        .when(key == "frequency_down").then(pl.col("recent_purchases")).otherwise(None)
        .cast(pl.Float64).alias("purchases"),
        only(("low_expected_purchases",), pl.col("expected_purchases").round(2), "expected"),
        pl.lit(None, pl.Float64).alias("count"),  # used by the service signals (signals.py)
    ]
