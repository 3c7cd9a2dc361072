"""Tests of the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from scipy.special import gammaln, hyp2f1

from patron.analytics.clv import BetaGeoModel, ParetoNBDModel
from patron.analytics.clv._purchase import Rows
from patron.analytics.clv._special import log_hyp2f1_1bc
from patron.analytics.errors import InsufficientDataError
from patron.analytics.simulate import cohort_ages, simulate_pareto_nbd

# Fader, Hardie & Lee (2005), Marketing Science 24(2), section 5, the Pareto/NBD on the CDNOW
# sample (also the reference of CLVTools' tests/testthat/test_correctness_pnbd.R).
PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
TRUE = {"r": 0.55, "alpha": 10.5, "s": 0.6, "beta": 11.7}


def with_params(**params: float) -> ParetoNBDModel:
    model = ParetoNBDModel()
    model.params_ = dict(params)
    return model


def frame(x: list[float], t_x: list[float], T: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"x": x, "t_x": t_x, "T": T}, schema_overrides={"x": pl.Float64})


@pytest.fixture(scope="module")
def cdnow_fit(cdnow_summary: pl.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow_summary)


def test_it_reproduces_the_published_cdnow_estimates(cdnow_fit: ParetoNBDModel) -> None:
    for name, value in PUBLISHED.items():
        assert abs(cdnow_fit.params_[name] - value) <= 5e-4, name  # to the 3 decimals given
    assert cdnow_fit.loglik_ == pytest.approx(-9595.0, abs=0.05)
    assert cdnow_fit.converged_


def test_it_agrees_with_clvtools_on_estimates_and_standard_errors(
    cdnow_fit: ParetoNBDModel,
) -> None:
    # Cross-implementation check against CLVTools' test suite (R package, Bachmann et al.).
    estimates = {"r": 0.55315, "alpha": 10.57633, "s": 0.60625, "beta": 11.67150}
    errors = {"r": 0.0476264, "alpha": 0.8427222, "s": 0.1872594, "beta": 6.2105448}
    for name in estimates:
        assert cdnow_fit.params_[name] == pytest.approx(estimates[name], rel=1e-3), name
        assert cdnow_fit.standard_errors_[name] == pytest.approx(errors[name], rel=1e-2), name
    assert cdnow_fit.loglik_ == pytest.approx(-9594.976, abs=1e-3)


def direct_loglik(r: float, alpha: float, s: float, beta: float, x: int, t_x: float, T: float):
    """log L by numerical integration of J = int_{t_x}^T (alpha+u)^-(r+x) (beta+u)^-(s+1) du.

    Both terms are scaled by the integrand's value at t_x, so that nothing underflows.
    """

    def log_integrand(u: float) -> float:
        return -(r + x) * np.log(alpha + u) - (s + 1) * np.log(beta + u)

    scale = log_integrand(t_x)
    j = integrate.quad(
        lambda u: np.exp(log_integrand(u) - scale), t_x, T, epsabs=0, epsrel=1e-12, limit=200
    )[0]
    alive = np.exp(-(r + x) * np.log(alpha + T) - s * np.log(beta + T) - scale)
    const = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return const + scale + np.log(alive + s * j)


@pytest.mark.parametrize(
    "params",
    [
        PUBLISHED,  # alpha < beta
        {"r": 0.8, "alpha": 30.0, "s": 1.7, "beta": 2.0},  # alpha > beta
        {"r": 0.3, "alpha": 500.0, "s": 0.4, "beta": 0.5},  # far apart: 2F1 argument near 1
        {"r": 2.0, "alpha": 0.2, "s": 0.05, "beta": 90.0},
    ],
)
def test_it_matches_the_likelihood_by_numerical_integration(params: dict[str, float]) -> None:
    cases = [(0, 0.0, 38.0), (2, 30.43, 38.86), (7, 5.0, 60.0), (150, 70.0, 78.0), (3, 9.0, 9.0)]
    data = frame(*[list(c) for c in zip(*cases, strict=True)])
    got = with_params(**params).loglik(data)
    want = [direct_loglik(**params, x=x, t_x=t_x, T=T) for x, t_x, T in cases]
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_it_evaluates_the_hypergeometric_series_accurately() -> None:
    rng = np.random.default_rng(1)
    b = np.exp(rng.uniform(np.log(0.01), np.log(200), 4000))
    c = np.maximum(b + np.exp(rng.uniform(np.log(0.01), np.log(50), b.size)), 1.001)
    z = rng.uniform(0, 0.999, b.size)
    log_f = log_hyp2f1_1bc(b, c, z)[0]
    np.testing.assert_allclose(log_f, np.log(hyp2f1(1.0, b, c, z)), rtol=0, atol=1e-8)


def test_it_differentiates_the_hypergeometric_series() -> None:
    rng = np.random.default_rng(2)
    b = np.exp(rng.uniform(np.log(0.05), np.log(50), 500))
    c = b + np.exp(rng.uniform(np.log(0.05), np.log(20), b.size)) + 1.0
    z = rng.uniform(0.01, 0.98, b.size)
    _, d_b, d_c, d_z = log_hyp2f1_1bc(b, c, z)
    h = 1e-6
    for analytic, step in ((d_b, (h, 0, 0)), (d_c, (0, h, 0)), (d_z, (0, 0, h))):
        up = log_hyp2f1_1bc(b + step[0], c + step[1], z + step[2])[0]
        down = log_hyp2f1_1bc(b - step[0], c - step[1], z - step[2])[0]
        np.testing.assert_allclose(analytic, (up - down) / (2 * h), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "theta", [[0.55, 10.58, 0.61, 11.67], [0.5, 20.0, 0.8, 2.0], [1.3, 3.0, 2.0, 3.0001]]
)
def test_it_has_an_exact_gradient(cdnow_summary: pl.DataFrame, theta: list[float]) -> None:
    rows = Rows(*(cdnow_summary.get_column(c).to_numpy().astype(float) for c in ("x", "t_x", "T")))
    weights = np.ones(rows.x.size)
    model, point = ParetoNBDModel(), np.array(theta)
    _, grad = model._loglik(point, rows, weights)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * point[i]
        up = model._loglik(point + step, rows, weights)[0]
        down = model._loglik(point - step, rows, weights)[0]
        assert grad[i] == pytest.approx((up - down) / (2 * step[i]), rel=1e-5, abs=1e-4)


def test_it_keeps_p_alive_finite_for_very_frequent_buyers() -> None:
    # Histories that produced NaN in an earlier CLVTools implementation (its test suite).
    model = with_params(r=0.5143, alpha=2.8845, s=0.2856, beta=14.1087)
    data = frame(
        [221, 254, 161, 204],
        [103.42857, 97.14286, 94.71429, 98.57143],
        [103.57143, 97.28571, 98.00000, 99.42857],
    )
    p_alive = model.probability_alive(data)
    assert np.all(np.isfinite(p_alive) & (p_alive > 0) & (p_alive <= 1))
    assert p_alive[2] < p_alive[0]  # silent for 3.3 weeks against 0.14


def test_it_matches_a_numerical_integral_for_the_conditional_expectation() -> None:
    # Given alive at T: lambda ~ Gamma(r+x, alpha+T), mu ~ Gamma(s, beta+T), and the expected
    # purchases in (T, T+t] are E[lambda] E[(1 - exp(-mu t)) / mu].
    r, alpha, s, beta = PUBLISHED.values()
    model = with_params(**PUBLISHED)
    for x, t_x, T, t in [(0, 0.0, 30.0, 39.0), (4, 20.0, 38.0, 104.0)]:
        data = frame([x], [t_x], [T])
        lifetime = integrate.quad(
            lambda mu, T=T, t=t: (
                -np.expm1(-mu * t) / mu * stats.gamma.pdf(mu, s, scale=1 / (beta + T))
            ),
            0,
            np.inf,
        )[0]
        want = model.probability_alive(data)[0] * (r + x) / (alpha + T) * lifetime
        got = model.conditional_expected_purchases(t, data)[0]
        assert got == pytest.approx(want, rel=1e-7)


def test_it_is_continuous_through_s_equal_one() -> None:
    data = frame([3], [20.0], [30.0])
    values = [
        with_params(r=0.5, alpha=10.0, s=s, beta=12.0).conditional_expected_purchases(52, data)[0]
        for s in (1 - 1e-6, 1.0, 1 + 1e-6)
    ]
    assert values[0] == pytest.approx(values[1], rel=1e-5)
    assert values[2] == pytest.approx(values[1], rel=1e-5)


def test_it_recovers_simulated_parameters() -> None:
    ages = cohort_ages(30_000, calibration=39.0, acquisition=12.0, seed=21)
    data = simulate_pareto_nbd(30_000, **TRUE, T=ages, seed=22, resolution=1 / 7)
    model = ParetoNBDModel().fit(data)
    assert model.converged_
    for name, value in TRUE.items():
        assert abs(model.params_[name] - value) < 4 * model.standard_errors_[name], name


def test_it_expects_as_many_purchases_as_a_simulated_cohort_makes() -> None:
    x = simulate_pareto_nbd(200_000, **TRUE, T=52.0, seed=5).get_column("x").to_numpy()
    expected = with_params(**TRUE).expected_purchases(52.0)
    assert abs(x.mean() - expected) < 4 * x.std() / np.sqrt(x.size)


def test_it_forecasts_the_cdnow_holdout_like_the_bgnbd(
    cdnow_fit: ParetoNBDModel, cdnow_summary: pl.DataFrame, cdnow_holdout: pl.DataFrame
) -> None:
    # FHL 2005's point: the two models forecast alike. Own figures: 1,666 (Pareto/NBD) and
    # 1,653 (BG/NBD) expected against 1,882 actual holdout purchases.
    pareto = cdnow_fit.conditional_expected_purchases(39.0, cdnow_summary).sum()
    bgnbd = BetaGeoModel().fit(cdnow_summary).conditional_expected_purchases(39.0, cdnow_summary)
    assert pareto == pytest.approx(bgnbd.sum(), rel=0.02)
    assert pareto == pytest.approx(cdnow_holdout.get_column("x_star").sum(), rel=0.15)


@settings(max_examples=40, deadline=None)
@given(
    x=st.integers(1, 80), T=st.floats(1.0, 150.0), gaps=st.tuples(st.floats(0, 1), st.floats(0, 1))
)
def test_it_makes_a_customer_less_likely_alive_the_longer_he_is_silent(
    x: int, T: float, gaps: tuple[float, float]
) -> None:
    early, late = sorted(gaps)
    p_alive = with_params(**PUBLISHED).probability_alive(
        frame([x, x], [early * T, late * T], [T, T])
    )
    assert np.all((p_alive > 0) & (p_alive <= 1))
    assert p_alive[0] <= p_alive[1] + 1e-12


def test_it_refuses_data_without_repeat_purchases() -> None:
    with pytest.raises(InsufficientDataError):
        ParetoNBDModel().fit(frame([0] * 5, [0.0] * 5, [1.0, 2.0, 3.0, 4.0, 5.0]))
