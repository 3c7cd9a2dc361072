"""`patron analyze`: customer science on a transaction file, without a server or a database.

    patron analyze TRANSACTIONS --as-of DATE [--holdout-end DATE] [--output PATH] [--report PATH]

Reads a CSV, whitespace-separated text (CDNOW), XLSX or Parquet file of purchases (see
`patron.analytics.io`), runs `pipeline.score_customers` as of the date, prints a summary and
writes the per-customer results (CSV or Parquet, by the suffix of ``--output``) and a JSON
report (fitted parameters, log-likelihoods, fit diagnostics, timings and, with
``--holdout-end``, the evaluation of the forecasts on the period after ``--as-of``).
Exit codes: 0 done, 2 bad input (the message names the row and the column).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from patron.analytics import evaluation, pipeline
from patron.analytics.errors import AnalyticsError, InputError
from patron.analytics.io import read_transactions
from patron.analytics.summary import holdout_summary

PROGRESS_ROWS = 200_000  # a progress bar from this many purchase lines (or with --progress)
FREQUENCY_BINS = 7  # holdout table by calibration repeat purchases: 0..6 and 7+


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="patron analyze",
        description="Customer value, segments and churn risk from a file of purchases.",
    )
    parser.add_argument("transactions", type=Path, help="CSV, TXT, XLSX or Parquet file")
    parser.add_argument("--as-of", type=_iso_date, required=True, help="end of the history")
    parser.add_argument("--holdout-end", type=_iso_date, help="evaluate forecasts up to here")
    parser.add_argument("--customer-col", help="column of the customer (guessed by default)")
    parser.add_argument("--date-col", help="column of the purchase date (guessed by default)")
    parser.add_argument("--amount-col", help="column of the amount (guessed by default)")
    parser.add_argument("--separator", help="comma, semicolon, tab, pipe, whitespace or a char")
    parser.add_argument("--date-format", help="strftime format of the dates, e.g. %%d/%%m/%%Y")
    parser.add_argument("--sheet", help="XLSX sheet (default: the first)")
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        help="per-customer results, .csv or .parquet (default ./<file>_customers.csv)",
    )
    parser.add_argument("--report", type=Path, help="JSON report (default ./<file>_report.json)")
    parser.add_argument("--horizon-days", type=int, default=90, help="forecast and churn window")
    parser.add_argument("--clv-months", type=int, default=12)
    parser.add_argument("--discount-rate", type=float, default=0.10, help="annual")
    parser.add_argument("--no-clusters", action="store_true", help="skip behaviour clusters")
    parser.add_argument("--no-churn", action="store_true", help="skip the churn model")
    parser.add_argument(
        "--value-only",
        action="store_true",
        help="only summary, RFM, BG/NBD, Gamma-Gamma and CLV (fastest)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true", help="always show the progress bar")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    return parser


@contextmanager
def _steps(console: Console, total: int, show: bool) -> Iterator[Any]:
    """A progress bar over the pipeline steps (a no-op callback when hidden)."""
    if not show:
        yield lambda name: None
        return
    columns = (
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("reading", total=total)

        def advance(name: str) -> None:
            bar.update(task, advance=1, description=name)

        yield advance


def _options(ns: argparse.Namespace) -> pipeline.PipelineOptions:
    return pipeline.PipelineOptions(
        horizon_days=ns.horizon_days,
        clv_months=ns.clv_months,
        discount_rate=ns.discount_rate,
        churn_model=not ns.no_churn,
        clusters=not ns.no_clusters,
        random_state=ns.seed,
    )


def _run(ns: argparse.Namespace, console: Console) -> dict[str, Any]:
    started = time.perf_counter()
    transactions = read_transactions(
        ns.transactions,
        customer_col=ns.customer_col,
        date_col=ns.date_col,
        amount_col=ns.amount_col,
        separator=ns.separator,
        date_format=ns.date_format,
        sheet=ns.sheet,
    )
    read_s = time.perf_counter() - started
    history = transactions.filter(pl.col("date") <= ns.as_of)
    opts = _options(ns)
    steps = pipeline.VALUE_STEPS if ns.value_only else pipeline.STEPS
    show = not ns.quiet and (ns.progress or transactions.height >= PROGRESS_ROWS)
    with _steps(console, len(steps), show) as progress:
        run = pipeline.value_core if ns.value_only else pipeline.score_customers
        result = run(history, as_of=ns.as_of, options=opts, progress=progress)
    customers = result.customers
    report: dict[str, Any] = {
        "input": _input_facts(ns.transactions, transactions, history),
        "options": vars(opts),
        **result.report,
    }
    report["timings_s"]["read"] = round(read_s, 4)
    if ns.holdout_end is not None:
        customers, report["evaluation"] = evaluate_holdout(
            transactions,
            customers,
            result.models["purchase"],
            as_of=ns.as_of,
            holdout_end=ns.holdout_end,
            horizon_days=opts.horizon_days,
        )
    return {"customers": customers, "report": report}


def _input_facts(path: Path, transactions: pl.DataFrame, history: pl.DataFrame) -> dict:
    dates = transactions.get_column("date")
    return {
        "path": str(path),
        "rows": transactions.height,
        "rows_up_to_as_of": history.height,
        "customers": transactions.get_column("customer_id").n_unique(),
        "first_date": str(dates.min()),
        "last_date": str(dates.max()),
        "total_amount": float(transactions.get_column("amount").sum()),
    }


def evaluate_holdout(
    transactions: pl.DataFrame,
    customers: pl.DataFrame,
    purchase_model: Any,
    *,
    as_of: date,
    holdout_end: date,
    horizon_days: int,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Forecasts against what happened after `as_of`.

    Repeat purchases: each customer's BG/NBD expectation over (as_of, holdout_end] against the
    actual purchase days there (per customer as columns ``holdout_predicted`` and
    ``holdout_actual``; totals, MAE and RMSE; and by calibration repeat purchases, as in Fader,
    Hardie & Lee 2005, figure 4). Churn: "no purchase in (as_of, as_of + horizon_days]"
    (the churn model's window, cut at `holdout_end`), scored by ``churn_risk``, by
    1 - ``p_alive`` and by the baseline ``days_since_last``: AUC and top-decile lift of each.
    """
    weeks = (holdout_end - as_of).days / 7
    actual = holdout_summary(transactions, calibration_end=as_of, holdout_end=holdout_end)
    predicted = purchase_model.conditional_expected_purchases(weeks, customers)
    out = customers.with_columns(holdout_predicted=pl.Series(predicted, dtype=pl.Float64)).join(
        actual.select("customer_id", pl.col("x_star").alias("holdout_actual")),
        on="customer_id",
        how="left",
    )
    y, f = (
        out.get_column("holdout_actual").to_numpy(),
        out.get_column("holdout_predicted").to_numpy(),
    )
    by_x = (
        out.group_by(pl.col("x").clip(upper_bound=FREQUENCY_BINS).alias("x_calibration"))
        .agg(
            pl.len().alias("customers"),
            pl.col("holdout_actual").mean().alias("actual"),
            pl.col("holdout_predicted").mean().alias("predicted"),
        )
        .sort("x_calibration")
    )
    purchases = {
        "holdout_end": holdout_end.isoformat(),
        "weeks": weeks,
        "total_predicted": float(f.sum()),
        "total_actual": int(y.sum()),
        "mae": float(np.mean(np.abs(f - y))),
        "rmse": float(np.sqrt(np.mean((f - y) ** 2))),
        "by_calibration_repeats": by_x.to_dicts(),
    }
    return out, {
        "repeat_purchases": purchases,
        "churn": _churn_evaluation(transactions, out, as_of, holdout_end, horizon_days),
    }


