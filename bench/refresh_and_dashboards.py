"""Value refresh and dashboard speed: `python bench/refresh_and_dashboards.py 100000 [--seed 42]`.

Loads N demo customers with the demo_data command into the database DATABASE_URL points at
(migrated first, the demo organisation replaced), runs the full value refresh and prints its
time split into database read / models / database write / rollups (from run.report), the
process's peak memory, then serves the dashboard and the at-risk list 20 times each with the
test client (as the demo admin) and prints the median and 95th percentile. The snapshots are
inserted slice by slice while later slices are scored: "write" is what the refresh spent on
them beyond the models (preparing the rows, waiting for the last slices, statistics), and the
write steps' "insert" the inserts' own time, which overlaps the models.

Then the baseline of issue 5's target: the same purchases and order lines the refresh read,
written to Parquet files, read back and scored by the analytics core alone
(`pipeline.score_customers`), in the same process, twice by default (this machine's speed
drifts by tens of percent over minutes): the refresh should take at most 2x their mean. The
pruning of old runs' snapshots, a background task after the refresh, is timed on its own.

    --history N   before the refresh, give the table N runs of snapshots (copies of the
                  current run's), as a year of refreshes leaves it: the insert costs more then

    --reuse   keep the demo organisation already in the database (e.g. the million customers
              of bench/seed_sql.py: DATABASE_URL=.../patron_bench_1m ... 1000000 --reuse)
"""

import argparse
import os
import resource
import statistics
import time

import django


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _timed(client, url: str, n: int) -> tuple[float, float, int]:
    times = []
    for _ in range(n):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * n) - 1)], len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("customers", type=int)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep the demo organisation in the database")
    parser.add_argument("--history", type=int, default=0,
                        help="first give the table this many earlier runs' snapshots (copies of the current run's), "
                             "as a year of monthly refreshes leaves it; needs a scored organisation")
    parser.add_argument("--core-runs", type=int, default=2,
                        help="times to run the analytics core (the machine's speed drifts; the mean is the baseline)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from patron.accounts.models import User
    from patron.common import tenancy
    from patron.insights import services
    from patron.organizations.models import Organization

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    with tenancy.unscoped():
        if not (args.reuse and Organization.objects.filter(slug="demo").exists()):
            call_command("demo_data", customers=args.customers, seed=args.seed, reset=True, verbosity=0)
        org = Organization.objects.get(slug="demo")
    if connection.vendor == "postgresql":  # fresh bulk-loaded tables need planner statistics
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"database: {connection.vendor}; demo organisation ready in {time.perf_counter() - began:,.1f} s")
    if args.history:
        with tenancy.scope(org):
            _add_history(org, args.history)
    before_mb = _peak_mb()
    with tenancy.scope(org):
        began = time.perf_counter()
        run = services.value_refresh(organization=org)
        total = time.perf_counter() - began
        admin = User.objects.get(username="admin")
    db, models = run.report.get("database_s", {}), run.report.get("timings_s", {}).get("total", 0.0)
    print(
        f"refresh: {run.status}, {run.n_customers:,} customers scored in {total:,.1f} s: "
        f"read {db.get('read', 0):.1f} s, models {models:.1f} s, write {db.get('write', 0):.1f} s, "
        f"rollups {db.get('rollups', 0):.1f} s"
    )
    for part in ("read_steps", "write_steps"):
        print(f"  {part}: " + ", ".join(f"{k} {v:.1f}s" for k, v in db.get(part, {}).items()))
    print(f"peak memory (max RSS): {_peak_mb():,.0f} MB (before the refresh: {before_mb:,.0f} MB)")
    with tenancy.scope(org):
        began = time.perf_counter()
        pruned = services.history_prune()
    print(f"history prune (the background task after a refresh, not part of it): {pruned:,} snapshots "
          f"in {time.perf_counter() - began:,.1f} s")
    cores = _core_from_files(org, run.as_of, runs=args.core_runs)
    core = statistics.mean(cores)
    print(f"analytics core on the same data from Parquet files: {', '.join(f'{c:,.1f}' for c in cores)} s; "
          f"refresh / core (mean) = {total / core:.2f}x (target <= 2x)")
    setup_test_environment()
    client = Client()
    client.force_login(admin)
    for name, url in [("dashboard", "/insights/"), ("at-risk list", "/insights/at-risk/")]:
        median, p95, size = _timed(client, url, args.requests)
        print(
            f"{name}: median {median:,.0f} ms, p95 {p95:,.0f} ms over {args.requests} requests ({size / 1024:,.0f} KiB)"
        )


