"""Fit time of the lifetime-value models on simulated customer bases.

    uv run python bench/clv_fit.py [n_customers]

Simulates a CDNOW-like cohort (first purchases spread over 12 weeks, 39 weeks of calibration,
day-stamped) of n customers (default 1,000,000), then times each step: the summary of the
transactions (10 transactions per customer on average), and the fits of BG/NBD, MBG/NBD,
Pareto/NBD and Gamma-Gamma. Prints wall-clock seconds; nothing here is asserted.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import date

import numpy as np
import polars as pl

from patron.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
)
from patron.analytics.simulate import (
    cohort_ages,
    simulate_bgnbd,
    simulate_pareto_nbd,
    simulate_transactions,
)
from patron.analytics.summary import customer_summary

AS_OF = date(1997, 9, 30)


def timed[T](label: str, fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    out = fn()
    print(f"{label:<48} {time.perf_counter() - start:7.2f} s")
    return out


def summary_timing(n: int, ages: np.ndarray) -> None:
    # A busier base than CDNOW (about 13 purchases per customer) for the summary timing.
    busy = simulate_pareto_nbd(
        n, r=2.0, alpha=5.0, s=0.3, beta=40.0, T=ages, seed=2, resolution=1 / 7
    )
    tx = timed(
        "simulate transactions",
        lambda: simulate_transactions(busy, as_of=AS_OF, p=6.0, q=4.0, gamma=15.0, seed=3),
    )
    print(f"  {tx.height:,} transactions, {n:,} customers")
    timed("customer_summary", lambda: customer_summary(tx, as_of=AS_OF))


def main(n: int) -> None:
    ages = cohort_ages(n, calibration=39.0, acquisition=12.0, seed=1)
    summary_timing(n, ages)
    day = 1 / 7
    bg = simulate_bgnbd(n, r=0.25, alpha=4.0, a=0.8, b=2.5, T=ages, seed=4, resolution=day)
    pn = simulate_pareto_nbd(
        n, r=0.55, alpha=10.5, s=0.6, beta=11.7, T=ages, seed=5, resolution=day
    )
    for label, model, data in (
        ("BG/NBD fit", BetaGeoModel(), bg),
        ("MBG/NBD fit", ModifiedBetaGeoModel(), bg),
        ("Pareto/NBD fit", ParetoNBDModel(), pn),
    ):
        fitted = timed(label, lambda m=model, d=data: m.fit(d))
        shown = ", ".join(f"{k}={v:.4g}" for k, v in fitted.params_.items())
        print(f"  {fitted.n_distinct_:,} distinct (x, t_x, T) rows; {shown}")
    rng = np.random.default_rng(6)
    x = pn.get_column("x").to_numpy()
    nu = rng.gamma(4.0, 1 / 15.0, n)
    monetary = np.where(x > 0, rng.gamma(6.0 * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))), 0.0)
    spend = pn.with_columns(pl.Series("monetary", monetary))
    gg = timed("Gamma-Gamma fit", lambda: GammaGammaModel().fit(spend))
    shown = ", ".join(f"{k}={v:.4g}" for k, v in gg.params_.items())
    print(f"  {gg.n_customers_:,} repeat buyers; {shown}")
    pareto = ParetoNBDModel().fit(pn)
    timed(
        "12-month CLV (Pareto/NBD + Gamma-Gamma)",
        lambda: customer_lifetime_value(pareto, gg, spend, horizon_months=12, discount_rate=0.1),
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
