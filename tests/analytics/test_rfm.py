from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.analytics.errors import InputError, InsufficientDataError, NotFittedError
from patron.analytics.rfm import (
    CLASS8,
    RF_GRID,
    SEGMENTS,
    RFMSegmenter,
    quantile_edges,
    rfm_scores,
    rfm_segment_map,
    score_from_edges,
)

CDNOW = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cdnow"


def frame(recency, n_purchases, total_spend, **extra) -> pl.DataFrame:
    n = len(recency)
    return pl.DataFrame(
        {
            "customer_id": list(range(1, n + 1)),
            "recency": [float(v) for v in recency],
            "n_purchases": n_purchases,
            "total_spend": [float(v) for v in total_spend],
            **extra,
        }
    )


def test_it_scores_ten_distinct_customers_two_per_quintile():
    out = rfm_scores(frame(range(10), range(1, 11), [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]))
    assert out["r_score"].to_list() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert out["f_score"].to_list() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # Spend v beats v - 1 of the ten: 1 + floor(5 * (v - 1) / 10).
    assert out["m_score"].to_list() == [3, 1, 2, 1, 2, 5, 5, 4, 4, 3]
    assert out["rfm_code"].to_list()[:2] == ["513", "511"]


def test_it_gives_tied_values_the_score_of_their_lowest_rank():
    # Six one-time buyers hold ranks 1-6 of 10: they all score 1; the two customers with two
    # purchases beat 6 of 10 customers: 1 + floor(5 * 6 / 10) = 4.
    out = rfm_scores(frame([1] * 10, [1, 1, 1, 1, 1, 1, 2, 2, 3, 10], [1] * 10))
    assert out["f_score"].to_list() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    # Every recency equal: nobody beats anybody, so everyone scores 1.
    assert set(out["r_score"].to_list()) == {1}


def test_it_gives_valid_scores_with_fewer_customers_than_bins():
    out = rfm_scores(frame([3, 2, 1], [1, 2, 3], [10, 20, 30]))
    # Strictly beaten customers: 0, 1, 2 of 3 -> 1 + floor(5 * k / 3) = 1, 2, 4.
    assert out["f_score"].to_list() == [1, 2, 4]
    assert out["m_score"].to_list() == [1, 2, 4]
    assert out["r_score"].to_list() == [1, 2, 4]


def test_it_learns_edges_as_the_largest_value_of_each_score():
    seg = RFMSegmenter().fit(frame(range(10), range(1, 11), range(10, 110, 10)))
    assert seg.edges_["frequency"].tolist() == [2, 4, 6, 8]
    assert seg.edges_["monetary"].tolist() == [20, 40, 60, 80]
    # Recency edges descend: recency 8 or more scores 1, 6-7 scores 2, and so on.
    assert seg.edges_["recency"].tolist() == [8, 6, 4, 2]
    assert seg.means_ == {"recency": 4.5, "frequency": 5.5, "monetary": 55.0}
    assert seg.n_customers_ == 10


def test_it_scores_a_single_new_customer_against_the_last_fit():
    population = frame(range(10), range(1, 11), range(10, 110, 10))
    seg = RFMSegmenter().fit(population)
    newcomer = frame([0.5], [100], [45.0])
    out = seg.transform(newcomer)
    assert out.row(0, named=True)["rfm_code"] == "553"
    assert out["class8"].to_list() == ["general_value"]
    assert seg.transform(population).equals(rfm_scores(population))


def test_it_maps_every_one_of_the_125_codes_to_exactly_one_segment():
    table = rfm_segment_map()
    assert table.height == 125
    assert table["rfm_code"].n_unique() == 125
    assert table["segment"].null_count() == 0
    assert set(table["segment"].cast(pl.String)) == {s.key for s in SEGMENTS}
    # The grid is over (R, F): M never changes the segment.
    assert (
        table.group_by("r_score", "f_score").agg(pl.col("segment").n_unique())["segment"].max() == 1
    )


@pytest.mark.parametrize(
    ("code", "segment"),
    [
        ("555", "champions"),
        ("545", "champions"),
        ("535", "potential_loyalists"),
        ("515", "new_customers"),
        ("411", "promising"),
        ("441", "loyal_customers"),
        ("351", "loyal_customers"),
        ("331", "need_attention"),
        ("321", "about_to_sleep"),
        ("241", "at_risk"),
        ("135", "at_risk"),
        ("255", "cannot_lose_them"),
        ("221", "hibernating"),
        ("111", "hibernating"),
    ],
)
def test_it_follows_the_published_rf_grid(code, segment):
    table = rfm_segment_map()
    assert table.filter(pl.col("rfm_code") == code)["segment"].cast(pl.String).item() == segment


