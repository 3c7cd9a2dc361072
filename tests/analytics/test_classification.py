from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.analytics.classification import (
    LIFECYCLE_STAGES,
    TEN_CLASSES,
    CustomerClassifier,
    classify_customers,
    lifecycle_stage,
)
from patron.analytics.errors import InputError, InsufficientDataError, NotFittedError

AS_OF = date(2024, 7, 1)


def days_ago(n: int) -> date:
    return AS_OF - timedelta(days=n)


def summary(rows: list[tuple[str, int, int, int, float]]) -> pl.DataFrame:
    """Rows of (id, days since first purchase, days since last, purchases, total spend)."""
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "first_purchase": [days_ago(r[1]) for r in rows],
            "last_purchase": [days_ago(r[2]) for r in rows],
            "n_purchases": [r[3] for r in rows],
            "total_spend": [float(r[4]) for r in rows],
        }
    )


def tiers(values: list[int], **params) -> list[str]:
    rows = [(f"c{i}", 10, 10, v, v) for i, v in enumerate(values)]
    out = classify_customers(summary(rows), as_of=AS_OF, **params)
    return out["frequency_tier"].cast(pl.String).to_list()


def stage(rows, **params) -> list[str]:
    out = lifecycle_stage(summary(rows), as_of=AS_OF, **params)
    return out["lifecycle"].cast(pl.String).to_list()


def test_it_splits_six_customers_into_terciles():
    # Sorted 1 1 1 2 3 5: edges are the 2nd and 4th smallest values, 1 and 2.
    assert tiers([5, 1, 2, 3, 1, 1]) == ["high", "low", "medium", "high", "low", "low"]


def test_it_splits_by_value_with_the_same_rule():
    rows = [
        ("a", 9, 9, 1, 500),
        ("b", 9, 9, 1, 10),
        ("c", 9, 9, 1, 40),
        ("d", 9, 9, 1, 300),
        ("e", 9, 9, 1, 20),
        ("f", 9, 9, 1, 5),
    ]
    out = classify_customers(summary(rows), as_of=AS_OF)
    assert out["value_tier"].cast(pl.String).to_list() == [
        "high",
        "low",
        "medium",
        "high",
        "medium",
        "low",
    ]


def test_it_keeps_tied_customers_in_one_tier():
    # 2 beats 5 of 9 customers (at least a third), 3 beats 7 of 9 (at least two thirds).
    assert tiers([1, 1, 1, 1, 1, 2, 2, 3, 3]) == ["low"] * 5 + ["medium"] * 2 + ["high"] * 2
    assert set(tiers([4] * 5)) == {"low"}


def test_it_uses_thresholds_set_by_the_user():
    # (1, 4): one purchase is low, two to four medium, five or more high.
    assert tiers([1, 2, 4, 5, 9], frequency_thresholds=(1, 4)) == [
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]


def test_it_learns_tier_edges_and_applies_them_to_later_customers():
    rows = [(f"c{i}", 10, 10, i, 10.0 * i) for i in range(1, 10)]
    model = CustomerClassifier(quantiles=(0.5, 0.8)).fit(summary(rows))
    # 9 values: the ceil(4.5) = 5th and ceil(7.2) = 8th smallest.
    assert model.frequency_edges_.tolist() == [5, 8]
    assert model.value_edges_.tolist() == [50, 80]
    later = model.transform(summary([("new", 3, 3, 6, 95.0)]), as_of=AS_OF)
    assert later.row(0, named=True)["frequency_tier"] == "medium"
    assert later.row(0, named=True)["value_tier"] == "high"


def test_it_applies_each_lifecycle_rule():
    rows = [
        ("new_one", 10, 10, 1, 10),
        ("new_two", 90, 5, 2, 10),  # first purchase exactly 90 days ago: still new
        ("fast_loyal", 30, 2, 3, 10),  # three purchases within the new window: loyal
        ("loyal", 400, 180, 6, 10),  # silent exactly 180 days: not yet churned
        ("churned", 400, 181, 6, 10),
        ("occasional", 91, 91, 1, 10),  # one purchase, past the new window
        ("old_single", 200, 200, 1, 10),
    ]
    assert stage(rows) == ["new", "new", "loyal", "loyal", "churned", "occasional", "churned"]


def test_it_lets_every_lifecycle_threshold_be_changed():
    rows = [("a", 100, 100, 1, 10), ("b", 20, 20, 2, 10), ("c", 300, 30, 3, 10)]
    assert stage(rows) == ["occasional", "new", "loyal"]
    assert stage(
        rows, new_within_days=120, churn_after_days=50, new_max_purchases=1, loyal_min_purchases=3
    ) == ["churned", "occasional", "loyal"]


