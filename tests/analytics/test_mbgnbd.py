"""Tests of the MBG/NBD model (Batislam, Denizel & Filiztekin 2007; Wagner & Hoppe 2008).

No published MBG/NBD estimates on the CDNOW sample were found (Batislam et al. fit grocery
data), so these tests check parameter recovery, the likelihood against its definition, and the
expectations against simulation and numerical integration.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import integrate, stats
from scipy.special import betaln, gammaln

from patron.analytics.clv import BetaGeoModel, ModifiedBetaGeoModel
from patron.analytics.simulate import cohort_ages, simulate_mbgnbd

TRUE = {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}


def with_params(**params: float) -> ModifiedBetaGeoModel:
    model = ModifiedBetaGeoModel()
    model.params_ = dict(params)
    return model


def frame(x: list[float], t_x: list[float], T: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"x": x, "t_x": t_x, "T": T}, schema_overrides={"x": pl.Float64})


def test_it_recovers_simulated_parameters() -> None:
    ages = cohort_ages(30_000, calibration=39.0, acquisition=12.0, seed=31)
    data = simulate_mbgnbd(30_000, **TRUE, T=ages, seed=32, resolution=1 / 7)
    model = ModifiedBetaGeoModel().fit(data)
    assert model.converged_
    for name, value in TRUE.items():
        assert abs(model.params_[name] - value) < 4 * model.standard_errors_[name], name


def test_it_computes_the_likelihood_of_its_definition() -> None:
    # L = Gamma(r+x) alpha^r / Gamma(r) B(a, b+x+1) / B(a, b)
    #     [(alpha+T)^-(r+x) + a / (b+x) (alpha+t_x)^-(r+x)], for x = 0 too.
    r, alpha, a, b = TRUE.values()
    cases = [(0, 0.0, 30.0), (1, 2.0, 10.0), (12, 33.0, 39.0)]
    got = with_params(**TRUE).loglik(frame(*[list(c) for c in zip(*cases, strict=True)]))
    for value, (x, t_x, T) in zip(got, cases, strict=True):
        bracket = (alpha + T) ** -(r + x) + a / (b + x) * (alpha + t_x) ** -(r + x)
        want = (
            gammaln(r + x)
            - gammaln(r)
            + r * np.log(alpha)
            + betaln(a, b + x + 1)
            - betaln(a, b)
            + np.log(bracket)
        )
        assert value == pytest.approx(want, rel=1e-12)


def test_it_lets_one_time_buyers_drop_out() -> None:
    model = with_params(**TRUE)
    p_alive = model.probability_alive(frame([0, 0], [0.0, 0.0], [2.0, 30.0]))
    assert 0 < p_alive[1] < p_alive[0] < 1
    # The BG/NBD keeps them alive for sure.
    bg = BetaGeoModel()
    bg.params_ = dict(TRUE)
    assert bg.probability_alive(frame([0], [0.0], [30.0]))[0] == 1.0


def test_it_matches_a_numerical_integral_for_the_conditional_expectation() -> None:
    r, alpha, a, b = TRUE.values()
    model = with_params(**TRUE)
    for x, t_x, T, t in [(0, 0.0, 20.0, 39.0), (5, 30.0, 38.0, 104.0)]:
        data = frame([x], [t_x], [T])

        def integrand(p: float, x: int = x, T: float = T, t: float = t) -> float:
            bought = -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p
            return bought * stats.beta.pdf(p, a, b + x + 1)

        want = model.probability_alive(data)[0] * integrate.quad(integrand, 0, 1, limit=200)[0]
        assert model.conditional_expected_purchases(t, data)[0] == pytest.approx(want, rel=1e-7)


def test_it_expects_as_many_purchases_as_a_simulated_cohort_makes() -> None:
    x = simulate_mbgnbd(200_000, **TRUE, T=52.0, seed=7).get_column("x").to_numpy()
    expected = with_params(**TRUE).expected_purchases(52.0)
    assert abs(x.mean() - expected) < 4 * x.std() / np.sqrt(x.size)


def test_it_fits_the_cdnow_sample(cdnow_summary: pl.DataFrame) -> None:
    # No published figures to compare with: the fit must converge to an interior maximum.
    model = ModifiedBetaGeoModel().fit(cdnow_summary)
    assert model.converged_
    best = model.loglik(cdnow_summary).sum()
    assert best == pytest.approx(model.loglik_, rel=1e-12)
    for name in model.params_:
        for factor in (0.99, 1.01):
            moved = with_params(**{**model.params_, name: model.params_[name] * factor})
            assert moved.loglik(cdnow_summary).sum() < best
