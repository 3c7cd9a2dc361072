"""Measures of a binary risk or probability score: discrimination, lift, calibration.

Every function takes the observed outcomes `y_true` (0/1, or booleans) and a score per case
(`score` for any ranking score, `prob` where the score must be a probability in [0, 1]) as
array-likes of the same length. They are the yardsticks of the churn and win-probability models:

- discrimination: the area under the ROC curve (Hanley & McNeil 1982, "The meaning and use of the
  area under a receiver operating characteristic (ROC) curve", Radiology 143(1), 29-36);
- targeting: the lift of the top fraction (the top decile by default), the usual measure of a
  churn list (Neslin, Gupta, Kamakura, Lu & Mason 2006, "Defection detection: measuring and
  understanding the predictive accuracy of customer churn models", Journal of Marketing Research
  43(2), 204-211);
- accuracy of the probabilities: the Brier score (Brier 1950, "Verification of forecasts
  expressed in terms of probability", Monthly Weather Review 78(1), 1-3), the log loss and a
  calibration table.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import roc_auc_score

from patron.analytics.errors import InputError, InsufficientDataError


def _outcomes_and_scores(
    y_true: ArrayLike, score: ArrayLike, *, probabilities: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Check and convert the inputs shared by every measure."""
    y = np.asarray(y_true, dtype=np.float64).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise InputError(f"y_true has {y.size} values but the score has {s.size}")
    if y.size == 0:
        raise InsufficientDataError("no cases to evaluate")
    bad_y = np.flatnonzero(~np.isin(y, (0.0, 1.0)))
    if bad_y.size:
        raise InputError("outcomes must be 0 or 1", row=int(bad_y[0]) + 1, column="y_true")
    bad_s = np.flatnonzero(~np.isfinite(s))
    if bad_s.size:
        raise InputError("scores must be finite numbers", row=int(bad_s[0]) + 1, column="score")
    if probabilities:
        outside = np.flatnonzero((s < 0.0) | (s > 1.0))
        if outside.size:
            raise InputError("probabilities must lie in [0, 1]", row=int(outside[0]) + 1,
                             column="prob")
    return y, s


def _require_both_classes(y: NDArray[np.float64]) -> None:
    if y.min() == y.max():
        raise InsufficientDataError(
            "the outcomes are all the same: ranking measures need both positive and negative cases"
        )


def roc_auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """Area under the ROC curve: the probability that a random positive outranks a random negative.

    Ties count one half (Hanley & McNeil 1982, eq. 1), so a constant score gives 0.5.

    Raises
    ------
    InsufficientDataError
        When all outcomes are equal: the AUC is undefined.
    """
    y, s = _outcomes_and_scores(y_true, score)
    _require_both_classes(y)
    return float(roc_auc_score(y, s))


def top_fraction_lift(y_true: ArrayLike, score: ArrayLike, fraction: float = 0.1) -> float:
    """Lift of the `fraction` of cases with the highest score (the top decile by default).

    Lift = (rate of positives among the top fraction) / (rate of positives overall); 1 means no
    better than a random list, and 1 / overall rate is the maximum. The list holds
    `fraction * n` cases (fractional at the edge). Cases tied with the last case on the list enter
    it pro rata: the result is the expected lift when ties are broken at random, so a score with
    many ties (e.g. days since the last purchase) is neither favoured nor penalised by row order.

    Raises
    ------
    InputError
        When `fraction` is not in (0, 1].
    InsufficientDataError
        When there is no positive case.
    """
    if not 0.0 < fraction <= 1.0:
        raise InputError(f"fraction must lie in (0, 1], got {fraction}")
    y, s = _outcomes_and_scores(y_true, score)
    if y.sum() == 0:
        raise InsufficientDataError("no positive case: the lift is undefined")
    size = fraction * y.size
    # Walk the distinct scores from the highest down, taking whole tie groups until the list is
    # full, and the needed share of the last group (each case of a group equally likely to enter).
    values, inverse = np.unique(-s, return_inverse=True)
    group_n = np.bincount(inverse, minlength=values.size).astype(np.float64)
    group_pos = np.bincount(inverse, weights=y, minlength=values.size)
    taken_before = np.concatenate(([0.0], np.cumsum(group_n)[:-1]))
    share = np.clip((size - taken_before) / group_n, 0.0, 1.0)
    top_positives = float(np.sum(share * group_pos))
    return (top_positives / size) / float(y.mean())


