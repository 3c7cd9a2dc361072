"""Tests of the transactions validation and the customer / holdout summaries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.analytics.errors import InputError
from patron.analytics.summary import customer_summary, holdout_summary, validate_transactions

AS_OF = date(2024, 1, 29)


def tx(rows: list[tuple[object, object, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "date": [r[1] for r in rows],
            "amount": [r[2] for r in rows],
        }
    )


@pytest.fixture
def two_customers() -> pl.DataFrame:
    # a: buys on Jan 1 (twice, same day), Jan 8 and Jan 15; b: once on Jan 22; a also after as_of.
    return tx(
        [
            ("a", date(2024, 1, 1), 10.0),
            ("a", date(2024, 1, 1), 5.0),
            ("a", date(2024, 1, 8), 20.0),
            ("a", date(2024, 1, 15), 40.0),
            ("b", date(2024, 1, 22), 7.0),
            ("a", date(2024, 2, 5), 99.0),
        ]
    )


def test_it_counts_same_day_purchases_as_one_transaction(two_customers: pl.DataFrame) -> None:
    summary = customer_summary(two_customers, as_of=AS_OF)
    a = summary.filter(pl.col("customer_id") == "a").row(0, named=True)
    assert a["n_purchases"] == 3
    assert a["x"] == 2


def test_it_measures_times_in_weeks_from_the_first_purchase(two_customers: pl.DataFrame) -> None:
    summary = customer_summary(two_customers, as_of=AS_OF)
    a = summary.filter(pl.col("customer_id") == "a").row(0, named=True)
    assert a["t_x"] == pytest.approx(2.0)  # Jan 1 -> Jan 15
    assert a["T"] == pytest.approx(4.0)  # Jan 1 -> Jan 29
    assert a["recency"] == pytest.approx(2.0)
    assert a["first_purchase"] == date(2024, 1, 1)
    assert a["last_purchase"] == date(2024, 1, 15)


def test_it_measures_times_in_days_when_asked(two_customers: pl.DataFrame) -> None:
    summary = customer_summary(two_customers, as_of=AS_OF, unit="day")
    a = summary.filter(pl.col("customer_id") == "a").row(0, named=True)
    assert (a["t_x"], a["T"], a["recency"]) == (14.0, 28.0, 14.0)


def test_it_takes_monetary_from_the_repeat_purchases_only(two_customers: pl.DataFrame) -> None:
    summary = customer_summary(two_customers, as_of=AS_OF)
    a = summary.filter(pl.col("customer_id") == "a").row(0, named=True)
    assert a["monetary"] == pytest.approx(30.0)  # (20 + 40) / 2, first day's 15 left out
    assert a["total_spend"] == pytest.approx(75.0)
    assert a["avg_spend"] == pytest.approx(25.0)


def test_it_gives_one_time_buyers_zero_repeats_and_zero_monetary(
    two_customers: pl.DataFrame,
) -> None:
    summary = customer_summary(two_customers, as_of=AS_OF)
    b = summary.filter(pl.col("customer_id") == "b").row(0, named=True)
    assert (b["x"], b["t_x"], b["monetary"], b["avg_spend"]) == (0, 0.0, 0.0, 7.0)
    assert b["T"] == pytest.approx(1.0)


def test_it_accepts_free_orders() -> None:
    summary = customer_summary(
        tx([("a", date(2024, 1, 1), 0.0), ("a", date(2024, 1, 2), 0.0)]), as_of=AS_OF
    )
    row = summary.row(0, named=True)
    assert (row["x"], row["monetary"], row["total_spend"]) == (1, 0.0, 0.0)


def test_it_ignores_purchases_after_as_of(two_customers: pl.DataFrame) -> None:
    summary = customer_summary(two_customers, as_of=AS_OF)
    assert summary.get_column("total_spend").sum() == pytest.approx(82.0)  # not the 99


def test_it_leaves_out_customers_who_first_buy_after_as_of(two_customers: pl.DataFrame) -> None:
    summary = customer_summary(two_customers, as_of=date(2024, 1, 20))
    assert summary.get_column("customer_id").to_list() == ["a"]


def test_it_returns_an_empty_summary_when_nothing_precedes_as_of(
    two_customers: pl.DataFrame,
) -> None:
    summary = customer_summary(two_customers, as_of=date(2023, 12, 31))
    assert summary.height == 0
    assert summary.columns[:3] == ["customer_id", "first_purchase", "last_purchase"]


def test_it_keeps_integer_customer_ids_and_renames_the_column() -> None:
    frame = pl.DataFrame(
        {"client": [7, 7], "day": [date(2024, 1, 1), date(2024, 1, 3)], "eur": [1.0, 2.0]}
    )
    summary = customer_summary(
        frame, as_of=AS_OF, customer_col="client", date_col="day", amount_col="eur"
    )
    assert summary.schema["customer_id"] == pl.Int64
    assert summary.row(0, named=True)["x"] == 1


def test_it_accepts_datetimes_and_iso_text_dates() -> None:
    as_datetimes = tx([("a", datetime(2024, 1, 1, 9), 1.0), ("a", datetime(2024, 1, 1, 18), 2.0)])
    as_text = tx([("a", "2024-01-01", 1.0), ("a", "2024-01-08", 2.0)])
    assert customer_summary(as_datetimes, as_of=AS_OF).row(0, named=True)["x"] == 0
    assert customer_summary(as_text, as_of=AS_OF).row(0, named=True)["t_x"] == 1.0


@pytest.mark.parametrize(
    ("rows", "row", "column"),
    [
        ([("a", date(2024, 1, 1), 1.0), (None, date(2024, 1, 2), 1.0)], 2, "customer_id"),
        ([("a", date(2024, 1, 1), 1.0), ("a", None, 1.0)], 2, "date"),
        ([("a", date(2024, 1, 1), None)], 1, "amount"),
        ([("a", "2024-01-01", 1.0), ("a", "2024-13-01", 1.0)], 2, "date"),
        ([("a", date(2024, 1, 1), 1.0), ("a", date(2024, 1, 2), -3.0)], 2, "amount"),
        ([("a", date(2024, 1, 1), float("nan"))], 1, "amount"),
        ([("a", date(2024, 1, 1), float("inf"))], 1, "amount"),
    ],
)
def test_it_names_the_row_and_column_of_bad_input(
    rows: list[tuple[object, object, float]], row: int, column: str
) -> None:
    with pytest.raises(InputError) as caught:
        validate_transactions(tx(rows))
    assert (caught.value.row, caught.value.column) == (row, column)


def test_it_names_a_missing_column() -> None:
    with pytest.raises(InputError) as caught:
        customer_summary(pl.DataFrame({"customer_id": ["a"], "date": [AS_OF]}), as_of=AS_OF)
    assert caught.value.column == "amount"


def test_it_rejects_an_unknown_unit(two_customers: pl.DataFrame) -> None:
    with pytest.raises(InputError, match="unit"):
        customer_summary(two_customers, as_of=AS_OF, unit="month")  # type: ignore[arg-type]


def test_it_counts_holdout_purchase_days_for_every_calibration_customer(
    two_customers: pl.DataFrame,
) -> None:
    extra = tx([("a", date(2024, 2, 5), 1.0), ("c", date(2024, 2, 6), 3.0)])
    holdout = holdout_summary(
        pl.concat([two_customers, extra]),
        calibration_end=AS_OF,
        holdout_end=date(2024, 3, 1),
    )
    assert holdout.to_dicts() == [
        {"customer_id": "a", "x_star": 1, "holdout_spend": 100.0},
        {"customer_id": "b", "x_star": 0, "holdout_spend": 0.0},
    ]


def test_it_refuses_a_holdout_that_ends_before_it_starts(two_customers: pl.DataFrame) -> None:
    with pytest.raises(InputError, match="holdout_end"):
        holdout_summary(two_customers, calibration_end=AS_OF, holdout_end=AS_OF)


def test_it_follows_the_cdnow_conventions(cdnow_summary: pl.DataFrame) -> None:
    # 2,357 customers, of whom 946 repeat buyers (the Gamma-Gamma sample of Fader & Hardie).
    assert cdnow_summary.height == 2357
    assert cdnow_summary.filter(pl.col("x") > 0).height == 946
    assert cdnow_summary.get_column("x").sum() == 2457
    # A customer first seen on 1997-01-01 has T = 272 / 7 = 38.86 weeks at 1997-09-30.
    assert cdnow_summary.get_column("T").max() == pytest.approx(272 / 7)


def test_it_counts_the_cdnow_holdout(
    cdnow_summary: pl.DataFrame, cdnow_holdout: pl.DataFrame
) -> None:
    assert cdnow_holdout.height == cdnow_summary.height
    assert cdnow_holdout.get_column("x_star").sum() == 1882
    assert cdnow_holdout.get_column("customer_id").equals(cdnow_summary.get_column("customer_id"))


# A naive reference implementation, one customer at a time, for the property test below.
def naive_summary(rows: list[tuple[int, date, float]], as_of: date) -> dict[int, dict]:
    days: dict[int, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for customer, day, amount in rows:
        if day <= as_of:
            days[customer][day] += amount
    out = {}
    for customer, spend in days.items():
        ordered = sorted(spend)
        first, last = ordered[0], ordered[-1]
        x = len(ordered) - 1
        repeat = sum(spend[d] for d in ordered[1:])
        out[customer] = {
            "x": x,
            "t_x": (last - first).days / 7,
            "T": (as_of - first).days / 7,
            "monetary": repeat / x if x else 0.0,
            "total_spend": sum(spend.values()),
        }
    return out


purchases = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(0, 60).map(lambda d: date(2024, 1, 1) + timedelta(days=d)),
        st.floats(0, 1000, allow_nan=False).map(lambda v: round(v, 2)),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(rows=purchases, cut=st.integers(0, 60))
def test_it_agrees_with_a_one_customer_at_a_time_computation(
    rows: list[tuple[int, date, float]], cut: int
) -> None:
    as_of = date(2024, 1, 1) + timedelta(days=cut)
    summary = customer_summary(tx(rows), as_of=as_of)
    expected = naive_summary(rows, as_of)
    assert sorted(summary.get_column("customer_id").to_list()) == sorted(expected)
    for got in summary.iter_rows(named=True):
        want = expected[got["customer_id"]]
        assert got["x"] == want["x"]
        assert got["t_x"] == pytest.approx(want["t_x"])
        assert got["T"] == pytest.approx(want["T"])
        assert got["recency"] == pytest.approx(want["T"] - want["t_x"])
        assert got["monetary"] == pytest.approx(want["monetary"])
        assert got["total_spend"] == pytest.approx(want["total_spend"])
