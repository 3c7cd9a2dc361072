"""The fast paths of the lifetime-value core must agree with the plain ones they replace.

Newton's method with the exact Hessian (against L-BFGS-B and finite differences), forecasts on
distinct (x, T) pairs (against customer by customer), the pruned quadrature (against every
node) and the grid lookup of distinct values (against np.unique).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln

from patron.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    _base,
    _purchase,
)
from patron.analytics.clv._base import frequency_arrays, levels_and_codes
from patron.analytics.clv._purchase import Rows, counted_distinct_rows
from patron.analytics.clv.gamma_gamma import _Spends, spend_arrays
from patron.analytics.simulate import (
    cohort_ages,
    simulate_bgnbd,
    simulate_mbgnbd,
    simulate_transactions,
)
from patron.analytics.summary import customer_summary

TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
AS_OF = date(1997, 9, 30)


@pytest.fixture(scope="module")
def frequencies() -> pl.DataFrame:
    ages = cohort_ages(30_000, calibration=39.0, acquisition=12.0, seed=21)
    return simulate_bgnbd(30_000, **TRUE, T=ages, seed=22, resolution=1 / 7)


@pytest.fixture(scope="module")
def summary(frequencies: pl.DataFrame) -> pl.DataFrame:
    transactions = simulate_transactions(
        frequencies, as_of=AS_OF, p=6.0, q=4.0, gamma=15.0, seed=23
    )
    return customer_summary(transactions, as_of=AS_OF)


def _finite_difference(gradient, theta: np.ndarray) -> np.ndarray:
    hess = np.empty((theta.size, theta.size))
    for i in range(theta.size):
        h = 1e-6 * theta[i]
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        hess[:, i] = (gradient(up) - gradient(down)) / (2 * h)
    return hess


@pytest.mark.parametrize(
    ("model", "simulate"),
    [(BetaGeoModel, simulate_bgnbd), (ModifiedBetaGeoModel, simulate_mbgnbd)],
)
def test_it_gives_the_exact_hessian_of_the_purchase_likelihood(model, simulate) -> None:
    ages = cohort_ages(5_000, calibration=39.0, acquisition=12.0, seed=5)
    data = simulate(5_000, **TRUE, T=ages, seed=6, resolution=1 / 7)
    rows, weights = counted_distinct_rows(*frequency_arrays(data))
    fitted, theta = model(), np.array([0.3, 3.5, 0.7, 2.2])
    ll, grad, hess = fitted._loglik_hessian(theta, rows, weights)
    assert ll == fitted._loglik(theta, rows, weights)[0]
    np.testing.assert_array_equal(grad, fitted._loglik(theta, rows, weights)[1])
    by_differences = _finite_difference(lambda t: fitted._loglik(t, rows, weights)[1], theta)
    np.testing.assert_allclose(hess, by_differences, rtol=1e-6)
    np.testing.assert_array_equal(hess, hess.T)


def test_it_gives_the_exact_hessian_of_the_spend_likelihood(summary: pl.DataFrame) -> None:
    x, m = spend_arrays(summary)
    data, theta = _Spends(x[x > 0], m[x > 0]), np.array([5.0, 3.5, 14.0])
    hess = GammaGammaModel._summed_terms(theta, data, hessian=True)[2]
    by_differences = _finite_difference(lambda t: GammaGammaModel._summed_terms(t, data)[1], theta)
    np.testing.assert_allclose(hess, by_differences, rtol=1e-6)


def _fit_both_ways(monkeypatch, fit):
    """The fit by the sampled warm start + Newton, and by L-BFGS-B alone (Newton refused)."""
    with monkeypatch.context() as patched:
        patched.setattr(_base, "_SUBSAMPLE_ROWS", 300)  # the large-data path on test data
        newton = fit()
        patched.setattr(_base, "_newton", lambda *args: None)
        lbfgs = fit()
    return newton, lbfgs


@pytest.mark.parametrize("model", [BetaGeoModel, GammaGammaModel])
def test_newton_from_a_sample_reaches_the_lbfgs_optimum(
    monkeypatch, model, summary: pl.DataFrame
) -> None:
    newton, lbfgs = _fit_both_ways(monkeypatch, lambda: model().fit(summary))
    assert newton.converged_ and lbfgs.converged_
    for name, value in lbfgs.params_.items():
        assert newton.params_[name] == pytest.approx(value, rel=1e-6), name
        assert newton.standard_errors_[name] == pytest.approx(
            lbfgs.standard_errors_[name], rel=1e-4
        ), name
    assert newton.loglik_ == pytest.approx(lbfgs.loglik_, rel=1e-12)


def test_the_exact_hessian_gives_the_finite_difference_standard_errors(
    monkeypatch, frequencies: pl.DataFrame
) -> None:
    exact = BetaGeoModel().fit(frequencies)
    monkeypatch.setattr(BetaGeoModel, "_EXACT_HESSIAN", False)
    approximated = BetaGeoModel().fit(frequencies)
    for name, value in approximated.standard_errors_.items():
        assert exact.standard_errors_[name] == pytest.approx(value, rel=1e-5), name
        assert exact.params_[name] == pytest.approx(approximated.params_[name], rel=1e-6), name


def test_it_forecasts_on_distinct_pairs_as_customer_by_customer() -> None:
    model = BetaGeoModel()
    model.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    x = np.array([0, 2, 2, 2, 140, 140, 7, 0], dtype=float)  # x = 140: quadrature
    t_x = np.array([0, 10, 10, 30, 35, 35, 1, 0], dtype=float)
    T = np.array([20, 38, 38, 38, 38, 38, 39, 20], dtype=float)
    frame = pl.DataFrame({"x": x, "t_x": t_x, "T": T})
    times = [1.0, 4.35, 52.0]
    got = model.forecast(times, frame)
    assert got.by_pair.shape == (4, 3)  # (x, T) = (0, 20), (2, 38), (7, 39), (140, 38)
    one_by_one = np.array(
        [
            [
                model._p_alive(Rows(x[[i]], t_x[[i]], T[[i]]))[0]
                * model._expected_alive(t, Rows(x[[i]], t_x[[i]], T[[i]]))[0]
                for t in times
            ]
            for i in range(x.size)
        ]
    )
    np.testing.assert_allclose(got.cumulative(), one_by_one, rtol=1e-12)
    np.testing.assert_allclose(got.horizon(1), one_by_one[:, 1], rtol=1e-12)


def _quadrature_on_every_node(r_x, a, b, horizon):
    """The trapezoid sum before the negligible nodes were skipped."""
    log_p, log_q = _purchase._LOG_P, _purchase._LOG_Q
    rx, bb, h = r_x[:, None], b[:, None], horizon[:, None]
    with np.errstate(divide="ignore"):
        log_bought = np.log(-np.expm1(-rx * np.log1p(np.exp(log_p) * h)))
    log_weight = (a - 1.0) * log_p + bb * log_q - betaln(a, bb)
    return (np.exp(log_bought + log_weight) * _purchase._DY).sum(axis=1)


def test_the_quadrature_skips_only_negligible_nodes() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        r, a = 10 ** rng.uniform(-2, 1.5), 10 ** rng.uniform(-2, 1.5)
        x = np.sort(rng.integers(0, 3000, 40)).astype(float)
        b = 10 ** rng.uniform(-2, 1.5) + x
        horizon = 10 ** rng.uniform(-4, 3, x.size)
        got = _purchase._expected_alive_by_quadrature(r + x, a, b, horizon)
        want = _quadrature_on_every_node(r + x, a, b, horizon)
        np.testing.assert_allclose(got, want, rtol=1e-13)


def _column(kind: str, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "counts":
        return rng.integers(0, 60, size).astype(float)
    if kind == "weeks of days":
        return rng.integers(0, 800, size) / 7
    if kind == "sparse grid":  # a grid wider than 4 values per row: np.unique instead
        return rng.integers(0, 100 * size, size) / 7
    return rng.uniform(0, 1e3, size)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["counts", "weeks of days", "sparse grid", "continuous"]),
    st.integers(1, 3000),
    st.integers(0, 2**32 - 1),
)
def test_the_grid_lookup_finds_what_np_unique_finds(kind: str, size: int, seed: int) -> None:
    values = _column(kind, size, seed)
    levels, codes = levels_and_codes(values)
    want_levels, want_codes = np.unique(values, return_inverse=True)
    np.testing.assert_array_equal(levels, want_levels)
    np.testing.assert_array_equal(codes, want_codes.ravel())


def test_the_distinct_rows_keep_the_level_tables_they_were_found_with(
    frequencies: pl.DataFrame, monkeypatch
) -> None:
    x, t_x, T = frequency_arrays(frequencies)
    for table_keys in (_purchase._TABLE_KEYS, 0):  # table lookup, then sort of the keys
        monkeypatch.setattr(_purchase, "_TABLE_KEYS", table_keys)
        rows, counts = counted_distinct_rows(x, t_x, T)
        assert counts.sum() == x.size
        for name, column in (("x_levels", rows.x), ("t_x_levels", rows.t_x), ("T_levels", rows.T)):
            levels, codes = rows.__dict__[name]
            want_levels, want_codes = np.unique(column, return_inverse=True)
            np.testing.assert_array_equal(levels, want_levels)
            np.testing.assert_array_equal(codes, want_codes.ravel())
        keys = np.stack([rows.x, rows.t_x, rows.T])
        assert np.unique(keys, axis=1).shape[1] == counts.size  # distinct indeed
