"""Worked figures published for the CDNOW sample, beyond the parameter estimates.

Each model's estimates are checked in its own test module; here its forecasts are checked
against the numbers printed by the authors' spreadsheets and by the reference R packages that
follow the papers, each cited where it is used. Weekly time, calibration weeks 1-39.
"""

from __future__ import annotations

import polars as pl
import pytest

from patron.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)

BGNBD_PAPER = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL 2005, Marketing Science
BGNBD_FULL = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}
PNBD_BTYD = {"r": 0.5534, "alpha": 10.5802, "s": 0.6061, "beta": 11.6562}  # BTYD walkthrough fit
GG_PAPER = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # Fader & Hardie 2013, Gamma-Gamma note


def _model(cls: type, params: dict[str, float]):
    model = cls()
    model.params_ = dict(params)
    return model


def _one(x: float, t_x: float, T: float, monetary: float | None = None) -> pl.DataFrame:
    data = {"x": [x], "t_x": [t_x], "T": [T]}
    if monetary is not None:
        data["monetary"] = [monetary]
    return pl.DataFrame(data, schema_overrides={"x": pl.Float64})


@pytest.mark.parametrize(
    ("weeks", "published"),
    # Hardie, "Implementing the BG/NBD Model for Customer Base Analysis in Excel" (note 004):
    # the expected number of repeat purchases E[X(t)] of a new customer, as the spreadsheet
    # tabulates it for the cumulative tracking plot (also checked by lifetimes' test suite).
    [(0.1429, 0.0078), (1.0, 0.0532), (3.0, 0.1506), (31.8571, 1.0405), (32.0, 1.0437),
     (78.0, 1.8576)],
)
def test_bgnbd_expects_the_spreadsheets_purchases_of_a_new_customer(weeks, published):
    assert _model(BetaGeoModel, BGNBD_FULL).expected_purchases(weeks) == pytest.approx(
        published, abs=6e-4
    )


def test_bgnbd_fitted_on_cdnow_gives_the_same_tracking_curve(cdnow_summary: pl.DataFrame):
    fitted = BetaGeoModel().fit(cdnow_summary)
    assert fitted.expected_purchases(78.0) == pytest.approx(1.8576, abs=6e-4)


def test_pareto_nbd_gives_the_btyd_walkthroughs_customer_1516():
    # McCarthy & Wadsworth, "Buy 'Til You Die - A Walkthrough" (R package BTYD), p. 8: the
    # CDNOW customer with x = 26, t_x = 30.86, T = 31 is expected to make 25.46 purchases in
    # the next 52 weeks and is alive with probability 0.9979.
    model = _model(ParetoNBDModel, PNBD_BTYD)
    customer = _one(26, 30.86, 31.0)
    assert model.conditional_expected_purchases(52.0, customer)[0] == pytest.approx(25.46, abs=0.01)
    assert model.probability_alive(customer)[0] == pytest.approx(0.9979, abs=1e-4)


@pytest.mark.parametrize(
    ("x", "monetary", "published"),
    # Fader & Hardie, "The Gamma-Gamma Model of Monetary Value" (note 025), its spreadsheet's
    # expected average transaction value E(M | x, m) for the first CDNOW-sample customers
    # (printed to the cent; the note's parameters are rounded to two decimals).
    [(2, 22.35, 24.65), (0, 0.0, 35.17)],
)
def test_gamma_gamma_gives_the_notes_expected_spend(x, monetary, published):
    model = _model(GammaGammaModel, GG_PAPER)
    expected = model.conditional_expected_spend(_one(x, 10.0 if x else 0.0, 38.0, monetary))[0]
    assert expected == pytest.approx(published, abs=0.06)


def test_mbgnbd_agrees_with_btydplus_on_cdnow(cdnow_summary: pl.DataFrame):
    # No paper fits the MBG/NBD to CDNOW; the reference implementation (R package BTYDplus,
    # Platzer, mbgnbd.EstimateParameters on the CDNOW sample) gives these, to three decimals.
    fitted = ModifiedBetaGeoModel().fit(cdnow_summary)
    for name, value in {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}.items():
        assert fitted.params_[name] == pytest.approx(value, rel=2e-3), name
