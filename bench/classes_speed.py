"""How fast are RFM scoring, the seed-002 classes, clustering and basket mining?

Run: uv run python bench/classes_speed.py [n_customers]

Prints wall-clock and process CPU seconds (best of three) for a simulated population (1,000,000
customers by default). Nothing here is asserted: timings belong in benchmarks, not tests.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import date

import numpy as np
import polars as pl

from patron.analytics.baskets import association_rules, frequent_itemsets, recommend
from patron.analytics.classification import CustomerClassifier
from patron.analytics.clustering import BehaviourClusterer
from patron.analytics.rfm import RFMSegmenter, rfm_scores

AS_OF = date(2025, 1, 1)


def simulate_summary(n: int, seed: int = 0) -> pl.DataFrame:
    """A customer summary with skewed counts and spend, as in real purchase data."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 1500, n)
    n_purchases = 1 + rng.negative_binomial(0.5, 0.2, n)
    recency = np.minimum(tenure, rng.exponential(200, n).astype(np.int64))
    spend = n_purchases * rng.gamma(2.0, 40.0, n)
    start = np.datetime64(AS_OF.isoformat())
    return pl.DataFrame(
        {
            "customer_id": np.arange(n),
            "first_purchase": start - tenure.astype("timedelta64[D]"),
            "last_purchase": start - recency.astype("timedelta64[D]"),
            "n_purchases": n_purchases.astype(np.int64),
            "recency": recency / 7.0,
            "T": tenure / 7.0,
            "total_spend": spend,
        }
    ).with_columns(pl.col("first_purchase", "last_purchase").cast(pl.Date))


def simulate_baskets(n_orders: int, n_products: int = 500, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = 1 + rng.poisson(2.0, n_orders)
    orders = np.repeat(np.arange(n_orders), sizes)
    # Zipf-like popularity: a few products appear in many baskets.
    weights = 1.0 / np.arange(1, n_products + 1)
    products = rng.choice(n_products, orders.size, p=weights / weights.sum())
    return pl.DataFrame({"order_id": orders, "product_id": products, "customer_id": orders // 3})


def best_of(fn: Callable[[], object], repeat: int = 3) -> tuple[float, float]:
    """Best wall-clock and best process CPU seconds (all threads) over `repeat` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def report(label: str, fn: Callable[[], object], repeat: int = 3) -> None:
    wall, cpu = best_of(fn, repeat)
    print(f"  {label:<52} {wall:7.3f} s wall {cpu:7.3f} s cpu")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    summary = simulate_summary(n)
    print(f"{n:,} customers, polars {pl.__version__} (best of 3)")
    report("rfm_scores (fit, scores, segment, class8)", lambda: rfm_scores(summary))
    seg = RFMSegmenter().fit(summary)
    report("RFMSegmenter.transform against a past fit", lambda: seg.transform(summary))
    prospects = pl.Series(np.arange(n, n + n // 10))
    report(
        "CustomerClassifier fit + transform (+10% prospects)",
        lambda: CustomerClassifier().fit_transform(summary, as_of=AS_OF, customers=prospects),
    )
    # K-means runs on one thread (BehaviourClusterer.n_threads); its figures also vary most
    # with the machine's load.
    sample = summary.head(100_000)
    report(
        "BehaviourClusterer on 100,000 (k chosen in 2..8)",
        lambda: BehaviourClusterer().fit(sample),
        repeat=1,
    )
    report(
        "BehaviourClusterer on 100,000 (k fixed at 4)",
        lambda: BehaviourClusterer(n_clusters=4).fit(sample),
        repeat=1,
    )

    lines = simulate_baskets(200_000)

    def mine() -> pl.DataFrame:
        return association_rules(frequent_itemsets(lines, min_support=0.002), min_confidence=0.05)

    rules = mine()
    print(f"baskets: {lines.height:,} order lines, 200,000 orders, {rules.height:,} rules")
    report("frequent_itemsets + association_rules", mine)
    n_customers = lines["customer_id"].n_unique()
    report(f"recommend k=5 for {n_customers:,} customers", lambda: recommend(rules, lines, 5))


if __name__ == "__main__":
    main()