def test_it_keeps_the_grid_and_labels_as_data():
    assert len(RF_GRID) == 5 and all(len(row) == 5 for row in RF_GRID)
    assert dict(SEGMENTS)["cannot_lose_them"] == "Cannot Lose Them"


def test_it_assigns_each_of_the_eight_classes_against_the_means():
    # One customer per class; means are recency 5, frequency 3, spend 55.
    rec = [1 if c.r_high else 9 for c in CLASS8]
    freq = [5 if c.f_high else 1 for c in CLASS8]
    spend = [100 if c.m_high else 10 for c in CLASS8]
    out = rfm_scores(frame(rec, freq, spend))
    assert out["class8"].cast(pl.String).to_list() == [c.key for c in CLASS8]
    assert out["r_high"].to_list() == [c.r_high for c in CLASS8]


def test_it_names_the_eight_classes_in_chinese():
    names = {c.key: c.name_zh for c in CLASS8}
    assert names["important_value"] == "重要价值客户"
    assert names["important_develop"] == "重要发展客户"
    assert names["important_keep"] == "重要保持客户"
    assert names["important_retain"] == "重要挽留客户"
    assert names["general_retain"] == "一般挽留客户"
    assert len(names) == 8


def test_it_counts_a_value_equal_to_the_mean_as_low():
    out = rfm_scores(frame([2, 2], [3, 3], [10, 10]))
    assert out["r_high"].to_list() == [False, False]
    assert out["m_high"].to_list() == [False, False]
    assert out["class8"].cast(pl.String).to_list() == ["general_retain"] * 2


def test_it_uses_the_chosen_monetary_column():
    data = frame([1, 2, 3], [1, 1, 1], [10, 20, 30], avg_spend=[30.0, 20.0, 10.0])
    assert rfm_scores(data)["m_score"].to_list() == [1, 2, 4]
    assert rfm_scores(data, monetary="avg_spend")["m_score"].to_list() == [4, 2, 1]


def test_it_leaves_the_segment_null_with_other_than_five_bins():
    out = rfm_scores(frame(range(8), range(1, 9), range(8)), bins=4)
    assert out["f_score"].to_list() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert out["segment"].null_count() == 8
    assert out["rfm_code"][7] == "144"


def test_it_reports_bad_input_with_row_and_column():
    with pytest.raises(InputError) as err:
        rfm_scores(frame([1, -2], [1, 1], [1, 1]))
    assert (err.value.row, err.value.column) == (2, "recency")
    with pytest.raises(InputError) as err:
        rfm_scores(frame([1, 2], [1, None], [1, 1]))
    assert (err.value.row, err.value.column) == (2, "n_purchases")
    with pytest.raises(InputError) as err:
        rfm_scores(frame([1], [1], [1]), monetary="monetary")
    assert err.value.column == "monetary"
    with pytest.raises(InputError):
        rfm_scores(frame([1], [1], [1]), bins=10)


def test_it_refuses_an_empty_population_and_an_unfitted_transform():
    with pytest.raises(InsufficientDataError):
        rfm_scores(frame([], [], []).cast({"n_purchases": pl.Int64}))
    with pytest.raises(NotFittedError):
        RFMSegmenter().transform(frame([1], [1], [1]))


def test_it_computes_rank_based_edges():
    values = np.array([5.0, 1.0, 3.0, 2.0, 4.0, 6.0])
    # Levels 1/3 and 2/3 of 6 values: the 2nd and 4th smallest.
    assert quantile_edges(values, [1 / 3, 2 / 3]).tolist() == [2.0, 4.0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=60),
    st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=8),
)
def test_it_scores_by_counting_the_edges_below_as_a_binary_search_does(values, edges):
    values, edges = np.array(values), np.sort(np.array(edges))
    want = np.searchsorted(edges, values, side="left") + 1
    assert score_from_edges(values, edges).tolist() == want.tolist()


