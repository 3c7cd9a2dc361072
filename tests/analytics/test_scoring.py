import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.analytics.errors import InputError, InsufficientDataError, NotFittedError
from patron.analytics.evaluation import brier_score, calibration_table, log_loss, roc_auc
from patron.analytics.scoring import (
    SIGNALS,
    NaiveBayesWinModel,
    OpportunityPriorityScorer,
    WinProbabilityModel,
)


def scorer(**kwargs: object) -> OpportunityPriorityScorer:
    params = {"value_reference": 10_000.0, "amount_reference": 50_000.0, **kwargs}
    return OpportunityPriorityScorer(**params).fit(pl.DataFrame())  # type: ignore[arg-type]


# --- OpportunityPriorityScorer --------------------------------------------------------------


def test_it_scores_a_hand_computed_opportunity() -> None:
    deal = pl.DataFrame({"opportunity_id": [7], "stage_probability": [0.5],
                         "recent_interactions": [2]})
    row = scorer().score(deal).row(0, named=True)
    # intent: 40 * 0.5 + 25 * (1 - 0.5 ** (2 / 2)); competition: unknown rival and discount each
    # earn half (20 + 12.5); no value evidence; no risk.
    assert row["opportunity_id"] == 7
    assert row["intent_score"] == pytest.approx(32.5)
    assert row["value_score"] == pytest.approx(0.0)
    assert row["competition_score"] == pytest.approx(32.5)
    assert row["risk_score"] == pytest.approx(0.0)
    assert row["priority_score"] == pytest.approx(0.35 * 32.5 + 0.2 * 32.5 + 0.2 * 100)


def test_it_explains_each_point_with_a_stable_key() -> None:
    deal = pl.DataFrame({"stage_probability": [0.5], "recent_interactions": [2],
                         "competitor_present": [True], "discount_requested": [0.0],
                         "days_in_stage": [45], "stage_expected_days": [30]})
    explanation = {e["key"]: e for e in scorer().score(deal)["explanation"][0]}
    assert set(explanation) == {"intent.stage_probability", "intent.recent_interactions",
                                "competition.price_position", "risk.stalled"}
    stalled = explanation["risk.stalled"]
    assert stalled["value"] == 45
    assert stalled["reference"] == 30
    assert stalled["points"] == pytest.approx(25 * 0.5)
    assert stalled["contribution"] == pytest.approx(-0.2 * 12.5)
    assert explanation["intent.recent_interactions"]["contribution"] == pytest.approx(0.35 * 12.5)


def test_it_orders_the_explanation_by_effect_on_the_total() -> None:
    deal = pl.DataFrame({"stage_probability": [0.9], "recent_interactions": [1],
                         "days_to_close": [-30], "competitor_present": [True]})
    effects = [abs(e["contribution"]) for e in scorer().score(deal)["explanation"][0]]
    assert effects == sorted(effects, reverse=True)


def test_it_uses_the_learnt_money_scales() -> None:
    deals = pl.DataFrame({"amount": [float(a) for a in range(1, 101)],
                          "customer_value": [0.0] * 99 + [500.0]})
    fitted = OpportunityPriorityScorer().fit(deals)
    assert fitted.references_["amount"] == pytest.approx(np.quantile(np.arange(1, 101), 0.9))
    assert fitted.references_["customer_value"] == pytest.approx(500.0)
    scores = fitted.score(deals)
    top = {e["key"]: e for e in scores["explanation"][99]}
    assert top["value.amount"]["points"] == pytest.approx(30.0)
    assert top["value.customer_value"]["points"] == pytest.approx(40.0)


def test_it_lets_the_weights_choose_the_parts() -> None:
    deals = pl.DataFrame({"stage_probability": [0.2, 0.8], "days_to_close": [-60, 10]})
    only_intent = scorer(weights={"intent": 3, "value": 0, "competition": 0, "risk": 0})
    scores = only_intent.score(deals)
    assert only_intent.weights_["intent"] == 1.0
    assert scores["priority_score"].to_list() == pytest.approx(scores["intent_score"].to_list())


def test_it_scores_an_empty_frame() -> None:
    assert scorer().score(pl.DataFrame({"amount": []}, schema={"amount": pl.Float64})).height == 0


