"""The customer-value pipeline against lifetimes 0.11.3 and a bare polars group-by.

    uv run python bench/analytics_pipeline.py [--customers 1000000] [--lifetimes-customers N]
                                              [--skip-lifetimes] [--full] [--workdir DIR]
                                              [--repeat N]

Simulates a BG/NBD customer base (seeded; first purchases over a year, two years of history,
about 10 purchase lines per customer) with Gamma-Gamma amounts, writes the transactions to a
Parquet file, then runs, each in its own process (so peak memory is each side's own):

(a) ours: `patron.analytics.pipeline.value_core` (the CRM's own code): summary, RFM, BG/NBD and
    Gamma-Gamma fits, P(alive), expected purchases, 12-month CLV;
(b) a bare polars group_by(customer).agg(count, min/max date, sum amount): the floor;
(c) lifetimes 0.11.3 (bench/_lifetimes_side.py, in `uv run --no-project --with
    'lifetimes==0.11.3' --with 'pandas<3' --with pyarrow`): the same steps.

lifetimes is slow at a million customers; `--lifetimes-customers N` (default: all up to
100,000) runs it on the first N customers, and then ours too, for a like-for-like ratio; the
lifetimes time at full size is then a linear extrapolation, printed as such. `--full` also
times the whole `score_customers` (classes, clusters, churn) and prints its per-step timings.
Times exclude reading the Parquet file (printed separately). Nothing is asserted.
`--repeat N` runs ours and the group-by N times each, alternately, and keeps each side's
fastest run: on a shared machine one run of either side can be slowed by other work.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

AS_OF = date(2024, 12, 31)
HERE = Path(__file__).resolve().parent
LIFETIMES_ENV = ("uv", "run", "--no-project", "--with", "lifetimes==0.11.3",
                 "--with", "pandas<3", "--with", "pyarrow", "python")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def generate(n: int, path: Path) -> dict:
    from patron.analytics.simulate import cohort_ages, simulate_bgnbd, simulate_transactions

    start = time.perf_counter()
    ages = cohort_ages(n, calibration=104.0, acquisition=52.0, seed=1)
    base = simulate_bgnbd(n, r=1.25, alpha=3.0, a=0.8, b=2.5, T=ages, seed=4, resolution=1 / 7)
    tx = simulate_transactions(base, as_of=AS_OF, p=6.0, q=4.0, gamma=15.0, seed=3)
    tx.write_parquet(path)
    return {"customers": n, "transactions": tx.height, "seconds": time.perf_counter() - start}


def _load(path: Path, customers: int | None) -> tuple[pl.DataFrame, float]:
    start = time.perf_counter()
    tx = pl.read_parquet(path)
    if customers is not None:
        tx = tx.filter(pl.col("customer_id") <= customers)  # ids are 1..n
    return tx, time.perf_counter() - start


def side_ours(path: Path, customers: int | None, full: bool) -> dict:
    from patron.analytics import pipeline

    tx, read_s = _load(path, customers)
    rss_data = _peak_mb()
    start = time.perf_counter()
    if full:
        result = pipeline.score_customers(tx, as_of=AS_OF)
    else:
        result = pipeline.value_core(tx, as_of=AS_OF)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "read_s": read_s, "rss_after_read_mb": rss_data,
            "customers": result.customers.height, "transactions": tx.height,
            "steps_s": result.report["timings_s"], "bgnbd": result.report["bgnbd"]["params"],
            "gamma_gamma": result.report["gamma_gamma"].get("params"),
            "clv_total": float(result.customers.get_column("clv").sum())}


def side_groupby(path: Path, customers: int | None) -> dict:
    tx, read_s = _load(path, customers)
    rss_data = _peak_mb()
    start = time.perf_counter()
    out = tx.group_by("customer_id").agg(
        pl.len().alias("n"), pl.col("date").min().alias("first"),
        pl.col("date").max().alias("last"), pl.col("amount").sum().alias("total"),
    )
    return {"seconds": time.perf_counter() - start, "read_s": read_s,
            "rss_after_read_mb": rss_data, "customers": out.height, "transactions": tx.height}


def run_side(name: str, path: Path, customers: int | None, full: bool = False) -> dict:
    """One side in a fresh process; returns its JSON line with the peak RSS added."""
    if name == "lifetimes":
        cmd = [*LIFETIMES_ENV, str(HERE / "_lifetimes_side.py"), str(path), AS_OF.isoformat()]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--side", name, "--file", str(path)]
        cmd += ["--full"] if full else []
    cmd += ["--customers", str(customers)] if customers is not None else []
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} side failed:\n{done.stderr[-4000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    if name == "lifetimes":
        out["seconds"] = out["times_s"]["total"]
    return out


def best_of(repeat: int, name: str, path: Path, customers: int | None) -> dict:
    """The fastest of `repeat` runs of one side (see --repeat)."""
    runs = [run_side(name, path, customers) for _ in range(repeat)]
    return min(runs, key=lambda out: out["seconds"])


def _line(label: str, figures: dict) -> None:
    peak = figures.get("peak_rss_mb", 0.0)
    print(f"  {label:<34} {figures['seconds']:9.2f} s   peak RSS {peak:8.0f} MB"
          f"   ({figures['customers']:,} customers, {figures['transactions']:,} lines)")


def main_compare(ns: argparse.Namespace) -> None:
    n = ns.customers
    lt_n = ns.lifetimes_customers or min(n, 100_000)
    with tempfile.TemporaryDirectory(dir=ns.workdir) as tmp:
        path = Path(tmp) / "transactions.parquet"
        made = generate(n, path)
        print(f"simulated {made['customers']:,} customers, {made['transactions']:,} purchase "
              f"lines in {made['seconds']:.1f} s -> {path.name}")
        ours, group = run_side("ours", path, None), run_side("groupby", path, None)
        for _ in range(ns.repeat - 1):  # alternately, so both sides see the same machine
            ours = min(ours, run_side("ours", path, None), key=lambda out: out["seconds"])
            group = min(group, run_side("groupby", path, None), key=lambda out: out["seconds"])
        best = f", best of {ns.repeat} runs" if ns.repeat > 1 else ""
        print(f"\nwhole data (times exclude reading the Parquet file{best}):")
        _line("ours: value_core", ours)
        print("    steps: " + ", ".join(f"{k} {v:.2f}s" for k, v in ours["steps_s"].items()))
        _line("bare polars group_by", group)
        print(f"  ours / group-by: {ours['seconds'] / group['seconds']:.2f}x (target <= 3x)")
        if not ns.skip_lifetimes:
            _compare_lifetimes(path, n, lt_n, ours, ns.repeat)
        if ns.full:
            full = run_side("ours", path, None, full=True)
            print("\nfull score_customers (classes, clusters, churn) on all customers:")
            _line("ours: score_customers", full)
            print("    steps: " + ", ".join(f"{k} {v:.2f}s" for k, v in full["steps_s"].items()))


def _compare_lifetimes(path: Path, n: int, lt_n: int, ours: dict, repeat: int) -> None:
    subset = None if lt_n >= n else lt_n
    lt = run_side("lifetimes", path, subset)  # once: it is the slow side
    print(f"\nlifetimes 0.11.3 on {lt['customers']:,} customers:")
    _line("lifetimes", lt)
    print("    steps: " + ", ".join(f"{k} {v:.2f}s" for k, v in lt["times_s"].items()))
    same = ours if subset is None else best_of(repeat, "ours", path, subset)
    print(f"    BG/NBD lifetimes {lt['bgnbd']}\n    BG/NBD ours      {same['bgnbd']}")
    if subset is not None:
        _line(f"ours on the same {subset:,}", same)
    print(f"  like-for-like: lifetimes / ours = {lt['seconds'] / same['seconds']:.1f}x "
          "(target >= 20x)")
    if subset is not None:
        scaled = lt["seconds"] * n / lt["customers"]
        print(f"  EXTRAPOLATED (linear, x{n / lt['customers']:.0f}): lifetimes at {n:,} ~ "
              f"{scaled:.0f} s; / ours {ours['seconds']:.2f} s = {scaled / ours['seconds']:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lifetimes-customers", type=int, default=None)
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--full", action="store_true", help="also time score_customers")
    parser.add_argument("--workdir", default=None, help="where the Parquet file goes")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per side")
    parser.add_argument("--side", choices=("ours", "groupby"), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.side is None:
        main_compare(ns)
        return
    customers = ns.customers if "--customers" in sys.argv else None
    if ns.side == "ours":
        out = side_ours(ns.file, customers, ns.full)
    else:
        out = side_groupby(ns.file, customers)
    out["peak_rss_mb"] = _peak_mb()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
