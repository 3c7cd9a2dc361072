"""API and page latency at two sizes on PostgreSQL: customer detail, list (50 rows), search, a write,
and the customer list and customer pages as HTML.

    DATABASE_URL is ignored; the script makes its own databases on the local PostgreSQL:
    uv run python bench/api_latency.py --sizes 10000 1000000 --requests 60

For each size it creates `patron_bench_api_<size>`, migrates, loads the demo organisation with
that many customers (skipped when the database is already loaded: pass --reuse), then times
requests served in-process by Django's test client (server time: routing, authentication,
queries, serialisation; no network), as a sales manager (team and sub-teams visibility) and as
a rep (own customers), and the reads as a viewer (the whole organisation, phones and e-mails
masked: a search matches them only given whole). Scored by a refresh, so that the lists' sorts
by CLV are timed too. It prints the median and p95 of each call and the ratio between the
largest and the smallest size. Targets (issue 2): list and search at 1,000,000 within 1.5x of
10,000; detail p50 <= 15 ms, list p50 <= 30 ms, search p50 <= 40 ms.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def prepare(size: int, reuse: bool) -> str:
    import psycopg

    name = os.environ.get(f"BENCH_DB_{size}", f"patron_bench_api_{size}")
    url = f"{PG}/{name}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reuse:
            return url
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "PATRON_ENV": "development"}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "patron.cli", "manage", "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([sys.executable, "-m", "patron.cli", "manage", "demo_data", "--customers", str(size)], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    # Scored, so that the lists' sorts by a current score have scores to sort by.
    subprocess.run([sys.executable, "-m", "patron.cli", "manage", "refresh", "--org", "demo", "--no-alerts"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["psql", url, "-qc", "VACUUM ANALYZE"], check=True)
    print(f"  loaded {size:,} customers in {time.perf_counter() - t:.0f}s", flush=True)
    return url


def measure(url: str, requests: int) -> dict[str, list[float]]:
    """Run in a child process so each size gets its own Django set-up and connection."""
    code = f"""
import json, os, statistics, time
os.environ["DATABASE_URL"] = {url!r}
os.environ["DJANGO_SETTINGS_MODULE"] = "patron.config.settings"
os.environ["PATRON_ALLOWED_HOSTS"] = "testserver"
import django; django.setup()
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.authtoken.models import Token
from patron.accounts.models import User
from patron.common import tenancy
from patron.customers.models import Customer
with tenancy.unscoped():
    manager = User.objects.get(username="manager")
    rep = User.objects.get(username="wang.lei")
    viewer = User.objects.get(username="viewer")
    org = manager.organization_id
with tenancy.scope(org):
    mine = list(Customer.objects.filter(owner=rep).order_by("-created_at")[:{requests}])
    tokens = {{u.username: Token.objects.get_or_create(user=u)[0].key for u in (manager, rep, viewer)}}
    users = {{"manager": manager, "wang.lei": rep, "viewer": viewer}}
out = {{}}
for who in ("manager", "wang.lei", "viewer"):
    client = APIClient(); client.credentials(HTTP_AUTHORIZATION="Token " + tokens[who])
    calls = {{
        "detail": lambda i: client.get(f"/api/customers/{{mine[i % len(mine)].pk}}/"),
        "list": lambda i: client.get("/api/customers/"),
        "search": lambda i: client.get("/api/customers/", {{"q": mine[i % len(mine)].phone[-6:]}}),
        "write": lambda i: client.patch(f"/api/customers/{{mine[i % len(mine)].pk}}/", {{"city": f"City {{i}}"}}, format="json"),
        "sort clv": lambda i: client.get("/api/customers/", {{"ordering": "-clv"}}),
        "whole phone": lambda i: client.get("/api/customers/", {{"q": mine[i % len(mine)].phone}}),
    }}
    # The pages (issue 4): the customer list and the customer's 360 page, rendered in full.
    page_client = Client(); page_client.force_login(users[who])
    calls["page list"] = lambda i: page_client.get("/customers/")
    calls["page search"] = lambda i: page_client.get("/customers/", {{"q": mine[i % len(mine)].phone[-6:]}})
    calls["page detail"] = lambda i: page_client.get(f"/customers/{{mine[i % len(mine)].pk}}/")
    calls["page sort clv"] = lambda i: page_client.get("/customers/", {{"sort": "-clv"}})
    if who == "viewer":  # reads only
        calls = {{k: v for k, v in calls.items() if k not in ("write",)}}
    for name, call in calls.items():
        call(0)  # warm up
        times = []
        for i in range({requests}):
            t = time.perf_counter(); r = call(i); times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, (name, r.status_code, r.content[:200])
        out[f"{{who}} {{name}}"] = times
print("RESULT" + json.dumps(out))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT")), None)
    if line is None:
        sys.exit(proc.stdout[-2000:] + proc.stderr[-4000:])
    import json

    return json.loads(line[len("RESULT"):])


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--reuse", action="store_true", help="reuse already loaded databases")
    args = parser.parse_args()
    results = {}
    for size in args.sizes:
        print(f"size {size:,}", flush=True)
        results[size] = measure(prepare(size, args.reuse), args.requests)
    small, large = min(results), max(results)
    print(f"\n{'call':<22}" + "".join(f"{f'p50@{s:,}':>14}{f'p95@{s:,}':>14}" for s in sorted(results))
          + (f"{'p50 ratio':>11}" if small != large else ""))
    for call in results[small]:
        row = f"{call:<22}"
        for size in sorted(results):
            t = results[size][call]
            row += f"{statistics.median(t):>12.1f}ms{p95(t):>12.1f}ms"
        if small != large:
            row += f"{statistics.median(results[large][call]) / statistics.median(results[small][call]):>10.2f}x"
        print(row)


if __name__ == "__main__":
    main()
