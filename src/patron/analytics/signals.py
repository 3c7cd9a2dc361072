"""Service signals on top of the purchase-based churn risk: complaints and lost contact.

The churn model (`churn.ChurnRiskModel`) reads purchases only. A sales team also knows things
the purchase history cannot show yet: the customer complained, or can no longer be reached.
Both are well-documented precursors of defection, but a CRM rarely has enough labelled
history to learn their weight per organisation, so their effect is a stated prior on the
odds of churning, which an analyst may change (`SignalEffects`):

    risk' = logistic(logit(risk) + sum of the effects of the signals that hold)

A complaint counts while it is recent (`complaint_days`); lost contact counts until the
customer is reached again (the caller decides that, see `patron.insights.readers`). Each signal
that holds becomes the first of the customer's churn reasons, with its log-odds, like the
model's own reasons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from patron.analytics.churn import REASON_SCHEMA
from patron.analytics.errors import InputError


@dataclass(frozen=True)
class SignalEffects:
    """Log-odds added to the churn risk per signal, and how long a complaint counts."""

    complaint: float = math.log(2.0)  # a recent complaint doubles the odds of churning
    lost_contact: float = math.log(4.0)  # an unreachable customer: four times the odds
    complaint_days: int = 90


SIGNAL_COLUMNS = ("customer_id", "complaints", "days_since_complaint", "days_since_lost_contact")


def with_service_signals(
    scored: pl.DataFrame, signals: pl.DataFrame, *, effects: SignalEffects | None = None
) -> pl.DataFrame:
    """Raise `churn_risk` and prepend reasons where a service signal holds.

    Parameters
    ----------
    scored : polars.DataFrame
        ``customer_id``, ``churn_risk`` (null where the churn model gave none: left null) and
        ``churn_reasons`` (a list of `churn.REASON_SCHEMA` structs).
    signals : polars.DataFrame
        One row per customer with a signal (others need no row): ``customer_id``,
        ``complaints`` (complaints within ``effects.complaint_days``), ``days_since_complaint``
        (days since the latest of them, null if none), ``days_since_lost_contact`` (days since
        the customer was marked unreachable and not reached since; null if reachable).

    Returns
    -------
    polars.DataFrame
        `scored` with ``churn_risk`` and ``churn_reasons`` updated, rows and order unchanged.
        New reasons: ``complaint`` (``count`` complaints, the latest ``days`` ago) and
        ``lost_contact`` (``days`` since the mark).
    """
    effects = effects or SignalEffects()
    for name in SIGNAL_COLUMNS:
        if name not in signals.columns:
            raise InputError("required column is missing", column=name)
    if signals.height == 0:
        return scored
    id_type = scored.schema["customer_id"]
    joined = scored.select("customer_id").join(
        signals.select(
            pl.col("customer_id").cast(id_type),
            pl.col("complaints").cast(pl.Float64),
            pl.col("days_since_complaint").cast(pl.Float64),
            pl.col("days_since_lost_contact").cast(pl.Float64),
        ),
        on="customer_id",
        how="left",
        maintain_order="left",
    )
    complaint = (
        (joined.get_column("complaints").fill_null(0.0) > 0)
        & (joined.get_column("days_since_complaint").fill_null(np.inf) <= effects.complaint_days)
    ).to_numpy()
    lost = joined.get_column("days_since_lost_contact").is_not_null().to_numpy()
    if not (complaint.any() or lost.any()):
        return scored
    shift = effects.complaint * complaint + effects.lost_contact * lost
    risk = scored.get_column("churn_risk").cast(pl.Float64).to_numpy().astype(float)
    with np.errstate(divide="ignore"):
        logit = np.log(risk) - np.log1p(-risk)
    raised = np.where(shift != 0, 1.0 / (1.0 + np.exp(-(logit + shift))), risk)  # NaN stays NaN
    new_reasons = _signal_reasons(joined, complaint, lost, effects)
    reasons = scored.get_column("churn_reasons").cast(pl.List(REASON_SCHEMA))
    merged = [
        extra + (old or []) if extra else old
        for extra, old in zip(new_reasons, reasons.to_list(), strict=True)
    ]
    return scored.with_columns(
        pl.Series("churn_risk", raised, dtype=pl.Float64).fill_nan(None),
        pl.Series("churn_reasons", merged, dtype=pl.List(REASON_SCHEMA)),
    )


def _signal_reasons(
    joined: pl.DataFrame, complaint: np.ndarray, lost: np.ndarray, effects: SignalEffects
) -> list[list[dict] | None]:
    blank = dict.fromkeys(REASON_SCHEMA.to_schema())
    complaints = joined.get_column("complaints").to_list()
    complaint_days = joined.get_column("days_since_complaint").to_list()
    lost_days = joined.get_column("days_since_lost_contact").to_list()
    out: list[list[dict] | None] = []
    for i in range(joined.height):
        found = []
        if lost[i]:
            found.append({**blank, "key": "lost_contact", "log_odds": round(effects.lost_contact, 3),
                          "days": lost_days[i]})
        if complaint[i]:
            found.append({**blank, "key": "complaint", "log_odds": round(effects.complaint, 3),
                          "count": complaints[i], "days": complaint_days[i]})
        out.append(found or None)
    return out
