"""Tests of the BG/NBD model (Fader, Hardie & Lee 2005, Marketing Science 24(2), 275-284)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from patron.analytics.clv import BetaGeoModel
from patron.analytics.errors import InputError, InsufficientDataError, NotFittedError
from patron.analytics.simulate import cohort_ages, simulate_bgnbd

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL 2005, section 5
TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}


def with_params(**params: float) -> BetaGeoModel:
    model = BetaGeoModel()
    model.params_ = dict(params)
    return model


def frame(x: list[float], t_x: list[float], T: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"x": x, "t_x": t_x, "T": T}, schema_overrides={"x": pl.Float64})


@pytest.fixture(scope="module")
def cdnow_fit(cdnow_summary: pl.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow_summary)


@pytest.fixture(scope="module")
def simulated() -> pl.DataFrame:
    ages = cohort_ages(30_000, calibration=39.0, acquisition=12.0, seed=11)
    return simulate_bgnbd(30_000, **TRUE, T=ages, seed=12, resolution=1 / 7)


def test_it_reproduces_the_published_cdnow_estimates(cdnow_fit: BetaGeoModel) -> None:
    # The paper gives 3 decimals: agree to half a unit of the last one.
    for name, value in PUBLISHED.items():
        assert abs(cdnow_fit.params_[name] - value) <= 5e-4, name
    assert cdnow_fit.loglik_ == pytest.approx(-9582.4, abs=0.05)
    assert cdnow_fit.converged_
    assert cdnow_fit.n_customers_ == 2357


def test_it_agrees_with_clvtools_to_seven_digits(cdnow_fit: BetaGeoModel) -> None:
    # Cross-implementation check: the estimate in CLVTools' test suite (R package, Bachmann
    # et al.; tests/testthat/test_correctness_bgnbd.R), LL -9582.429.
    clvtools = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}
    for name, value in clvtools.items():
        assert cdnow_fit.params_[name] == pytest.approx(value, rel=1e-4), name
    assert cdnow_fit.loglik_ == pytest.approx(-9582.429, abs=1e-3)


def test_it_gives_the_papers_conditional_expectation() -> None:
    # FHL 2005: a customer with x = 2, t_x = 30.43, T = 38.86 makes 1.226 purchases in the
    # next 39 weeks, under the published estimates.
    model = with_params(**PUBLISHED)
    expected = model.conditional_expected_purchases(39, frame([2], [30.43], [38.86]))
    assert expected[0] == pytest.approx(1.226, abs=5e-4)


def test_it_tracks_cumulative_cdnow_repeat_purchases_to_week_78(
    cdnow_fit: BetaGeoModel, cdnow_summary: pl.DataFrame, cdnow_holdout: pl.DataFrame
) -> None:
    # Our own figures (the paper plots, but does not tabulate, this curve): by 1998-06-30 the
    # 2,357 customers made 2,457 + 1,882 = 4,339 repeat purchases; the model, summing E[X(t)]
    # over each customer's age, expects 4,161 (-4%).
    age = (pl.lit(date(1998, 6, 30)) - pl.col("first_purchase")).dt.total_days() / 7
    ages = cdnow_summary.select(age).to_series().to_numpy()
    expected = sum(cdnow_fit.expected_purchases(a) for a in ages)
    actual = cdnow_summary.get_column("x").sum() + cdnow_holdout.get_column("x_star").sum()
    assert actual == 4339
    assert expected == pytest.approx(actual, rel=0.05)


def test_it_forecasts_the_cdnow_holdout_per_customer(
    cdnow_fit: BetaGeoModel, cdnow_summary: pl.DataFrame, cdnow_holdout: pl.DataFrame
) -> None:
    # Own figures: 1,653 expected against 1,882 actual holdout purchases (-12%); the forecast
    # rises with the calibration frequency as the actual purchases do.
    expected = cdnow_fit.conditional_expected_purchases(39.0, cdnow_summary)
    assert expected.sum() == pytest.approx(1882, rel=0.15)
    by_x = (
        cdnow_summary.with_columns(
            pl.Series("expected", expected), cdnow_holdout.get_column("x_star")
        )
        .group_by(pl.col("x").clip(0, 4))
        .agg(pl.col("expected").mean(), pl.col("x_star").mean())
        .sort("x")
    )
    assert np.all(np.diff(by_x.get_column("expected").to_numpy()) > 0)
    assert np.corrcoef(by_x.get_column("expected"), by_x.get_column("x_star"))[0, 1] > 0.95


def test_it_recovers_simulated_parameters(simulated: pl.DataFrame) -> None:
    model = BetaGeoModel().fit(simulated)
    assert model.converged_
    for name, value in TRUE.items():
        error = model.standard_errors_[name]
        assert abs(model.params_[name] - value) < 4 * error, name
        assert error < 0.15 * value, name


def test_it_fits_the_distinct_rows_only(simulated: pl.DataFrame) -> None:
    model = BetaGeoModel().fit(simulated)
    assert model.n_distinct_ < simulated.height / 2
    assert model.loglik(simulated).sum() == pytest.approx(model.loglik_, rel=1e-12)


def test_it_sits_at_a_maximum_of_the_likelihood(
    cdnow_fit: BetaGeoModel, cdnow_summary: pl.DataFrame
) -> None:
    best = cdnow_fit.loglik(cdnow_summary).sum()
    for name in PUBLISHED:
        for factor in (0.99, 1.01):
            moved = with_params(**{**cdnow_fit.params_, name: cdnow_fit.params_[name] * factor})
            assert moved.loglik(cdnow_summary).sum() < best


@pytest.mark.parametrize(
    ("params", "history"),
    [
        (PUBLISHED, (0, 0.0, 30.0, 39.0)),
        (PUBLISHED, (3, 20.0, 38.0, 52.0)),
        (PUBLISHED, (40, 35.0, 38.0, 260.0)),
        (PUBLISHED, (1000, 37.0, 38.0, 520.0)),  # 2F1 overflows: quadrature fallback
        ({"r": 2.8, "alpha": 76.0, "a": 0.11, "b": 0.2}, (0, 0.0, 166.0, 90.0)),  # a + b < 1
    ],
)
def test_it_matches_a_numerical_integral_for_the_conditional_expectation(
    params: dict[str, float], history: tuple[int, float, float, float]
) -> None:
    # E[Y(t) | alive] = int (1 - (1 + p t / (alpha+T))^-(r+x)) / p dBeta(p; a, b+x): an
    # independent check of the hypergeometric formula and of its quadrature fallback.
    r, alpha, a, b = params.values()
    x, t_x, T, t = history
    model = with_params(**params)
    got = model.conditional_expected_purchases(t, frame([x], [t_x], [T]))[0]
    alive = model.probability_alive(frame([x], [t_x], [T]))[0]

    def integrand(p: float) -> float:
        bought = -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p
        return bought * stats.beta.pdf(p, a, b + x)

    kink = min(0.5, (alpha + T) / t)
    want = integrate.quad(integrand, 0, 1, limit=500, epsrel=1e-10, points=[kink])[0]
    assert np.isfinite(got)
    assert got == pytest.approx(alive * want, rel=1e-6)


def test_it_expects_as_many_purchases_as_a_simulated_cohort_makes() -> None:
    x = simulate_bgnbd(200_000, **TRUE, T=52.0, seed=3).get_column("x").to_numpy()
    expected = with_params(**TRUE).expected_purchases(52.0)
    assert abs(x.mean() - expected) < 4 * x.std() / np.sqrt(x.size)


def test_it_expects_nothing_over_a_zero_horizon(cdnow_fit: BetaGeoModel) -> None:
    assert cdnow_fit.expected_purchases(0.0) == 0.0
    assert cdnow_fit.conditional_expected_purchases(0.0, frame([3], [10.0], [20.0]))[0] == 0.0
    with pytest.raises(InputError):
        cdnow_fit.expected_purchases(-1.0)


def test_it_keeps_customers_without_repeat_purchases_alive(cdnow_fit: BetaGeoModel) -> None:
    p_alive = cdnow_fit.probability_alive(frame([0, 0], [0.0, 0.0], [1.0, 38.0]))
    assert p_alive.tolist() == [1.0, 1.0]


@settings(max_examples=50, deadline=None)
@given(
    x=st.integers(1, 60),
    T=st.floats(1.0, 100.0),
    gaps=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_it_makes_a_customer_less_likely_alive_the_longer_he_is_silent(
    x: int, T: float, gaps: tuple[float, float]
) -> None:
    model = with_params(**PUBLISHED)
    early, late = sorted(gaps)
    p_alive = model.probability_alive(frame([x, x], [early * T, late * T], [T, T]))
    assert np.all((p_alive > 0) & (p_alive <= 1))
    assert p_alive[0] <= p_alive[1] + 1e-12


def test_it_shrinks_the_parameters_with_a_penalizer(cdnow_summary: pl.DataFrame) -> None:
    free = BetaGeoModel().fit(cdnow_summary).params_
    shrunk = BetaGeoModel(penalizer=0.01).fit(cdnow_summary).params_
    assert sum(v**2 for v in shrunk.values()) < sum(v**2 for v in free.values())


def test_it_refuses_data_without_repeat_purchases() -> None:
    with pytest.raises(InsufficientDataError, match="repeat"):
        BetaGeoModel().fit(frame([0] * 10, [0.0] * 10, list(range(1, 11))))


def test_it_refuses_a_single_customer() -> None:
    with pytest.raises(InsufficientDataError):
        BetaGeoModel().fit(frame([3], [5.0], [10.0]))


@pytest.mark.parametrize(
    ("data", "row", "column"),
    [
        (frame([1, 2], [1.0, 12.0], [5.0, 10.0]), 2, "t_x"),
        (frame([1, -2], [1.0, 2.0], [5.0, 10.0]), 2, "x"),
        (frame([1, 2.5], [1.0, 2.0], [5.0, 10.0]), 2, "x"),
        (frame([0, 2], [1.0, 2.0], [5.0, 10.0]), 1, "t_x"),
        (frame([1, 2], [1.0, 2.0], [5.0, float("nan")]), 2, "T"),
    ],
)
def test_it_names_the_row_of_an_impossible_history(
    data: pl.DataFrame, row: int, column: str
) -> None:
    with pytest.raises(InputError) as caught:
        BetaGeoModel().fit(data)
    assert (caught.value.row, caught.value.column) == (row, column)


def test_it_refuses_predictions_before_fit() -> None:
    with pytest.raises(NotFittedError):
        BetaGeoModel().probability_alive(frame([1], [1.0], [2.0]))


def test_it_refuses_a_negative_penalizer(cdnow_summary: pl.DataFrame) -> None:
    with pytest.raises(InputError, match="penalizer"):
        BetaGeoModel(penalizer=-1.0).fit(cdnow_summary)