def test_it_scores_the_cdnow_sample_monotonically_in_each_measure():
    summary = _cdnow_summary()
    out = summary.join(rfm_scores(summary), on="customer_id")
    one_time = summary["n_purchases"] == 1
    assert out["f_score"].filter(one_time).unique().to_list() == [1]
    for measure, score, sign in [
        ("recency", "r_score", -1),
        ("n_purchases", "f_score", 1),
        ("total_spend", "m_score", 1),
    ]:
        ranked = out.sort(measure)[score].to_numpy()
        assert (np.diff(ranked) * sign >= 0).all()
    shares = out["m_score"].value_counts()["count"].to_numpy() / out.height
    assert np.allclose(shares, 0.2, atol=0.01)


def _cdnow_summary() -> pl.DataFrame:
    from patron.analytics.summary import customer_summary

    if not (CDNOW / "CDNOW_sample.txt").exists():  # the data live beside the repository
        pytest.skip(f"CDNOW data not found at {CDNOW}")
    # Columns: master id, sample id, date (yyyymmdd), number of CDs, dollar value.
    rows = [
        line.split()
        for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines()
        if line.strip()
    ]
    tx = pl.DataFrame(
        {
            "customer_id": [int(r[0]) for r in rows],
            "date": [date(int(r[2][:4]), int(r[2][4:6]), int(r[2][6:])) for r in rows],
            "amount": [float(r[4]) for r in rows],
        }
    )
    return customer_summary(tx, as_of=date(1997, 9, 30), unit="week")


# Property tests ------------------------------------------------------------------------------

customers = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 12), st.integers(0, 500)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(customers, st.data())
def test_it_never_lowers_a_score_when_a_customer_buys_again_later(rows, data):
    rec, freq, spend = (list(col) for col in zip(*rows, strict=True))
    i = data.draw(st.integers(0, len(rows) - 1))
    amount = data.draw(st.integers(0, 200))
    before = rfm_scores(frame(rec, freq, spend)).row(i, named=True)
    # A later purchase: recency can only fall, frequency and spend only rise.
    rec[i], freq[i], spend[i] = data.draw(st.integers(0, rec[i])), freq[i] + 1, spend[i] + amount
    after = rfm_scores(frame(rec, freq, spend)).row(i, named=True)
    for score in ("r_score", "f_score", "m_score"):
        assert after[score] >= before[score]


@settings(max_examples=60, deadline=None)
@given(customers, st.randoms(use_true_random=False))
def test_it_scores_each_customer_the_same_whatever_the_row_order(rows, rnd):
    data = frame(*zip(*rows, strict=True))
    shuffled = data.sample(fraction=1.0, shuffle=True, seed=rnd.randint(0, 10_000))
    a = rfm_scores(data).sort("customer_id")
    b = rfm_scores(shuffled).sort("customer_id")
    assert a.equals(b)
    assert a["r_score"].is_between(1, 5).all() and a["m_score"].is_between(1, 5).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(2, 9), st.randoms(use_true_random=False))
def test_it_fills_bins_equally_when_values_are_distinct(per_bin, bins, rnd):
    n = per_bin * bins
    values = list(range(n))
    rnd.shuffle(values)
    out = rfm_scores(frame(values, [v + 1 for v in values], values), bins=bins)
    for score in ("r_score", "f_score", "m_score"):
        counts = out[score].value_counts()["count"]
        assert counts.len() == bins and (counts == per_bin).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 100), st.integers(0, 300)),
        min_size=1,
        max_size=30,
    ),
    st.data(),
)
def test_it_never_lowers_a_score_when_a_later_transaction_arrives(rows, data):
    from patron.analytics.summary import customer_summary

    start, as_of = date(2024, 1, 1), date(2024, 4, 10)

    def scores(lines):
        tx = pl.DataFrame(
            {
                "customer_id": [c for c, _, _ in lines],
                "date": [start + timedelta(days=d) for _, d, _ in lines],
                "amount": [float(a) for _, _, a in lines],
            }
        )
        return rfm_scores(customer_summary(tx, as_of=as_of, unit="day"))

    who = data.draw(st.sampled_from(sorted({c for c, _, _ in rows})))
    last = max(d for c, d, _ in rows if c == who)
    later = (who, data.draw(st.integers(last, 100)), data.draw(st.integers(0, 300)))
    before = scores(rows).filter(pl.col("customer_id") == who).row(0, named=True)
    after = scores([*rows, later]).filter(pl.col("customer_id") == who).row(0, named=True)
    for score in ("r_score", "f_score", "m_score"):
        assert after[score] >= before[score]
