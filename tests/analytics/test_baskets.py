import math
from collections import Counter
from itertools import combinations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.analytics.baskets import association_rules, frequent_itemsets, recommend
from patron.analytics.errors import InputError, InsufficientDataError

# Five orders: {bread, milk, eggs}, {bread, milk}, {bread, milk, butter}, {milk, eggs}, {bread}.
ORDERS = {
    1: ["bread", "milk", "eggs"],
    2: ["bread", "milk"],
    3: ["bread", "milk", "butter"],
    4: ["milk", "eggs"],
    5: ["bread"],
}


def baskets(orders: dict[int, list] = ORDERS) -> pl.DataFrame:
    lines = [(o, p) for o, products in orders.items() for p in products]
    return pl.DataFrame(
        {"order_id": [o for o, _ in lines], "product_id": [p for _, p in lines]}, orient="col"
    )


def as_dict(itemsets: pl.DataFrame) -> dict[tuple, float]:
    return {
        tuple(i): s
        for i, s in zip(itemsets["itemset"].to_list(), itemsets["support"].to_list(), strict=True)
    }


def rule(rules: pl.DataFrame, ante: list, cons: list) -> dict:
    hit = rules.filter((pl.col("antecedent") == ante) & (pl.col("consequent") == cons))
    assert hit.height == 1
    return hit.row(0, named=True)


def test_it_finds_the_frequent_items_and_pairs_by_hand():
    found = frequent_itemsets(baskets(), min_support=0.3)
    assert as_dict(found) == pytest.approx(
        {
            ("bread",): 0.8,
            ("milk",): 0.8,
            ("eggs",): 0.4,
            ("bread", "milk"): 0.6,
            ("eggs", "milk"): 0.4,
        }
    )
    assert found["count"].to_list() == [4, 4, 2, 3, 2]
    assert found["size"].to_list() == [1, 1, 1, 2, 2]


def test_it_finds_triples_whose_pairs_are_all_frequent():
    found = as_dict(frequent_itemsets(baskets(), min_support=0.2))
    triples = {k: v for k, v in found.items() if len(k) == 3}
    assert triples == pytest.approx(
        {("bread", "eggs", "milk"): 0.2, ("bread", "butter", "milk"): 0.2}
    )
    assert len(found) == 4 + 5 + 2
    assert all(
        len(k) <= 2 for k in as_dict(frequent_itemsets(baskets(), min_support=0.2, max_len=2))
    )


def test_it_counts_a_product_once_per_order():
    doubled = pl.concat([baskets(), baskets().filter(pl.col("order_id") == 1)])
    assert as_dict(frequent_itemsets(doubled, min_support=0.3)) == as_dict(
        frequent_itemsets(baskets(), min_support=0.3)
    )


def test_it_computes_rule_measures_by_hand():
    rules = association_rules(frequent_itemsets(baskets(), min_support=0.3), min_confidence=0.0)
    assert rules.height == 4
    r = rule(rules, ["bread"], ["milk"])
    assert r["support"] == pytest.approx(0.6)
    assert r["confidence"] == pytest.approx(0.75)
    assert r["lift"] == pytest.approx(0.9375)
    assert r["leverage"] == pytest.approx(-0.04)
    assert r["conviction"] == pytest.approx(0.8)
    r = rule(rules, ["milk"], ["eggs"])
    assert (r["confidence"], r["lift"]) == pytest.approx((0.5, 1.25))
    assert r["conviction"] == pytest.approx(1.2)
    r = rule(rules, ["eggs"], ["milk"])
    assert r["confidence"] == pytest.approx(1.0) and math.isinf(r["conviction"])
    assert rules["confidence"].to_list() == sorted(rules["confidence"].to_list(), reverse=True)


