"""The whole pipeline on CDNOW: one consistent row per customer, the published BG/NBD fit."""

from datetime import date

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from patron.analytics import pipeline
from patron.analytics.classification import LifecycleRules, lifecycle_reason
from patron.analytics.errors import InsufficientDataError
from patron.analytics.pipeline import PipelineOptions, rescore, score_customers, value_core

AS_OF = date(1997, 9, 30)
COLUMNS = [
    "customer_id", "first_purchase", "last_purchase", "n_purchases", "x", "t_x", "T", "recency",
    "monetary", "avg_spend", "total_spend", "days_since_last", "r_score", "f_score", "m_score",
    "rfm_code", "segment", "class8", "p_alive", "expected_purchases", "expected_spend", "clv",
    "frequency_tier", "value_tier", "lifecycle", "classes", "cluster", "cluster_label",
    "churn_risk", "churn_reasons", "recommendations",
]
NEVER_NULL = [c for c in COLUMNS if c != "recommendations"]


@pytest.fixture(scope="module")
def scored(cdnow_transactions):
    steps: list[str] = []
    result = score_customers(cdnow_transactions, as_of=AS_OF, progress=steps.append)
    return result, steps


def test_it_gives_every_cdnow_customer_one_row_with_every_column(scored, cdnow_summary):
    customers = scored[0].customers
    assert customers.columns == COLUMNS
    assert customers.height == cdnow_summary.height == 2357
    assert customers.get_column("customer_id").n_unique() == customers.height
    nulls = {c: n for c, n in zip(customers.columns, customers.null_count().row(0), strict=True)
             if c in NEVER_NULL and n}
    assert nulls == {}


def test_it_gives_values_in_their_ranges(scored):
    c = scored[0].customers
    assert c.select(pl.col("p_alive").is_between(0, 1).all()).item()
    assert c.select(pl.col("churn_risk").is_between(0, 1).all()).item()
    assert c.select((pl.col("expected_purchases") >= 0).all(), (pl.col("clv") >= 0).all()).row(0) \
        == (True, True)
    for score in ("r_score", "f_score", "m_score"):
        assert set(c.get_column(score).unique().to_list()) <= {1, 2, 3, 4, 5}
    assert np.allclose(c.get_column("days_since_last"), c.get_column("recency") * 7)
    # A customer with no repeat purchase has a zero Gamma-Gamma input but a positive expected
    # spend (the population mean shrinks towards it).
    once = c.filter(pl.col("x") == 0)
    assert (once.get_column("expected_spend") > 0).all()


