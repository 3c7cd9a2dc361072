"""Service signals (complaints, lost contact) on top of the purchase-based churn risk."""

from __future__ import annotations

import math

import polars as pl
import pytest

from patron.analytics.churn import REASON_SCHEMA
from patron.analytics.errors import InputError
from patron.analytics.signals import SignalEffects, with_service_signals

GAP = {**dict.fromkeys(REASON_SCHEMA.to_schema()), "key": "gap_vs_usual", "log_odds": 0.8,
       "ratio": 3.0, "days": 90.0, "usual_days": 30.0}


def scored() -> pl.DataFrame:
    return pl.DataFrame(
        {"customer_id": ["a", "b", "c", "d"], "churn_risk": [0.2, 0.5, None, 0.3],
         "churn_reasons": [[GAP], [], [], []]},
        schema={"customer_id": pl.String, "churn_risk": pl.Float64,
                "churn_reasons": pl.List(REASON_SCHEMA)},
    )


def signals(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, orient="row", schema={
        "customer_id": pl.String, "complaints": pl.Int64, "days_since_complaint": pl.Float64,
        "days_since_lost_contact": pl.Float64})


def odds(p: float) -> float:
    return p / (1 - p)


def test_a_recent_complaint_doubles_the_odds_and_leads_the_reasons():
    out = with_service_signals(scored(), signals([("a", 2, 5.0, None)]))
    risk = out.get_column("churn_risk").to_list()
    assert odds(risk[0]) == pytest.approx(2 * odds(0.2))
    assert risk[1:] == [0.5, None, 0.3]  # customers without a signal are untouched
    reasons = out.get_column("churn_reasons").to_list()[0]
    assert [r["key"] for r in reasons] == ["complaint", "gap_vs_usual"]
    assert reasons[0]["count"] == 2 and reasons[0]["days"] == 5.0
    assert reasons[0]["log_odds"] == pytest.approx(math.log(2), abs=1e-3)


def test_lost_contact_and_a_complaint_add_up():
    out = with_service_signals(scored(), signals([("b", 1, 10.0, 20.0)]))
    assert odds(out.get_column("churn_risk")[1]) == pytest.approx(8 * odds(0.5))
    keys = [r["key"] for r in out.get_column("churn_reasons")[1]]
    assert keys == ["lost_contact", "complaint"]


def test_an_old_complaint_no_longer_counts():
    out = with_service_signals(scored(), signals([("d", 1, 91.0, None)]))
    assert out.equals(scored())


def test_the_effects_are_settings():
    effects = SignalEffects(complaint=math.log(3), lost_contact=0.0, complaint_days=365)
    out = with_service_signals(scored(), signals([("d", 1, 200.0, None)]), effects=effects)
    assert odds(out.get_column("churn_risk")[3]) == pytest.approx(3 * odds(0.3))


def test_a_customer_without_a_churn_score_keeps_none_but_gets_the_reason():
    out = with_service_signals(scored(), signals([("c", 0, None, 3.0)]))
    assert out.get_column("churn_risk")[2] is None
    assert [r["key"] for r in out.get_column("churn_reasons")[2]] == ["lost_contact"]


def test_it_names_a_missing_column():
    with pytest.raises(InputError, match="days_since_lost_contact"):
        with_service_signals(scored(), signals([]).drop("days_since_lost_contact"))