def test_it_splits_triples_into_rules_and_filters_by_confidence():
    rules = association_rules(frequent_itemsets(baskets(), min_support=0.2), min_confidence=0.6)
    r = rule(rules, ["bread", "eggs"], ["milk"])
    assert (r["antecedent_support"], r["confidence"], r["lift"]) == pytest.approx((0.2, 1, 1.25))
    r = rule(rules, ["butter"], ["bread", "milk"])
    assert (r["consequent_support"], r["confidence"]) == pytest.approx((0.6, 1.0))
    assert rules["confidence"].min() >= 0.6
    assert (
        rules.filter(pl.col("antecedent") == ["milk"])
        .filter(pl.col("consequent") == ["eggs"])
        .height
        == 0
    )  # confidence 0.5


def test_it_refuses_itemsets_missing_a_subset():
    itemsets = frequent_itemsets(baskets(), min_support=0.3).filter(pl.col("size") == 2)
    with pytest.raises(InputError):
        association_rules(itemsets)


def test_it_recommends_what_customers_lack_ranked_by_confidence_times_lift():
    rules = association_rules(frequent_itemsets(baskets(), min_support=0.3), min_confidence=0.0)
    bought = pl.DataFrame(
        {
            "customer_id": ["v", "w", "q", "all", "all"],
            "product_id": ["bread", "eggs", "milk", "milk", "eggs"],
        }
    )
    recs = recommend(rules, bought, k=5)
    # bread -> milk and milk -> bread have lift 0.9375 < 1: left out by default.
    assert recs.select("customer_id", "product_id", "rank").rows() == [
        ("q", "eggs", 1),
        ("w", "milk", 1),
    ]
    assert recs["score"].to_list() == pytest.approx([0.5 * 1.25, 1.0 * 1.25])
    assert recs["because"].to_list() == [["milk"], ["eggs"]]
    everything = recommend(rules, bought, k=5, min_lift=0.0)
    assert everything.filter(pl.col("customer_id") == "q")["product_id"].to_list() == [
        "bread",
        "eggs",
    ]  # 0.75 * 0.9375 = 0.703 beats 0.625
    assert everything.filter(pl.col("customer_id") == "all")["product_id"].to_list() == ["bread"]
    assert (
        recommend(rules, bought, k=1, min_lift=0.0).group_by("customer_id").len()["len"].max() == 1
    )


def test_it_needs_every_antecedent_product_before_applying_a_rule():
    rules = association_rules(frequent_itemsets(baskets(), min_support=0.2), min_confidence=0.9)
    only_bread = pl.DataFrame({"customer_id": [1], "product_id": ["bread"]})
    bread_eggs = pl.DataFrame({"customer_id": [1, 1], "product_id": ["bread", "eggs"]})
    assert recommend(rules, only_bread).height == 0
    recs = recommend(rules, bread_eggs)
    assert recs["product_id"].to_list() == ["milk"]


def test_it_reports_bad_baskets():
    with pytest.raises(InputError) as err:
        frequent_itemsets(baskets().rename({"product_id": "sku"}))
    assert err.value.column == "product_id"
    nulls = pl.DataFrame({"order_id": [1, None], "product_id": ["a", "b"]})
    with pytest.raises(InputError) as err:
        frequent_itemsets(nulls)
    assert (err.value.row, err.value.column) == (2, "order_id")
    with pytest.raises(InputError):
        frequent_itemsets(baskets(), min_support=0)
    with pytest.raises(InsufficientDataError):
        frequent_itemsets(baskets().clear())


def brute_force(orders: dict[int, set], min_support: float) -> dict[tuple, float]:
    counts: Counter = Counter()
    for products in orders.values():
        for size in (1, 2, 3):
            counts.update(combinations(sorted(products), size))
    n = len(orders)
    return {k: c / n for k, c in counts.items() if c / n >= min_support}


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.integers(0, 60),
        st.sets(st.integers(0, 7), min_size=1, max_size=6),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from([0.05, 0.1, 0.2, 0.34]),
)
def test_it_agrees_with_brute_force_counting(orders, min_support):
    found = as_dict(
        frequent_itemsets(
            baskets({o: sorted(p) for o, p in orders.items()}), min_support=min_support
        )
    )
    assert found == pytest.approx(brute_force(orders, min_support))
