"""Load speed of the demo generator: `python bench/demo_load.py 100000 [--seed 42]`.

Runs on the database DATABASE_URL points at (SQLite under ./var by default), migrating it
first, replacing any demo organisation there, and prints rows per second for customers, orders
and all rows, with the time spent generating versus writing each table.
"""

import argparse
import os
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("customers", type=int)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from patron.demo import services

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    result = services.demo_load(customers=args.customers, seed=args.seed, reset=True,
                                progress=lambda text: print("  ", text, flush=True))
    seconds = time.perf_counter() - began
    total = sum(result.counts.values())
    print(f"database: {connection.vendor}, customers: {args.customers:,}, seed {args.seed}")
    print(f"total: {total:,} rows in {seconds:,.1f} s = {total / seconds:,.0f} rows/s "
          f"(includes organisation setup and generation)")
    rate = args.customers / seconds
    print(f"end to end: {rate:,.0f} customers/s, {result.counts['orders'] / seconds:,.0f} orders/s")
    for name in ("customers", "orders", "order_lines"):
        step = result.seconds[name]
        print(f"writing {name}: {result.counts[name]:,} rows in {step:,.1f} s = "
              f"{result.counts[name] / step:,.0f} rows/s")
    print("seconds by step:", {k: round(v, 1) for k, v in result.seconds.items()})
    print("rows:", result.counts)


if __name__ == "__main__":
    main()
