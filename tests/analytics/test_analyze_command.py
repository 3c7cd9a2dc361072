"""`patron analyze`: files in, per-customer results and a JSON report out, clear input errors."""

import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from patron.analytics.io import guess_columns, read_transactions
from patron.analytics.report import main
from patron.analytics.simulate import simulate_bgnbd, simulate_transactions

CDNOW = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cdnow"
AS_OF = date(2024, 6, 30)


@pytest.fixture(scope="module")
def purchases() -> pl.DataFrame:
    """300 simulated customers, about 1,000 purchase lines, some before and after AS_OF."""
    base = simulate_bgnbd(300, r=1.0, alpha=8.0, a=0.8, b=2.5, T=52.0, seed=1, resolution=1 / 7)
    return simulate_transactions(base, as_of=AS_OF, p=6.0, q=4.0, gamma=15.0, seed=2).with_columns(
        pl.col("amount") + 0.01)  # no zero amounts


def need_cdnow() -> None:
    if not CDNOW.exists():
        pytest.skip(f"CDNOW data not found at {CDNOW}")


def analyze(tmp_path: Path, source: Path, *extra: str) -> tuple[int, pl.DataFrame | None, dict]:
    out, report = tmp_path / "customers.csv", tmp_path / "report.json"
    code = main([str(source), "--output", str(out), "--report", str(report), "--quiet", *extra])
    if code != 0:
        return code, None, {}
    return code, pl.read_csv(out), json.loads(report.read_text())


def test_it_guesses_english_and_chinese_column_names():
    assert guess_columns(["客户编号", "下单时间", "金额", "备注"]) == {
        "customer_id": "客户编号", "date": "下单时间", "amount": "金额"}
    assert guess_columns(["Customer ID", "Order Date", "dollar_value"]) == {
        "customer_id": "Customer ID", "date": "Order Date", "amount": "dollar_value"}


def test_it_reads_the_cdnow_master_file_and_evaluates_the_holdout(tmp_path):
    need_cdnow()
    code, customers, report = analyze(
        tmp_path, CDNOW / "CDNOW_master.txt", "--as-of", "1997-09-30",
        "--holdout-end", "1998-06-30", "--value-only")
    assert code == 0
    assert customers.height == report["n_customers"] == 23570
    assert {"p_alive", "clv", "segment", "holdout_predicted", "holdout_actual"} <= set(
        customers.columns)
    raw = read_transactions(CDNOW / "CDNOW_master.txt")
    holdout_days = raw.filter(pl.col("date") > date(1997, 9, 30)).unique(["customer_id", "date"])
    purchases = report["evaluation"]["repeat_purchases"]
    assert purchases["total_actual"] == holdout_days.height == customers["holdout_actual"].sum()
    assert purchases["total_predicted"] == pytest.approx(customers["holdout_predicted"].sum())
    assert report["bgnbd"]["converged"] and report["bgnbd"]["loglik"] < 0
    assert report["evaluation"]["churn"]["days_since_last (baseline)"]["auc"] > 0.5


