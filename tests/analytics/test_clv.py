"""Tests of customer_lifetime_value (purchase model x spend model, discounted by month)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from patron.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    customer_lifetime_value,
)
from patron.analytics.clv.value import DAYS_PER_MONTH
from patron.analytics.errors import InputError, InsufficientDataError
from patron.analytics.summary import customer_summary

MONTH = DAYS_PER_MONTH / 7  # in weeks


@pytest.fixture(scope="module")
def models(cdnow_summary: pl.DataFrame) -> tuple[BetaGeoModel, GammaGammaModel]:
    return BetaGeoModel().fit(cdnow_summary), GammaGammaModel().fit(cdnow_summary)


def test_it_is_expected_purchases_times_expected_spend_without_discount(
    models: tuple[BetaGeoModel, GammaGammaModel], cdnow_summary: pl.DataFrame
) -> None:
    purchases, spend = models
    clv = customer_lifetime_value(purchases, spend, cdnow_summary, horizon_months=12)
    want = purchases.conditional_expected_purchases(
        12 * MONTH, cdnow_summary
    ) * spend.conditional_expected_spend(cdnow_summary)
    np.testing.assert_allclose(clv, want, rtol=1e-10)


def test_it_discounts_each_month_at_its_end(
    models: tuple[BetaGeoModel, GammaGammaModel], cdnow_summary: pl.DataFrame
) -> None:
    purchases, spend = models
    customers = cdnow_summary.head(5)
    cumulative = purchases.cumulative_expected_purchases([MONTH, 2 * MONTH], customers)
    monthly = np.diff(cumulative, axis=1, prepend=0.0)
    by_hand = (monthly[:, 0] / 1.2 ** (1 / 12) + monthly[:, 1] / 1.2 ** (2 / 12)) * (
        spend.conditional_expected_spend(customers)
    )
    got = customer_lifetime_value(purchases, spend, customers, horizon_months=2, discount_rate=0.2)
    np.testing.assert_allclose(got, by_hand, rtol=1e-12)


def test_it_grows_with_the_horizon_and_shrinks_with_the_discount_rate(
    models: tuple[BetaGeoModel, GammaGammaModel], cdnow_summary: pl.DataFrame
) -> None:
    purchases, spend = models
    one = customer_lifetime_value(purchases, spend, cdnow_summary, horizon_months=12)
    two = customer_lifetime_value(purchases, spend, cdnow_summary, horizon_months=24)
    discounted = customer_lifetime_value(
        purchases, spend, cdnow_summary, horizon_months=24, discount_rate=0.15
    )
    assert np.all(two > one)
    assert np.all((discounted < two) & (discounted > 0))


def test_it_does_not_depend_on_the_time_unit(cdnow_transactions: pl.DataFrame) -> None:
    as_of = date(1997, 9, 30)
    weeks = customer_summary(cdnow_transactions, as_of=as_of, unit="week")
    days = customer_summary(cdnow_transactions, as_of=as_of, unit="day")
    by_week, by_day = BetaGeoModel().fit(weeks), BetaGeoModel().fit(days)
    assert by_day.params_["alpha"] == pytest.approx(7 * by_week.params_["alpha"], rel=1e-4)
    spend = GammaGammaModel().fit(weeks)
    clv_weeks = customer_lifetime_value(by_week, spend, weeks, horizon_months=6, unit="week")
    clv_days = customer_lifetime_value(by_day, spend, days, horizon_months=6, unit="day")
    np.testing.assert_allclose(clv_days, clv_weeks, rtol=1e-3)


def test_it_values_repeat_buyers_above_one_time_buyers(cdnow_summary: pl.DataFrame) -> None:
    purchases = ParetoNBDModel().fit(cdnow_summary)
    spend = GammaGammaModel().fit(cdnow_summary)
    clv = customer_lifetime_value(
        purchases, spend, cdnow_summary, horizon_months=12, discount_rate=0.1
    )
    repeat = cdnow_summary.get_column("x").to_numpy() > 0
    assert np.all(np.isfinite(clv) & (clv > 0))
    assert clv[repeat].mean() > 3 * clv[~repeat].mean()


def test_it_gives_zero_over_a_zero_horizon(
    models: tuple[BetaGeoModel, GammaGammaModel], cdnow_summary: pl.DataFrame
) -> None:
    clv = customer_lifetime_value(*models, cdnow_summary, horizon_months=0)
    assert clv.shape == (2357,)
    assert not clv.any()


@pytest.mark.parametrize(
    "arguments",
    [
        {"horizon_months": -1},
        {"horizon_months": 1.5},
        {"discount_rate": -1.0},
        {"discount_rate": float("nan")},
        {"unit": "month"},
    ],
)
def test_it_refuses_meaningless_arguments(
    models: tuple[BetaGeoModel, GammaGammaModel],
    cdnow_summary: pl.DataFrame,
    arguments: dict[str, object],
) -> None:
    with pytest.raises(InputError):
        customer_lifetime_value(*models, cdnow_summary, **arguments)  # type: ignore[arg-type]


def test_it_cannot_fit_a_base_where_everyone_bought_on_one_day_only() -> None:
    # Each customer's purchases fall on a single day: no repeat purchase, nothing to learn.
    same_day = pl.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "date": [date(2024, 3, 1), date(2024, 3, 1), date(2024, 3, 1), date(2024, 3, 4)],
            "amount": [10.0, 5.0, 8.0, 3.0],
        }
    )
    summary = customer_summary(same_day, as_of=date(2024, 6, 1))
    assert summary.get_column("x").to_list() == [0, 0, 0]
    with pytest.raises(InsufficientDataError):
        BetaGeoModel().fit(summary)
    with pytest.raises(InsufficientDataError):
        GammaGammaModel().fit(summary)
