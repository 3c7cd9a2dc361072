"""Tests of the customer-base simulators."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import polars as pl
import pytest

from patron.analytics.errors import InputError
from patron.analytics.simulate import (
    cohort_ages,
    simulate_bgnbd,
    simulate_mbgnbd,
    simulate_pareto_nbd,
    simulate_transactions,
)
from patron.analytics.summary import customer_summary

BG = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.5}


@pytest.mark.parametrize(
    ("simulate", "params"),
    [
        (simulate_bgnbd, BG),
        (simulate_mbgnbd, BG),
        (simulate_pareto_nbd, {"r": 0.5, "alpha": 4.0, "s": 0.6, "beta": 10.0}),
    ],
)
def test_it_draws_consistent_reproducible_histories(
    simulate: Callable[..., pl.DataFrame], params: dict[str, float]
) -> None:
    ages = cohort_ages(5000, calibration=39.0, acquisition=12.0, seed=1)
    data = simulate(5000, **params, T=ages, seed=2)
    assert data.columns == ["customer_id", "x", "t_x", "T"]
    assert data.equals(simulate(5000, **params, T=ages, seed=2))
    x, t_x, T = (data.get_column(c).to_numpy() for c in ("x", "t_x", "T"))
    assert np.all((t_x >= 0) & (t_x <= T))
    assert np.all(t_x[x == 0] == 0)
    assert 0 < np.mean(x > 0) < 1


def test_it_puts_times_on_a_day_grid_when_asked() -> None:
    ages = cohort_ages(2000, calibration=39.0, acquisition=12.0, seed=3)
    data = simulate_bgnbd(2000, **BG, T=ages, seed=4, resolution=1 / 7)
    days = data.get_column("t_x").to_numpy() * 7
    np.testing.assert_allclose(days, np.round(days), atol=1e-9)


def test_it_spreads_first_purchases_over_the_acquisition_window() -> None:
    ages = cohort_ages(10_000, calibration=39.0, acquisition=12.0, seed=5)
    assert ages.max() == 39.0
    assert ages.min() == pytest.approx(39.0 - 83 / 7)


def test_it_turns_a_simulated_summary_into_transactions_that_summarise_back() -> None:
    as_of = date(1997, 9, 30)
    ages = cohort_ages(3000, calibration=39.0, acquisition=12.0, seed=6)
    frequency = simulate_bgnbd(3000, **BG, T=ages, seed=7, resolution=1 / 7)
    transactions = simulate_transactions(frequency, as_of=as_of, p=6.0, q=4.0, gamma=15.0, seed=8)
    assert transactions.height == frequency.get_column("x").sum() + 3000
    summary = customer_summary(transactions, as_of=as_of)
    assert summary.get_column("T").equals(frequency.get_column("T"))
    # Two purchases can share a day and merge; that is rare.
    same = summary.get_column("x").to_numpy() == frequency.get_column("x").to_numpy()
    assert same.mean() > 0.95
    amounts = transactions.get_column("amount").to_numpy()
    assert np.all(amounts >= 0)
    assert amounts.mean() == pytest.approx(6.0 * 15.0 / 3.0, rel=0.1)


def test_it_refuses_impossible_parameters() -> None:
    with pytest.raises(InputError, match="alpha"):
        simulate_bgnbd(10, r=1.0, alpha=0.0, a=1.0, b=1.0)
    with pytest.raises(InputError, match="T"):
        simulate_pareto_nbd(10, r=1.0, alpha=1.0, s=1.0, beta=1.0, T=-1.0)
    frequency = pl.DataFrame({"customer_id": [1], "x": [0], "t_x": [0.0], "T": [1.0]})
    with pytest.raises(InputError, match="q"):
        simulate_transactions(frequency, as_of=date(2024, 1, 1), p=1.0, q=-2.0, gamma=1.0)