def _churn_evaluation(
    transactions: pl.DataFrame,
    scored: pl.DataFrame,
    as_of: date,
    holdout_end: date,
    horizon_days: int,
) -> dict[str, Any]:
    window_end = min(holdout_end, as_of + timedelta(days=horizon_days))
    window = holdout_summary(transactions, calibration_end=as_of, holdout_end=window_end)
    frame = scored.join(window.select("customer_id", "x_star"), on="customer_id", how="left")
    churned = (frame.get_column("x_star") == 0).to_numpy().astype(np.float64)
    out: dict[str, Any] = {
        "outcome": f"no purchase in ({as_of}, {window_end}]",
        "base_rate": float(churned.mean()),
    }
    scores = {
        "days_since_last (baseline)": frame.get_column("days_since_last"),
        "1 - p_alive": 1.0 - frame.get_column("p_alive"),
    }
    if "churn_risk" in frame.columns and frame.get_column("churn_risk").null_count() == 0:
        scores["churn_risk"] = frame.get_column("churn_risk")
    for name, score in scores.items():
        try:
            out[name] = {
                "auc": evaluation.roc_auc(churned, score.to_numpy()),
                "top_decile_lift": evaluation.top_decile_lift(churned, score.to_numpy()),
            }
        except AnalyticsError as exc:  # one class only: nothing to rank
            out[name] = {"error": str(exc)}
    return out


def _flat(customers: pl.DataFrame) -> pl.DataFrame:
    """List and struct columns as text, for CSV (lists joined by '; ', reasons as JSON)."""
    out = []
    for name, dtype in customers.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.List) and dtype.inner == pl.String:
            out.append(column.list.join("; ").alias(name))
        elif isinstance(dtype, pl.List | pl.Struct | pl.Array):
            out.append(column.map_batches(_json_texts, return_dtype=pl.String).alias(name))
        elif dtype == pl.Null:
            out.append(column.cast(pl.String))
        else:
            out.append(column)
    return customers.select(out)