def test_it_counts_a_low_probability_of_being_alive_as_churned():
    rows = summary([("a", 300, 70, 5, 10), ("b", 300, 70, 5, 10)]).with_columns(
        p_alive=pl.Series([0.2, 0.9])
    )
    out = lifecycle_stage(rows, as_of=AS_OF, p_alive_col="p_alive")
    assert out["lifecycle"].cast(pl.String).to_list() == ["churned", "loyal"]
    out = lifecycle_stage(rows, as_of=AS_OF, p_alive_col="p_alive", p_alive_threshold=0.1)
    assert out["lifecycle"].cast(pl.String).to_list() == ["loyal", "loyal"]
    with pytest.raises(InputError) as err:
        lifecycle_stage(
            rows.with_columns(p_alive=pl.Series([0.5, 1.5])), as_of=AS_OF, p_alive_col="p_alive"
        )
    assert (err.value.row, err.value.column) == (2, "p_alive")


def test_it_calls_nobody_churned_by_p_alive_alone_who_bought_within_the_minimum_silence():
    # A dense buyer who pauses gets a low P(alive) within days (BG/NBD): a Champion who bought
    # 10 days ago is no churned customer, and a churned one gets no churn warning.
    rows = summary([("ten_days", 300, 10, 9, 10), ("sixty", 300, 60, 9, 10), ("sixty_one", 300, 61, 9, 10),
                    ("new_pause", 40, 40, 2, 10)]).with_columns(p_alive=pl.Series([0.45, 0.2, 0.2, 0.3]))
    out = lifecycle_stage(rows, as_of=AS_OF, p_alive_col="p_alive")
    assert out["lifecycle"].cast(pl.String).to_list() == ["loyal", "loyal", "churned", "new"]
    out = lifecycle_stage(rows, as_of=AS_OF, p_alive_col="p_alive", p_alive_min_silence_days=5)
    assert out["lifecycle"].cast(pl.String).to_list() == ["churned", "churned", "churned", "churned"]
    classifier = CustomerClassifier(p_alive_col="p_alive", p_alive_min_silence_days=5)
    assert classifier.fit_transform(rows, as_of=AS_OF)["lifecycle"].cast(pl.String).to_list() == ["churned"] * 4


def test_a_classifier_pickled_before_the_minimum_silence_existed_still_classifies():
    import pickle

    rows = summary([("ten_days", 300, 10, 9, 10), ("sixty_one", 300, 61, 9, 10)]).with_columns(
        p_alive=pl.Series([0.45, 0.2]))
    old = CustomerClassifier(p_alive_col="p_alive").fit(rows)
    del old.p_alive_min_silence_days  # as a refresh before the rule pickled it
    again = pickle.loads(pickle.dumps(old))  # noqa: S301 - our own object
    assert again.transform(rows, as_of=AS_OF)["lifecycle"].cast(pl.String).to_list() == ["loyal", "churned"]


def test_the_lifecycle_reason_of_a_churned_customer_names_the_rule_that_applies():
    from patron.analytics.classification import lifecycle_reason

    assert lifecycle_reason("churned", days_since_last=181, p_alive=0.9) == "long_silence"
    assert lifecycle_reason("churned", days_since_last=61, p_alive=0.2) == "unlikely_active"
    # Within the minimum silence P(alive) alone churns nobody: scored under other rules.
    assert lifecycle_reason("churned", days_since_last=10, p_alive=0.2) == ""


def test_it_adds_prospects_without_tiers():
    rows = summary([("a", 10, 10, 1, 10), ("b", 300, 5, 9, 900)])
    out = classify_customers(rows, as_of=AS_OF, customers=["z", "a", "y", "z"])
    assert out["customer_id"].to_list() == ["a", "b", "z", "y"]
    assert out["lifecycle"].cast(pl.String).to_list() == ["new", "loyal", "prospect", "prospect"]
    assert out["frequency_tier"].null_count() == 2
    assert out["classes"].to_list()[2] == ["prospect"]
    with pytest.raises(InputError) as err:
        classify_customers(
            rows.with_columns(customer_id=pl.Series([1, 2])), as_of=AS_OF, customers=["x"]
        )
    assert err.value.column == "customer_id"