def top_decile_lift(y_true: ArrayLike, score: ArrayLike) -> float:
    """Lift of the top 10 % of cases by score; see `top_fraction_lift`."""
    return top_fraction_lift(y_true, score, fraction=0.1)


def brier_score(y_true: ArrayLike, prob: ArrayLike) -> float:
    """Mean squared difference between the predicted probability and the 0/1 outcome (Brier 1950).

    0 is perfect; always predicting the base rate p scores p (1 - p).
    """
    y, p = _outcomes_and_scores(y_true, prob, probabilities=True)
    return float(np.mean((p - y) ** 2))


def log_loss(y_true: ArrayLike, prob: ArrayLike, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood of the outcomes under the predicted probabilities (nats).

    Probabilities are clipped to [eps, 1 - eps] so a confident mistake costs a large but finite
    amount.
    """
    y, p = _outcomes_and_scores(y_true, prob, probabilities=True)
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def calibration_table(
    y_true: ArrayLike,
    prob: ArrayLike,
    n_bins: int = 10,
    strategy: Literal["quantile", "uniform"] = "quantile",
) -> pl.DataFrame:
    """Predicted against observed rates in bins of the predicted probability.

    Parameters
    ----------
    y_true, prob
        Outcomes (0/1) and predicted probabilities.
    n_bins
        Number of bins (at least 1).
    strategy
        "quantile": bins of (about) equal counts, cut at the quantiles of `prob` (equal
        predictions always share a bin, so there can be fewer bins); "uniform": bins of equal
        width on [0, 1].

    Returns
    -------
    polars.DataFrame
        One row per non-empty bin, in increasing order of probability: `bin` (Int64, from 1),
        `p_low`, `p_high` (Float64, the smallest and largest prediction in the bin), `n` (Int64),
        `mean_predicted`, `observed_rate` (Float64) and `gap` = observed_rate - mean_predicted.
        A calibrated model has gaps near zero, within about 2 sqrt(p (1 - p) / n).
    """
    if n_bins < 1:
        raise InputError(f"n_bins must be at least 1, got {n_bins}")
    y, p = _outcomes_and_scores(y_true, prob, probabilities=True)
    if strategy == "quantile":
        inner = np.unique(np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]))
    elif strategy == "uniform":
        inner = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    else:
        raise InputError(f"unknown strategy {strategy!r}: use 'quantile' or 'uniform'")
    # Right-closed bins: a prediction equal to a cut point falls in the lower bin.
    index = np.searchsorted(inner, p, side="left")
    frame = pl.DataFrame({"index": index, "y": y, "p": p})
    table = (
        frame.group_by("index")
        .agg(
            pl.col("p").min().alias("p_low"),
            pl.col("p").max().alias("p_high"),
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("p").mean().alias("mean_predicted"),
            pl.col("y").mean().alias("observed_rate"),
        )
        .sort("index")
    )
    return table.with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("bin"),
        (pl.col("observed_rate") - pl.col("mean_predicted")).alias("gap"),
    ).select("bin", "p_low", "p_high", "n", "mean_predicted", "observed_rate", "gap")


def binary_report(y_true: ArrayLike, prob: ArrayLike) -> dict[str, float]:
    """The usual figures of a probability score at once.

    Returns a dict with `n`, `base_rate`, `auc`, `top_decile_lift`, `brier` and `log_loss`.
    """
    y, p = _outcomes_and_scores(y_true, prob, probabilities=True)
    return {
        "n": float(y.size),
        "base_rate": float(y.mean()),
        "auc": roc_auc(y, p),
        "top_decile_lift": top_decile_lift(y, p),
        "brier": brier_score(y, p),
        "log_loss": log_loss(y, p),
    }
