"""Fixtures of the analytics tests: the CDNOW sample as transactions and as summaries.

The data live outside the repository, in ``<repo>/../shared/data/cdnow`` (see the README
there); tests that need them are skipped when the folder is absent.

- ``cdnow_transactions``: the 6,919 purchase lines of the 2,357 customers of CDNOW_sample.txt
  (customer_id = the master id, date, quantity = number of CDs, amount = dollar value);
- ``cdnow_summary``: their calibration summary, weekly, as of 1997-09-30 (weeks 1-39 of
  Fader, Hardie & Lee 2005);
- ``cdnow_holdout``: their holdout summary, (1997-09-30, 1998-06-30] (weeks 40-78).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from patron.analytics.summary import customer_summary, holdout_summary

CDNOW_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cdnow"
CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)


def _read_cdnow_sample(path: Path) -> pl.DataFrame:
    """CDNOW_sample.txt: whitespace-separated master_id, sample_id, yyyymmdd, cds, dollars."""
    lines = pl.DataFrame({"line": [ln for ln in path.read_text().splitlines() if ln.strip()]})
    fields = pl.col("line").str.extract_all(r"\S+")
    return lines.select(
        fields.list.get(0).cast(pl.Int64).alias("customer_id"),
        fields.list.get(2).str.to_date("%Y%m%d").alias("date"),
        fields.list.get(3).cast(pl.Int64).alias("quantity"),
        fields.list.get(4).cast(pl.Float64).alias("amount"),
    )


@pytest.fixture(scope="session")
def cdnow_transactions() -> pl.DataFrame:
    path = CDNOW_DIR / "CDNOW_sample.txt"
    if not path.exists():
        pytest.skip(f"CDNOW data not found at {CDNOW_DIR}")
    return _read_cdnow_sample(path)


@pytest.fixture(scope="session")
def cdnow_summary(cdnow_transactions: pl.DataFrame) -> pl.DataFrame:
    return customer_summary(cdnow_transactions, as_of=CALIBRATION_END, unit="week")


@pytest.fixture(scope="session")
def cdnow_holdout(cdnow_transactions: pl.DataFrame) -> pl.DataFrame:
    return holdout_summary(
        cdnow_transactions, calibration_end=CALIBRATION_END, holdout_end=HOLDOUT_END
    )
