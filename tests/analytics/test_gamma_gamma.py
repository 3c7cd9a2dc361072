"""Tests of the Gamma-Gamma spend model (Colombo & Jiang 1999; Fader, Hardie & Lee 2005, JMR)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy import stats

from patron.analytics.clv import GammaGammaModel
from patron.analytics.errors import InputError, InsufficientDataError, NotFittedError
from patron.analytics.simulate import cohort_ages, simulate_bgnbd, simulate_transactions
from patron.analytics.summary import customer_summary

# Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (the spend sub-model of
# Fader, Hardie & Lee 2005, JMR 42(4)): the 946 CDNOW-sample customers with repeat purchases
# in weeks 1-39, m = mean value of their repeat transactions (same-day purchases merged).
PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def with_params(**params: float) -> GammaGammaModel:
    model = GammaGammaModel()
    model.params_ = dict(params)
    return model


@pytest.fixture(scope="module")
def cdnow_fit(cdnow_summary: pl.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(cdnow_summary)


def test_it_reproduces_the_published_cdnow_estimates(cdnow_fit: GammaGammaModel) -> None:
    for name, value in PUBLISHED.items():
        assert abs(cdnow_fit.params_[name] - value) <= 5e-3, name  # to the 2 decimals given
    assert cdnow_fit.n_customers_ == 946
    assert cdnow_fit.converged_
    # Cross-check with CLVTools' test suite (tests/testthat/test_correctness_gg.R): LL at the
    # published estimates -4055.9177, same density of the mean spend.
    assert cdnow_fit.loglik_ == pytest.approx(-4055.9177, abs=1e-3)


def test_it_has_the_mean_spend_of_the_repeat_buyers(
    cdnow_fit: GammaGammaModel, cdnow_summary: pl.DataFrame
) -> None:
    # E[M] = p gamma / (q - 1) = $35.17 against the $35.08 average of the 946 observed means.
    observed = cdnow_summary.filter(pl.col("x") > 0).get_column("monetary").mean()
    assert observed == pytest.approx(35.078, abs=1e-3)
    assert cdnow_fit.mean_spend() == pytest.approx(observed, rel=0.01)
    assert with_params(**PUBLISHED).mean_spend() == pytest.approx(6.25 * 15.44 / 2.74)


def test_it_shrinks_a_customers_mean_towards_the_population_mean() -> None:
    model = with_params(p=6.0, q=4.0, gamma=15.0)  # population mean 30
    data = pl.DataFrame({"x": [0, 1, 1, 50], "monetary": [0.0, 90.0, 10.0, 90.0]})
    spend = model.conditional_expected_spend(data)
    assert spend[0] == pytest.approx(30.0)
    assert spend[1] == pytest.approx((15.0 + 90.0) * 6.0 / (6.0 + 3.0))  # by hand: 70
    assert 10.0 < spend[2] < 30.0
    assert spend[1] < spend[3] < 90.0  # more purchases, less shrinkage


def test_it_recovers_simulated_parameters() -> None:
    ages = cohort_ages(20_000, calibration=39.0, acquisition=12.0, seed=41)
    frequency = simulate_bgnbd(20_000, r=1.0, alpha=4.0, a=0.5, b=3.0, T=ages, seed=42)
    transactions = simulate_transactions(
        frequency, as_of=date(1997, 9, 30), p=6.0, q=4.0, gamma=15.0, seed=43
    )
    summary = customer_summary(transactions, as_of=date(1997, 9, 30))
    model = GammaGammaModel().fit(summary)
    for name, value in {"p": 6.0, "q": 4.0, "gamma": 15.0}.items():
        assert abs(model.params_[name] - value) < 4 * model.standard_errors_[name], name


def test_it_uses_the_density_of_a_mean_of_gamma_spends() -> None:
    # x * m ~ Gamma(p x, nu) given nu: with q large and gamma = q * nu0 the mixing is tight,
    # and the density approaches the one of a plain gamma mean.
    p, nu0, q = 3.0, 0.1, 1e7
    model = with_params(p=p, q=q, gamma=q / nu0)
    data = pl.DataFrame({"x": [4], "monetary": [25.0]})
    want = stats.gamma.logpdf(25.0, p * 4, scale=1 / (nu0 * 4))
    assert model.loglik(data)[0] == pytest.approx(want, rel=1e-5)


def test_it_names_a_repeat_buyer_with_zero_spend(cdnow_summary: pl.DataFrame) -> None:
    data = pl.DataFrame({"x": [2, 1, 3], "monetary": [10.0, 0.0, 5.0]})
    with pytest.raises(InputError) as caught:
        GammaGammaModel().fit(data)
    assert (caught.value.row, caught.value.column) == (2, "monetary")


def test_it_names_a_negative_spend() -> None:
    with pytest.raises(InputError) as caught:
        GammaGammaModel().fit(pl.DataFrame({"x": [2, 1], "monetary": [10.0, -1.0]}))
    assert (caught.value.row, caught.value.column) == (2, "monetary")


def test_it_needs_at_least_two_repeat_buyers() -> None:
    data = pl.DataFrame({"x": [0, 0, 3], "monetary": [0.0, 0.0, 12.0]})
    with pytest.raises(InsufficientDataError):
        GammaGammaModel().fit(data)


def test_it_refuses_predictions_before_fit() -> None:
    with pytest.raises(NotFittedError):
        GammaGammaModel().conditional_expected_spend(pl.DataFrame({"x": [1], "monetary": [1.0]}))


def test_it_has_an_exact_gradient(cdnow_summary: pl.DataFrame) -> None:
    from patron.analytics.clv.gamma_gamma import _Spends

    repeat = cdnow_summary.filter(pl.col("x") > 0)
    data = _Spends(*(repeat.get_column(c).to_numpy().astype(float) for c in ("x", "monetary")))
    theta = np.array([5.0, 3.0, 20.0])
    grad = GammaGammaModel._row_terms(theta, data)[1].sum(axis=1)
    for i in range(3):
        step = np.zeros(3)
        step[i] = 1e-6 * theta[i]
        up = GammaGammaModel._row_terms(theta + step, data)[0].sum()
        down = GammaGammaModel._row_terms(theta - step, data)[0].sum()
        assert grad[i] == pytest.approx((up - down) / (2 * step[i]), rel=1e-6)