def _add_history(org, runs: int) -> None:
    """Copy the current run's snapshots into earlier finished runs, one a month back, until the
    organisation holds `runs` runs with snapshots: the snapshot insert's cost grows with what
    the table already holds, so a bench on an empty table flatters it. Each run gets the
    current run's digest too, as a refresh would have written one."""
    import datetime as dt

    from django.db import connection, transaction

    from patron.insights.models import CustomerScore, ScoreRun, ScoreRunDigest

    current = ScoreRun.objects.filter(is_current=True).defer("fitted_models").first()
    if current is None:
        print("history: no scored run to copy (run the bench once without --history)")
        return
    held = len(ScoreRun.objects.holding_snapshots())
    sqlite = connection.vendor == "sqlite"
    columns = [f.column for f in CustomerScore._meta.concrete_fields if f.column not in ("id", "run_id")]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    digest = ScoreRunDigest.objects.filter(run=current).values_list("frame", flat=True).first()
    began = time.perf_counter()
    for i in range(held, runs):
        run = ScoreRun.objects.create(organization=org, as_of=current.as_of - dt.timedelta(days=30 * i),
                                      status=ScoreRun.Status.DONE, model_version="bench-history")
        new_key = "lower(hex(randomblob(16)))" if sqlite else "gen_random_uuid()"
        with transaction.atomic(), connection.cursor() as cursor:
            # Only column names of the model are interpolated.
            cursor.execute(
                f"INSERT INTO insights_customerscore (id, run_id, {names}) "  # noqa: S608
                f"SELECT {new_key}, %s, {names} FROM insights_customerscore WHERE run_id = %s",
                [run.pk.hex if sqlite else run.pk, current.pk.hex if sqlite else current.pk])
            if digest is not None:
                ScoreRunDigest.objects.create(organization=org, run=run, frame=digest)
    print(f"history: {max(runs, held)} runs with snapshots ({max(0, runs - held)} added in "
          f"{time.perf_counter() - began:,.1f} s)")


def _core_from_files(org, as_of, runs: int) -> list[float]:
    """Score the refresh's own inputs, read from Parquet, with the analytics core alone, `runs`
    times; the seconds of each."""
    import datetime as dt
    import tempfile
    from pathlib import Path

    import polars as pl

    from patron.analytics import pipeline
    from patron.common import tenancy
    from patron.insights import readers, services

    with tenancy.scope(org):
        purchases = readers.read_purchases(organization_id=org.pk, as_of=as_of, tz=org.time_zone)
        end = readers._day_bounds(as_of, org.time_zone)
        lines = readers.read_order_lines(organization_id=org.pk, until=end,
                                         since=end - dt.timedelta(days=services.BASKET_DAYS))
    with tempfile.TemporaryDirectory() as tmp:
        purchases.write_parquet(Path(tmp) / "purchases.parquet")
        lines.write_parquet(Path(tmp) / "lines.parquet")
        del purchases, lines
        seconds = []
        for _ in range(runs):
            began = time.perf_counter()
            result = pipeline.score_customers(pl.read_parquet(Path(tmp) / "purchases.parquet"), as_of=as_of,
                                              lines=pl.read_parquet(Path(tmp) / "lines.parquet"))
            seconds.append(time.perf_counter() - began)
            print(f"  core steps: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.report["timings_s"].items()))
            del result
    return seconds


if __name__ == "__main__":
    main()