def test_it_runs_on_the_headerless_cdnow_sample_from_the_command_line(tmp_path, cdnow_holdout):
    need_cdnow()
    out, report = tmp_path / "sample.parquet", tmp_path / "sample.json"
    done = subprocess.run(
        [sys.executable, "-m", "patron.cli", "analyze", str(CDNOW / "CDNOW_sample.txt"),
         "--as-of", "1997-09-30", "--holdout-end", "1998-06-30", "--value-only",
         "-o", str(out), "--report", str(report)],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "BG/NBD" in done.stdout
    customers, figures = pl.read_parquet(out), json.loads(report.read_text())
    assert customers.height == 2357
    assert customers.get_column("clv").null_count() == 0
    # The published estimates (Fader, Hardie & Lee 2005) from the file as it is distributed.
    assert figures["bgnbd"]["params"]["r"] == pytest.approx(0.243, abs=5e-4)
    assert figures["bgnbd"]["loglik"] == pytest.approx(-9582.4, abs=0.1)
    evaluation = figures["evaluation"]
    assert evaluation["repeat_purchases"]["total_actual"] == cdnow_holdout["x_star"].sum()
    assert 0.5 < evaluation["churn"]["days_since_last (baseline)"]["auc"] <= 1


def test_it_reads_a_csv_with_chinese_headers(tmp_path, purchases):
    source = tmp_path / "订单.csv"
    purchases.select(
        pl.col("customer_id").cast(pl.String).alias("客户编号"),
        pl.col("date").dt.strftime("%Y/%m/%d 10:30:00").alias("下单时间"),
        pl.format("¥{}", pl.col("amount")).alias("金额"),
    ).write_csv(source)
    code, customers, report = analyze(tmp_path, source, "--as-of", AS_OF.isoformat(),
                                      "--value-only")
    assert code == 0
    spent = purchases.group_by("customer_id").agg(pl.col("amount").sum())
    joined = customers.join(spent, on="customer_id")
    assert joined.height == customers.height == purchases["customer_id"].n_unique()
    assert (joined["total_spend"] - joined["amount"]).abs().max() < 1e-6
    assert report["input"]["rows"] == purchases.height


def test_it_reads_an_xlsx_workbook(tmp_path, purchases):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Customer", "Order Date", "Total"])
    for customer, day, amount in purchases.iter_rows():
        sheet.append([customer, datetime(day.year, day.month, day.day, 9), amount])
    source = tmp_path / "orders.xlsx"
    book.save(source)
    code, customers, report = analyze(tmp_path, source, "--as-of", AS_OF.isoformat(),
                                      "--value-only")
    assert code == 0
    assert customers.height == purchases["customer_id"].n_unique()
    assert report["gamma_gamma"]["params"]["p"] > 0


def test_it_reads_parquet_and_holds_out_the_future(tmp_path, purchases):
    source = tmp_path / "orders.parquet"
    purchases.rename({"customer_id": "client_id", "date": "order_date", "amount": "revenue"}) \
        .write_parquet(source)
    as_of = date(2024, 3, 31)
    code, customers, report = analyze(tmp_path, source, "--as-of", as_of.isoformat(),
                                      "--holdout-end", AS_OF.isoformat(), "--no-clusters")
    assert code == 0
    before = purchases.filter(pl.col("date") <= as_of)
    assert customers.height == before["customer_id"].n_unique()
    assert report["input"]["rows_up_to_as_of"] == before.height
    after = purchases.filter(pl.col("date") > as_of).join(
        before.select("customer_id").unique(), on="customer_id").unique(["customer_id", "date"])
    assert report["evaluation"]["repeat_purchases"]["total_actual"] == after.height
    assert customers["churn_risk"].null_count() == 0
    assert 0 <= report["evaluation"]["churn"]["churn_risk"]["auc"] <= 1


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("customer,date,qty\n1,2024-01-01,2\n", ["column 'amount'", "--amount-col"]),
        ("customer,date,amount\n1,2024-01-01,5\n1,2024-02-01,5\n2,2024-13-45,5\n",
         ["row 3", "column 'date'", "2024-13-45"]),
        ("customer,date,amount\n1,2024-01-01,5\n2,2024-02-01,-3.5\n",
         ["row 2", "column 'amount'", "negative"]),
    ],
    ids=["missing column", "bad date on row 3", "negative amount"],
)
def test_it_names_the_row_and_column_of_a_bad_file(tmp_path, capsys, rows, expected):
    source = tmp_path / "bad.csv"
    source.write_text(rows, encoding="utf-8")
    code, _, _ = analyze(tmp_path, source, "--as-of", "2024-06-30")
    err = capsys.readouterr().err
    assert code == 2
    assert all(part in err for part in expected), err
    assert "Traceback" not in err
    assert not (tmp_path / "customers.csv").exists()


def test_it_rejects_a_holdout_that_ends_before_the_history(tmp_path, purchases, capsys):
    source = tmp_path / "orders.parquet"
    purchases.write_parquet(source)
    code, _, _ = analyze(tmp_path, source, "--as-of", "2024-06-30", "--holdout-end", "2024-01-01")
    assert code == 2
    assert "--holdout-end" in capsys.readouterr().err
