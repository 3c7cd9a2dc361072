"""Customer export throughput: a list or a class as its CSV or Excel file, as a background
export writes it, against reading the same rows from the database alone.

    DATABASE_URL=... uv run python bench/export_throughput.py --format csv --region 上海
    DATABASE_URL=... uv run python bench/export_throughput.py --format xlsx --lifecycle churned

Runs on a database loaded by `bench/demo_load.py` and scored by a refresh (the score columns
are part of the file), as the demo's sales manager. The baseline is the same queryset read
row by row as model instances (`.iterator()`, every column: the export reads fewer), in the
same process just before: the ratio says what the export costs on top of a plain read. Peak
memory is the process's. Each run writes an audit entry, as every export does.
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--region", help="the list filtered by a region (contains)")
    parser.add_argument("--lifecycle", help="the list filtered by a lifecycle stage, e.g. churned")
    parser.add_argument("--user", default="manager")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    os.environ.setdefault("PATRON_DEBUG", "0")
    import django

    django.setup()
    from patron.accounts.models import User
    from patron.common import tenancy
    from patron.imports import exports
    from patron.insights.selectors import with_current_score

    with tenancy.unscoped():
        user = User.objects.get(username=args.user)
    query = {"format": args.format}
    if args.region:
        query["region"] = args.region
    if args.lifecycle:
        query["lifecycle"] = args.lifecycle
    with tenancy.scope(user.organization):
        queryset = exports.customer_queryset(user=user, query=query)
        start = time.perf_counter()
        read = sum(1 for _ in with_current_score(queryset).iterator(chunk_size=2000))
        baseline = time.perf_counter() - start
        start = time.perf_counter()
        data, count = exports.customer_export(user=user, queryset=queryset, query=query, format=args.format,
                                              include_sensitive=False)
        elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"read only: {read:,} rows in {baseline:.1f} s ({read / baseline:,.0f} rows/s)")
    print(f"export {args.format}: {count:,} rows, {len(data) / 2**20:.0f} MB in {elapsed:.1f} s "
          f"({count / elapsed:,.0f} rows/s) = {elapsed / baseline:.2f}x the reading; peak memory {peak:,.0f} MB")


if __name__ == "__main__":
    main()