@pytest.mark.parametrize(
    ("column", "values"),
    [("stage_probability", [0.2, 1.5]), ("recent_interactions", [1, -2]),
     ("competitor_present", [0, 2])],
)
def test_it_names_the_row_and_column_of_a_bad_value(column: str, values: list[float]) -> None:
    with pytest.raises(InputError) as error:
        scorer().score(pl.DataFrame({column: values}))
    assert (error.value.row, error.value.column) == (2, column)


def test_it_refuses_text_where_a_number_is_expected() -> None:
    with pytest.raises(InputError) as error:
        scorer().score(pl.DataFrame({"amount": ["a lot"]}))
    assert error.value.column == "amount"


def test_it_refuses_weights_that_do_not_name_the_four_parts() -> None:
    with pytest.raises(InputError):
        OpportunityPriorityScorer(weights={"intent": 1.0}, value_reference=1.0,
                                  amount_reference=1.0).fit(pl.DataFrame())


def test_it_needs_a_money_scale_to_learn_or_be_given() -> None:
    with pytest.raises(InsufficientDataError):
        OpportunityPriorityScorer().fit(pl.DataFrame({"amount": [0.0, 0.0]}))


def test_it_refuses_to_score_before_fit() -> None:
    with pytest.raises(NotFittedError):
        OpportunityPriorityScorer().score(pl.DataFrame({"amount": [1.0]}))


def test_it_gives_every_part_one_hundred_points_at_most() -> None:
    for part in ("intent", "value", "competition", "risk"):
        assert sum(s.max_points for s in SIGNALS if s.part == part) == 100


opportunity = st.fixed_dictionaries({
    "stage_probability": st.floats(0, 1), "recent_interactions": st.integers(0, 50),
    "recent_visits": st.integers(0, 50), "inbound_request": st.booleans(),
    "customer_value": st.floats(0, 1e6), "amount": st.floats(0, 1e6),
    "competitor_present": st.none() | st.booleans(), "discount_requested": st.floats(0, 1),
    "days_to_close": st.integers(-400, 400), "days_in_stage": st.integers(0, 400),
    "days_since_last_interaction": st.integers(0, 400), "credit_risk": st.floats(0, 1),
})


@settings(max_examples=30, deadline=None)
@given(st.lists(opportunity, min_size=1, max_size=8))
def test_it_keeps_every_score_between_0_and_100_and_adds_up(rows: list[dict]) -> None:
    fitted = scorer()
    scores = fitted.score(pl.DataFrame(rows))
    for part in ("intent", "value", "competition", "risk", "priority"):
        values = scores[f"{part}_score"].to_numpy()
        assert ((values >= -1e-9) & (values <= 100 + 1e-9)).all()
    for row in scores.iter_rows(named=True):
        explained = sum(e["contribution"] for e in row["explanation"])
        assert row["priority_score"] == pytest.approx(100 * fitted.weights_["risk"] + explained)


@settings(max_examples=30, deadline=None)
@given(opportunity, st.integers(0, 20), st.integers(1, 60))
def test_it_rises_with_engagement_and_falls_with_delay(deal: dict, more: int, late: int) -> None:
    base = pl.DataFrame([deal])
    engaged = base.with_columns(pl.col("recent_interactions") + more)
    overdue = base.with_columns(pl.col("days_to_close").clip(upper_bound=0) - late)
    fitted = scorer()
    priority = [fitted.score(f)["priority_score"][0] for f in (base, engaged, overdue)]
    assert priority[1] >= priority[0] - 1e-9
    assert priority[2] <= priority[0] + 1e-9


# --- WinProbabilityModel and NaiveBayesWinModel ----------------------------------------------