def _json_texts(series: pl.Series) -> pl.Series:
    return pl.Series(
        [
            None if v is None else json.dumps(v, ensure_ascii=False, default=str)
            for v in series.to_list()
        ],
        dtype=pl.String,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def write_outputs(customers: pl.DataFrame, report: dict, output: Path, report_path: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".parquet":
        customers.write_parquet(output)
    else:
        _flat(customers).write_csv(output)
    report_path.write_text(
        json.dumps(_jsonable(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _print_summary(console: Console, customers: pl.DataFrame, report: dict) -> None:
    facts = report["input"]
    table = Table(title=f"Customers as of {report['as_of']}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    repeat = customers.get_column("x") > 0
    rows = [
        ("purchase lines", f"{facts['rows']:,} ({facts['first_date']} .. {facts['last_date']})"),
        ("customers", f"{customers.height:,}"),
        ("repeat buyers", f"{int(repeat.sum()):,} ({float(repeat.mean()):.1%})"),
        ("mean P(alive)", f"{customers.get_column('p_alive').mean():.3f}"),
        (
            f"expected purchases, next {report['options']['horizon_days']} days",
            f"{customers.get_column('expected_purchases').sum():,.1f}",
        ),
    ]
    clv = customers.get_column("clv")
    if clv.null_count() < clv.len():
        rows.append(
            (
                f"CLV, next {report['options']['clv_months']} months",
                f"{clv.sum():,.2f} total, {clv.mean():,.2f} mean",
            )
        )
    for label, fit in (("BG/NBD", report.get("bgnbd")), ("Gamma-Gamma", report.get("gamma_gamma"))):
        if fit and "params" in fit:
            shown = ", ".join(f"{k}={v:.4g}" for k, v in fit["params"].items())
            rows.append((label, f"{shown}; LL {fit['loglik']:,.1f}"))
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    segments = customers.group_by("segment").agg(pl.len().alias("n"), pl.col("clv").sum())
    seg = Table(title="RFM segments")
    for name in ("segment", "customers", "share", "CLV"):
        seg.add_column(name, justify="left" if name == "segment" else "right")
    for row in segments.sort("n", descending=True).iter_rows(named=True):
        seg.add_row(
            str(row["segment"]),
            f"{row['n']:,}",
            f"{row['n'] / customers.height:.1%}",
            f"{row['clv'] or 0:,.0f}",
        )
    console.print(seg)
    if "evaluation" in report:
        _print_evaluation(console, report["evaluation"])


def _print_evaluation(console: Console, evaluation_: dict) -> None:
    p = evaluation_["repeat_purchases"]
    table = Table(
        title=f"Holdout to {p['holdout_end']} ({p['weeks']:.1f} weeks)", show_header=False
    )
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row(
        "repeat purchases predicted / actual",
        f"{p['total_predicted']:,.1f} / {p['total_actual']:,}",
    )
    table.add_row("per customer MAE / RMSE", f"{p['mae']:.3f} / {p['rmse']:.3f}")
    churn = evaluation_["churn"]
    table.add_row("churn outcome", f"{churn['outcome']} (rate {churn['base_rate']:.1%})")
    for name, fig in churn.items():
        if isinstance(fig, dict) and "auc" in fig:
            table.add_row(
                f"  {name}", f"AUC {fig['auc']:.3f}, top-decile lift {fig['top_decile_lift']:.2f}"
            )
    console.print(table)


def main(argv: list[str]) -> int:
    """Run `patron analyze`; returns the exit code (0 ok, 2 bad input)."""
    err = Console(stderr=True)
    try:
        ns = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the problem
        return int(exc.code or 0)
    if ns.holdout_end is not None and ns.holdout_end <= ns.as_of:
        err.print(
            "patron analyze: error: --holdout-end must be after --as-of",
            markup=False,
            soft_wrap=True,
        )
        return 2
    out = Console(quiet=ns.quiet)
    stem = ns.transactions.stem
    output = ns.output or Path(f"{stem}_customers.csv")
    report_path = ns.report or Path(f"{stem}_report.json")
    try:
        done = _run(ns, err)
        write_outputs(done["customers"], done["report"], output, report_path)
    except InputError as exc:
        err.print(
            f"patron analyze: error in {ns.transactions.name}: {exc}", markup=False, soft_wrap=True
        )
        return 2
    except AnalyticsError as exc:  # well-formed data that cannot support the analysis
        err.print(
            f"patron analyze: cannot analyse {ns.transactions.name}: {exc}",
            markup=False,
            soft_wrap=True,
        )
        return 2
    _print_summary(out, done["customers"], done["report"])
    out.print(f"wrote {output} and {report_path}", markup=False, soft_wrap=True)
    return 0