def test_it_lists_the_ten_classes_each_customer_belongs_to():
    rows = summary([("a", 10, 10, 1, 10), ("b", 300, 5, 9, 900), ("c", 120, 120, 1, 50)])
    out = classify_customers(rows, as_of=AS_OF)
    assert out["classes"].to_list() == [
        ["low_frequency", "low_value", "new"],
        ["high_frequency", "high_value", "loyal"],
        ["low_frequency", "medium_value"],  # "occasional" is not one of the ten
    ]
    keys = {c.key for c in TEN_CLASSES}
    assert set(out["classes"].explode().to_list()) <= keys


def test_it_encodes_the_ten_classes_of_the_seed_case_study():
    assert [c.name_zh for c in TEN_CLASSES] == [
        "高频客户",
        "中频客户",
        "低频客户",
        "高价值客户",
        "中价值客户",
        "低价值客户",
        "潜在客户",
        "新客户",
        "忠实客户",
        "流失客户",
    ]
    dims = [c.dimension for c in TEN_CLASSES]
    assert (dims.count("frequency"), dims.count("value"), dims.count("lifecycle")) == (3, 3, 4)
    assert len({c.key for c in TEN_CLASSES}) == 10
    stage_keys = {key for key, _ in LIFECYCLE_STAGES}
    assert {c.level for c in TEN_CLASSES if c.dimension == "lifecycle"} <= stage_keys


def test_it_rejects_purchases_after_as_of_and_bad_settings():
    rows = summary([("a", 10, 10, 1, 10), ("b", 10, -1, 2, 10)])
    with pytest.raises(InputError) as err:
        classify_customers(rows, as_of=AS_OF)
    assert (err.value.row, err.value.column) == (2, "last_purchase")
    good = summary([("a", 10, 10, 1, 10)])
    with pytest.raises(InputError):
        classify_customers(good, as_of=AS_OF, quantiles=(0.7, 0.3))
    with pytest.raises(InputError):
        classify_customers(good, as_of=AS_OF, value_thresholds=(10, 5))
    with pytest.raises(InputError) as err:
        classify_customers(good.drop("total_spend"), as_of=AS_OF)
    assert err.value.column == "total_spend"
    with pytest.raises(NotFittedError):
        CustomerClassifier().transform(good, as_of=AS_OF)
    with pytest.raises(InsufficientDataError):
        classify_customers(good.clear(), as_of=AS_OF)


def test_it_classifies_with_user_thresholds_even_without_a_population():
    model = CustomerClassifier(frequency_thresholds=(1, 4), value_thresholds=(100, 1000))
    out = model.fit(summary([]).cast({"n_purchases": pl.Int64})).transform(
        summary([("a", 5, 5, 5, 150)]), as_of=AS_OF
    )
    assert out.row(0, named=True)["frequency_tier"] == "high"
    assert out.row(0, named=True)["value_tier"] == "medium"


# Property tests ------------------------------------------------------------------------------

populations = st.lists(st.tuples(st.integers(1, 15), st.integers(0, 2000)), min_size=1, max_size=40)
RANK = {"low": 0, "medium": 1, "high": 2}


def _population(rows: list[tuple[int, int]]) -> pl.DataFrame:
    return summary([(f"c{i}", 100, 10, n, spend) for i, (n, spend) in enumerate(rows)])


@settings(max_examples=40, deadline=None)
@given(populations, st.data())
def test_it_never_lowers_a_value_tier_when_spend_rises(rows, data):
    i = data.draw(st.integers(0, len(rows) - 1))
    before = classify_customers(_population(rows), as_of=AS_OF).row(i, named=True)
    rows[i] = (rows[i][0], rows[i][1] + data.draw(st.integers(0, 5000)))
    after = classify_customers(_population(rows), as_of=AS_OF).row(i, named=True)
    assert RANK[after["value_tier"]] >= RANK[before["value_tier"]]


@settings(max_examples=40, deadline=None)
@given(populations, st.data())
def test_it_never_lowers_a_frequency_tier_when_purchases_rise(rows, data):
    i = data.draw(st.integers(0, len(rows) - 1))
    before = classify_customers(_population(rows), as_of=AS_OF).row(i, named=True)
    rows[i] = (rows[i][0] + data.draw(st.integers(0, 20)), rows[i][1])
    after = classify_customers(_population(rows), as_of=AS_OF).row(i, named=True)
    assert RANK[after["frequency_tier"]] >= RANK[before["frequency_tier"]]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 800), st.integers(0, 800), st.integers(1, 20))
def test_it_never_calls_a_customer_who_bought_today_churned(first, last, n):
    first, last = max(first, last), min(first, last)
    rows = [("a", first, last, n, 10.0), ("b", first, 0, n + 1, 10.0)]
    stages = stage(rows)
    assert stages[1] != "churned"
    assert stages[0] in {"new", "loyal", "occasional", "churned"}