def simulate_deals(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Closed deals with the redundancy of real CRM fields, and their true win probabilities.

    A latent engagement drives meetings, calls, demos and proposals (correlated fields), company
    size drives the amount, a rival goes with bigger discount requests, and region is noise. The
    true logit is additive in industry, source, rep, engagement, rival, log amount and time in the
    pipeline beyond 60 days.
    """
    rng = np.random.default_rng(seed)
    industries = np.array(["retail", "manufacturing", "finance", "health", "education", "public"])
    industry_effect = np.array([0.3, 0.0, -0.2, 0.4, -0.5, -0.8])
    sources = np.array(["referral", "web", "event", "cold_call", "partner"])
    source_effect = np.array([0.9, 0.0, 0.3, -0.9, 0.5])
    rep_skill = np.array([-0.6, -0.3, -0.1, 0.0, 0.1, 0.2, 0.4, 0.7])
    industry = rng.integers(0, 6, size=n)
    source = rng.choice(5, size=n, p=[0.15, 0.35, 0.15, 0.25, 0.10])
    rep = rng.integers(0, 8, size=n)
    engaged = rng.uniform(size=n) < 0.5
    meetings = rng.poisson(1.0 + 3.0 * engaged)
    calls = rng.poisson(1.0 + 1.5 * meetings)
    demo_done = rng.uniform(size=n) < np.where(meetings >= 2, 0.85, 0.15)
    proposal_sent = demo_done & (rng.uniform(size=n) < 0.9)
    days_in_pipeline = np.round(rng.gamma(2.0, 15.0, size=n) + 8.0 * meetings)
    competitor = rng.uniform(size=n) < 0.4
    discount = np.clip(rng.normal(np.where(competitor, 0.15, 0.05), 0.05), 0.0, 0.5)
    log_size = rng.normal(4.0 + 0.5 * (industry == 2), 1.2, size=n)
    amount = np.round(np.exp(5.5 + 0.8 * log_size + rng.normal(0.0, 0.4, size=n)), 2)
    logit = (
        -0.4 + industry_effect[industry] + source_effect[source] + rep_skill[rep]
        + 1.2 * engaged - 0.6 * competitor - 0.35 * np.log(amount / 8000.0)
        - 0.015 * np.maximum(days_in_pipeline - 60.0, 0.0)
    )
    p = 1.0 / (1.0 + np.exp(-logit))
    source_text = sources[source].astype(object)
    source_text[rng.uniform(size=n) < 0.05] = None  # a field left blank now and then
    frame = pl.DataFrame({
        "industry": industries[industry], "lead_source": list(source_text),
        "rep": [f"rep{r}" for r in rep],
        "region": rng.choice(["north", "south", "east", "west"], size=n),
        "meetings": meetings, "calls": calls, "demo_done": demo_done,
        "proposal_sent": proposal_sent, "days_in_pipeline": days_in_pipeline,
        "competitor_present": competitor, "discount_requested": discount,
        "employees": np.round(np.exp(log_size)), "amount": amount,
        "won": rng.uniform(size=n) < p,
    })
    return frame, p


@pytest.fixture(scope="module")
def deals() -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    train, _ = simulate_deals(3000, 11)
    test, true_p = simulate_deals(3000, 12)
    return train, test, true_p


def test_it_wins_over_naive_bayes_on_held_out_deals(deals) -> None:
    train, test, _ = deals
    y = test["won"].to_numpy()
    learnt = WinProbabilityModel().fit(train, "won").predict_proba(test)
    naive = NaiveBayesWinModel().fit(train, "won").predict_proba(test)
    assert roc_auc(y, learnt) > roc_auc(y, naive)
    assert log_loss(y, learnt) < log_loss(y, naive)
    assert brier_score(y, learnt) < brier_score(y, naive)


def test_it_comes_close_to_the_true_probabilities(deals) -> None:
    train, test, true_p = deals
    y = test["won"].to_numpy()
    learnt = WinProbabilityModel().fit(train, "won").predict_proba(test)
    assert roc_auc(y, learnt) > roc_auc(y, true_p) - 0.05
    assert np.corrcoef(learnt, true_p)[0, 1] > 0.85
    table = calibration_table(y, learnt, n_bins=5)
    assert table["gap"].abs().max() < 0.06


@pytest.mark.parametrize("model", [WinProbabilityModel(), NaiveBayesWinModel()])
def test_it_splits_each_logit_into_field_contributions(deals, model) -> None:
    train, test, _ = deals
    fitted = model.fit(train, "won")
    parts = fitted.contributions(test.head(50))
    logit = parts.select(pl.sum_horizontal(pl.all())).to_series().to_numpy()
    p = fitted.predict_proba(test.head(50))
    assert logit == pytest.approx(np.log(p / (1 - p)))
    assert set(parts.columns) == {*train.drop("won").columns, "base_logit"}


def test_it_blames_a_rival_for_a_lower_chance(deals) -> None:
    train, _, _ = deals
    fitted = WinProbabilityModel().fit(train, "won")
    rival = fitted.contributions(train.head(200).with_columns(competitor_present=pl.lit(True)))
    none = fitted.contributions(train.head(200).with_columns(competitor_present=pl.lit(False)))
    assert (rival["competitor_present"] < none["competitor_present"]).all()
    coefs = fitted.coefficients_.filter(pl.col("field") == "lead_source")
    coef = dict(zip(coefs["level"], coefs["coef"], strict=True))
    assert coef["referral"] > coef["web"] > coef["cold_call"]


def test_it_explains_a_prediction_by_its_strongest_fields(deals) -> None:
    train, test, _ = deals
    explained = WinProbabilityModel().fit(train, "won").explain(test.head(5), top=3)
    assert explained.columns == ["win_probability", "explanation"]
    for reasons in explained["explanation"]:
        assert len(reasons) == 3
        sizes = [abs(r["log_odds"]) for r in reasons]
        assert sizes == sorted(sizes, reverse=True)
        assert all(r["key"] == "win.field" for r in reasons)


def test_it_computes_naive_bayes_by_hand() -> None:
    deals = pl.DataFrame({"colour": ["red", "red", "blue", "blue", "blue", "red"],
                          "won": [1, 1, 1, 0, 0, 0]})
    fitted = NaiveBayesWinModel(alpha=1.0, min_count=1).fit(deals, "won")
    # Levels: blue, red, (missing), (other). P(red | won) = (2 + 1) / (3 + 4) = 3/7,
    # P(red | lost) = (1 + 1) / 7, equal priors: P(won | red) = 3 / (3 + 2).
    p = fitted.predict_proba(pl.DataFrame({"colour": ["red", "green"]}))
    assert p[0] == pytest.approx(0.6)
    assert p[1] == pytest.approx(0.5)  # unseen -> "(other)", never seen in either class


def test_it_puts_unseen_and_missing_values_in_their_own_levels(deals) -> None:
    train, test, _ = deals
    fitted = WinProbabilityModel().fit(train, "won")
    odd = test.head(3).with_columns(industry=pl.lit("space travel"),
                                    amount=pl.lit(None, dtype=pl.Float64))
    explained = fitted.explain(odd, top=len(train.columns) - 1)
    levels = {r["field"]: r["level"] for r in explained["explanation"][0]}
    assert levels["industry"] == "(other)"
    assert levels["amount"] == "(missing)"
    assert np.isfinite(explained["win_probability"].to_numpy()).all()


def test_it_needs_both_won_and_lost_deals() -> None:
    with pytest.raises(InsufficientDataError):
        WinProbabilityModel().fit(pl.DataFrame({"x": [1, 2], "won": [True, True]}), "won")


def test_it_names_the_row_of_an_open_deal_in_the_training_set() -> None:
    with pytest.raises(InputError) as error:
        NaiveBayesWinModel().fit(pl.DataFrame({"x": [1, 2, 3], "won": [1, None, 0]}), "won")
    assert (error.value.row, error.value.column) == (2, "won")


def test_it_names_a_field_missing_at_prediction(deals) -> None:
    train, test, _ = deals
    fitted = NaiveBayesWinModel().fit(train, "won")
    with pytest.raises(InputError) as error:
        fitted.predict_proba(test.drop("rep"))
    assert error.value.column == "rep"


def test_it_refuses_to_predict_before_fit() -> None:
    with pytest.raises(NotFittedError):
        WinProbabilityModel().predict_proba(pl.DataFrame({"x": [1]}))


def test_it_uses_only_the_named_features(deals) -> None:
    train, _, _ = deals
    fitted = WinProbabilityModel(features=["lead_source", "amount"]).fit(train, "won")
    assert set(fitted.coefficients_["field"].unique()) == {"lead_source", "amount"}
    assert math.isfinite(fitted.base_logit_)
