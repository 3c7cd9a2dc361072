"""The lifetimes 0.11.3 side of bench/analytics_pipeline.py, run in its own environment.

    uv run --no-project --with 'lifetimes==0.11.3' --with 'pandas<3' --with pyarrow \\
        python bench/_lifetimes_side.py TRANSACTIONS.parquet AS_OF [--customers N]

Reads the benchmark's transactions, keeps the first N customers (all by default), and times
the same value pipeline as `patron.analytics.pipeline.value_core`, written the way a lifetimes
user would: summary_data_from_transaction_data (weekly), BetaGeoFitter, GammaGammaFitter on
repeat buyers, conditional P(alive), expected purchases over 90 days, 12-month CLV (10% a
year) and RFM quintile scores in pandas. Prints one JSON line: seconds per step and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data


def _quintiles(values: pd.Series, ascending: bool = True) -> pd.Series:
    ranked = values.rank(method="first", ascending=ascending)
    return pd.qcut(ranked, 5, labels=False).astype(int) + 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transactions")
    parser.add_argument("as_of")
    parser.add_argument("--customers", type=int, default=None)
    ns = parser.parse_args()
    tx = pd.read_parquet(ns.transactions)
    if ns.customers is not None:
        tx = tx[tx["customer_id"] <= ns.customers]  # ids are 1..n
    times: dict[str, float] = {}
    t0 = t = time.perf_counter()
    # In days, then weeks = days / 7 as patron does (freq="W" would round to whole weeks).
    daily = summary_data_from_transaction_data(
        tx, "customer_id", "date", monetary_value_col="amount",
        observation_period_end=ns.as_of, freq="D",
    )
    summary = daily.copy()
    summary["recency"] = daily["recency"] / 7
    summary["T"] = daily["T"] / 7
    times["summary"] = time.perf_counter() - t
    t = time.perf_counter()
    bgf = BetaGeoFitter(penalizer_coef=0.0).fit(summary["frequency"], summary["recency"],
                                                  summary["T"])
    times["bgnbd_fit"] = time.perf_counter() - t
    t = time.perf_counter()
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    ggf = GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"], repeat["monetary_value"])
    times["gamma_gamma_fit"] = time.perf_counter() - t
    t = time.perf_counter()
    summary["p_alive"] = bgf.conditional_probability_alive(
        summary["frequency"], summary["recency"], summary["T"])
    summary["expected_purchases"] = bgf.conditional_expected_number_of_purchases_up_to_time(
        90 / 7, summary["frequency"], summary["recency"], summary["T"])
    summary["expected_spend"] = ggf.conditional_expected_average_profit(
        summary["frequency"], summary["monetary_value"])
    times["predictions"] = time.perf_counter() - t
    t = time.perf_counter()
    # lifetimes' CLV: monthly steps of 30 days in the summary's unit (weeks), annual 10%
    # converted to a monthly rate.
    summary["clv"] = ggf.customer_lifetime_value(
        bgf, summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"],
        time=12, discount_rate=1.1 ** (1 / 12) - 1, freq="W",
    )
    times["clv"] = time.perf_counter() - t
    t = time.perf_counter()
    totals = tx.groupby("customer_id")["amount"].sum()
    summary["r_score"] = _quintiles(summary["T"] - summary["recency"], ascending=False)
    summary["f_score"] = _quintiles(summary["frequency"])
    summary["m_score"] = _quintiles(totals.reindex(summary.index))
    summary["rfm_code"] = (summary["r_score"].astype(str) + summary["f_score"].astype(str)
                           + summary["m_score"].astype(str))
    times["rfm"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "customers": int(summary.shape[0]), "transactions": int(tx.shape[0]),
        "times_s": {k: round(v, 3) for k, v in times.items()}, "peak_rss_mb": peak_kb / 1024,
        "bgnbd": {k: float(v) for k, v in bgf.params_.items()},
        "gamma_gamma": {k: float(v) for k, v in ggf.params_.items()},
        "clv_total": float(np.nansum(summary["clv"])),
    }))


if __name__ == "__main__":
    main()
