"""Customer lifetime value from a purchase-count model and a spend model.

The residual value of a customer over a finite horizon is the discounted sum, period by period,
of the expected number of purchases in the period times the expected spend per purchase (Fader,
Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", Journal of
Marketing Research 42(4), 415-430, who use the same independence of spend and purchasing).
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np
import polars as pl

from patron.analytics.clv._purchase import Forecast
from patron.analytics.errors import InputError
from patron.analytics.summary import UNIT_DAYS

DAYS_PER_MONTH = 365.25 / 12


class _PurchaseModel(Protocol):
    def forecast(self, times: list[float], summary: pl.DataFrame) -> Forecast: ...


class _SpendModel(Protocol):
    def conditional_expected_spend(self, summary: pl.DataFrame) -> np.ndarray: ...


def customer_lifetime_value(
    purchase_model: _PurchaseModel,
    spend_model: _SpendModel,
    summary: pl.DataFrame,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.0,
    unit: Literal["day", "week"] = "week",
) -> np.ndarray:
    """Discounted expected revenue of each customer over the next ``horizon_months`` months.

    CLV_i = sum_{k=1..H} [E_i(k) - E_i(k-1)] * S_i / (1 + d)^(k/12), where E_i(k) is the
    conditional expected number of purchases in the first k months after the summary's
    ``as_of``, S_i the conditional expected spend per purchase, and d the annual discount rate
    (each month's purchases are discounted at the end of that month).

    Parameters
    ----------
    purchase_model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        Fitted on a summary in time unit ``unit``.
    spend_model : GammaGammaModel
        Fitted; its ``conditional_expected_spend`` gives S_i.
    summary : pl.DataFrame
        Columns ``x``, ``t_x``, ``T`` and ``monetary``: the customers to value.
    horizon_months : int, default 12
        Number of months (of 365.25 / 12 days) to sum over; 0 gives zeros.
    discount_rate : float, default 0
        Effective *annual* discount rate (0.1 = 10% a year), converted to months as
        (1 + d)^(1/12) - 1; must be > -1.
    unit : {"week", "day"}, default "week"
        Time unit of the summary (and so of the purchase model's parameters).

    Returns
    -------
    np.ndarray
        One value per row of ``summary``, in the currency of ``monetary``.

    Raises
    ------
    InputError
        Invalid horizon, discount rate or unit, or a malformed summary.
    """
    _check_discount_rate(discount_rate)
    times = month_ends(horizon_months, unit)
    if horizon_months == 0:
        return np.zeros(summary.height)
    forecast = purchase_model.forecast(times, summary)
    spend = spend_model.conditional_expected_spend(summary)
    return discounted_purchases(forecast, discount_rate) * spend


def _check_discount_rate(discount_rate: float) -> None:
    if not np.isfinite(discount_rate) or discount_rate <= -1:
        raise InputError(f"discount_rate must be a finite annual rate > -1, got {discount_rate!r}")


def month_ends(horizon_months: int, unit: Literal["day", "week"] = "week") -> list[float]:
    """The ends of the next ``horizon_months`` months (of 365.25 / 12 days), in ``unit``."""
    if not isinstance(horizon_months, int | np.integer) or horizon_months < 0:
        raise InputError(f"horizon_months must be a whole number >= 0, got {horizon_months!r}")
    if unit not in UNIT_DAYS:
        raise InputError(f"unit must be 'day' or 'week', got {unit!r}")
    month = DAYS_PER_MONTH / UNIT_DAYS[unit]
    return list(np.arange(1, horizon_months + 1) * month)


def discounted_purchases(forecast: Forecast, discount_rate: float = 0.0) -> np.ndarray:
    """sum_k [E(k) - E(k-1)] / (1 + d)^(k/12) per customer: the CLV per unit of spend.

    ``forecast`` holds the conditional expected purchases E(k) at the end of months k = 1..H
    (see `month_ends`). The months are differenced and discounted on the distinct (x, T)
    pairs, so each customer costs one gather whatever the horizon.
    """
    _check_discount_rate(discount_rate)
    months = np.arange(1, forecast.by_pair.shape[1] + 1)
    discount = (1.0 + discount_rate) ** (-months / 12.0)
    per_month = np.diff(forecast.by_pair, axis=1, prepend=0.0)
    return forecast.p_alive * (per_month @ discount)[forecast.pair]