def test_it_reproduces_the_published_bgnbd_estimates(scored):
    # Fader, Hardie & Lee (2005), "Counting your customers the easy way", section 5.
    fit = scored[0].report["bgnbd"]
    assert fit["params"] == pytest.approx(
        {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, rel=2e-3)
    assert fit["loglik"] == pytest.approx(-9582.4, abs=0.1)
    assert fit["converged"]


def test_it_reports_each_step_and_calls_progress_in_order(scored):
    result, steps = scored
    assert steps == list(pipeline.STEPS)
    assert set(pipeline.STEPS) < set(result.report["timings_s"])
    assert {"params", "loglik", "standard_errors"} <= set(result.report["gamma_gamma"])


def test_value_core_gives_the_same_values_as_the_full_run(scored, cdnow_transactions):
    core = value_core(cdnow_transactions, as_of=AS_OF)
    full = scored[0].customers.select(core.customers.columns)
    assert_frame_equal(core.customers.sort("customer_id"), full.sort("customer_id"),
                       check_exact=False, rel_tol=1e-9)
    assert set(core.models) == {"rfm", "purchase", "spend"}


def test_rescore_places_one_customer_as_the_full_run_did(scored, cdnow_transactions):
    result = scored[0]
    one = result.customers.filter(pl.col("x") >= 2).row(0, named=True)["customer_id"]
    again = rescore(result.models, cdnow_transactions.filter(pl.col("customer_id") == one),
                    as_of=AS_OF)
    assert again.columns == COLUMNS
    expected = result.customers.filter(pl.col("customer_id") == one)
    labels = ["r_score", "f_score", "m_score", "segment", "value_tier", "cluster"]
    assert again.select(labels).to_dicts() == expected.select(labels).to_dicts()
    numbers = ["p_alive", "expected_purchases", "clv", "churn_risk"]
    assert again.select(numbers).row(0) == pytest.approx(expected.select(numbers).row(0))


def test_it_fits_churn_on_a_sample_and_still_scores_everyone(cdnow_transactions):
    opts = PipelineOptions(clusters=False, churn_fit_customers=800)
    result = score_customers(cdnow_transactions, as_of=AS_OF, options=opts)
    assert result.report["churn"]["fit_customers"] <= 800
    assert result.customers.get_column("churn_risk").null_count() == 0
    assert result.customers.get_column("cluster").null_count() == result.customers.height


def test_it_refuses_a_date_before_any_purchase(cdnow_transactions):
    with pytest.raises(InsufficientDataError):
        value_core(cdnow_transactions, as_of=date(1996, 12, 31))


def test_every_cdnow_customers_lifecycle_stage_is_explained_by_the_rule_that_placed_it(scored):
    customers = scored[0].customers
    reasons = {}
    for row in customers.select("lifecycle", "days_since_last", "p_alive", "n_purchases").iter_rows(named=True):
        reason = lifecycle_reason(str(row["lifecycle"]), days_since_last=row["days_since_last"], p_alive=row["p_alive"])
        assert reason, row  # the pipeline classifies with the rules the explanation reads
        reasons.setdefault(reason, []).append(row)
    rules = LifecycleRules()
    assert all(r["days_since_last"] > rules.churn_after_days for r in reasons["long_silence"])
    # Churned by the purchase model alone: within the silence limit, but unlikely still active,
    # and silent for longer than the minimum silence.
    assert reasons["unlikely_active"]
    assert all(rules.p_alive_min_silence_days < r["days_since_last"] <= rules.churn_after_days
               and r["p_alive"] < rules.p_alive_threshold for r in reasons["unlikely_active"])
    assert all(not (r["p_alive"] < rules.p_alive_threshold and r["days_since_last"] > rules.p_alive_min_silence_days)
               for r in reasons["repeat_buyer"])
    assert all(r["n_purchases"] >= rules.loyal_min_purchases for r in reasons["repeat_buyer"])
    assert all(r["n_purchases"] < rules.loyal_min_purchases for r in reasons.get("one_purchase", []))


def test_the_lifecycle_rules_explained_are_the_classifiers_own():
    import inspect

    from patron.analytics.classification import CustomerClassifier, lifecycle_stage

    for function in (lifecycle_stage, CustomerClassifier):
        defaults = {name: p.default for name, p in inspect.signature(function).parameters.items()}
        assert {name: defaults[name] for name in LifecycleRules._fields} == LifecycleRules()._asdict()


def _basket_lines(transactions: pl.DataFrame) -> pl.DataFrame:
    """CDNOW has no products: each purchase becomes an order of one to three of twelve products,
    chosen from the customer and the quantity, so that some pairs recur."""
    orders = transactions.filter(pl.col("date") <= AS_OF).with_row_index("order_id")
    first = (pl.col("customer_id") * 7 + pl.col("quantity")) % 12
    return pl.concat([
        orders.filter(pl.col("quantity") > shift)
        .select("order_id", "customer_id", product_id=pl.format("p{}", (first + shift) % 12))
        for shift in range(3)
    ])


def test_slices_in_any_order_give_every_customer_the_values_of_the_whole_run(cdnow_transactions):
    lines = _basket_lines(cdnow_transactions)
    whole = score_customers(cdnow_transactions, as_of=AS_OF, lines=lines).customers
    scoring = pipeline.fit_customers(cdnow_transactions, as_of=AS_OF, lines=lines)
    scoring.customers = scoring.customers.sort("customer_id", descending=True)  # as a caller may order them
    parts = list(scoring.slices(500))
    assert [p.height for p in parts] == [500, 500, 500, 500, 357]
    sliced = pl.concat(parts)
    assert sliced.columns == COLUMNS
    assert sliced.get_column("customer_id").to_list() == whole.get_column("customer_id").reverse().to_list()
    assert sliced.get_column("recommendations").null_count() < sliced.height  # rules applied in the slices
    assert_frame_equal(sliced.sort("customer_id"), whole.sort("customer_id"))
    timings = scoring.report["timings_s"]
    assert set(pipeline.STEPS) <= set(timings)  # the slices' time recorded once they are all given
    assert timings["total"] == pytest.approx(sum(v for k, v in timings.items() if k != "total"), abs=1e-3)
