"""The fast summary path (lines already grouped by customer) must equal the general path."""

from datetime import date

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.analytics.clv import _purchase
from patron.analytics.clv._purchase import _TABLE_KEYS, _unique_rows_lexsort, unique_rows
from patron.analytics.summary import customer_summary

lines = st.lists(
    st.tuples(st.integers(1, 30), st.integers(0, 500), st.floats(0, 500, allow_nan=False)),  # some after as_of
    min_size=1, max_size=120,
)


def _frame(rows: list[tuple[int, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"customer_id": [r[0] for r in rows], "date": [date(2024, 1, 1).toordinal() + r[1] for r in rows],
         "amount": [r[2] for r in rows]}
    ).with_columns(pl.col("date").map_elements(date.fromordinal, return_dtype=pl.Date))


def _assert_same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns
    for column in a.columns:
        left, right = a[column].to_list(), b[column].to_list()
        if a[column].dtype.is_float():
            assert np.allclose(left, right, rtol=1e-12, atol=1e-9), column
        else:
            assert left == right, column


@settings(max_examples=60, deadline=None)
@given(lines)
def test_it_summarises_grouped_and_shuffled_lines_alike(rows):
    frame = _frame(rows)
    grouped = frame.sort("customer_id", maintain_order=True)  # days still out of order: sorted on the way
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=3)
    as_of = date(2025, 3, 1)
    _assert_same(customer_summary(grouped, as_of=as_of).sort("customer_id"),
                 customer_summary(shuffled, as_of=as_of).sort("customer_id"))


@settings(max_examples=60, deadline=None)
@given(lines)
def test_it_summarises_lines_in_customer_and_date_order_alike(rows):
    # In customer, date and amount order: taken as they are, the purchase days read without
    # sorting them.
    frame = _frame(rows)
    ordered = frame.sort("customer_id", "date", "amount")
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=5)
    as_of = date(2025, 3, 1)
    assert_frame_equal(customer_summary(ordered, as_of=as_of), customer_summary(shuffled, as_of=as_of),
                       check_exact=True)


@settings(max_examples=40, deadline=None)
@given(lines)
def test_it_summarises_categorical_ids_as_text_ones(rows):
    frame = _frame(rows).with_columns(pl.col("customer_id").cast(pl.String))
    as_of = date(2025, 3, 1)
    expected = customer_summary(frame, as_of=as_of)
    categorical = customer_summary(frame.with_columns(pl.col("customer_id").cast(pl.Categorical)), as_of=as_of)
    assert_frame_equal(categorical.with_columns(pl.col("customer_id").cast(pl.String)).sort("customer_id"), expected,
                       check_exact=True)


def test_it_gives_the_same_figures_to_the_last_bit_whatever_the_order_of_the_lines(cdnow_transactions):
    # Tiers compare spend with an edge that is another customer's spend, so a last-bit
    # difference between two runs on the same purchases moved customers between tiers (the
    # sums of a group-by follow its threads; the refresh's purchases come in no set order).
    assert not cdnow_transactions.get_column("customer_id").is_sorted()
    first = customer_summary(cdnow_transactions, as_of=date(1997, 9, 30))
    for seed in range(3):
        shuffled = cdnow_transactions.sample(fraction=1.0, shuffle=True, seed=seed)
        assert_frame_equal(customer_summary(shuffled, as_of=date(1997, 9, 30)), first, check_exact=True)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.sampled_from([0.0, 1 / 7, 2.5, 39.0])), min_size=1, max_size=50),
    st.sampled_from([_TABLE_KEYS, 0]),  # a table of the keys, or a sort of them
)
def test_the_rank_key_finds_the_same_distinct_rows_as_lexsort(pairs, table_keys):
    x = np.array([p[0] for p in pairs], dtype=float)
    t = np.array([p[1] for p in pairs], dtype=float)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(_purchase, "_TABLE_KEYS", table_keys)
        (ux, ut), inverse = unique_rows(x, t)
    (lx, lt), linverse = _unique_rows_lexsort(x, t)
    assert sorted(zip(ux, ut, strict=True)) == sorted(zip(lx, lt, strict=True))
    assert np.array_equal(ux[inverse], x) and np.array_equal(ut[inverse], t)
    assert np.array_equal(lx[linverse], x)
