"""Reading transaction files (CSV, whitespace-separated text, XLSX, Parquet) as transactions.

`read_transactions` returns the frame `customer_summary` expects: ``customer_id``, ``date``
(pl.Date) and ``amount`` (Float64, >= 0), plus the file's other columns unchanged. Column names
are given or guessed from common names in English and Chinese; a bad value raises `InputError`
naming the data row (1-based, the header not counted) and the column as it is called in the
file, so a user can find it in a spreadsheet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from patron.analytics.errors import InputError

ROLES = ("customer_id", "date", "amount")
# Names a column of each role is often given, compared after `_normalise` (lower case, no
# spaces, underscores or hyphens). Exact matches win over the substring rule of `guess_columns`.
GUESSES: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customerid",
        "customer",
        "custid",
        "customerno",
        "customernumber",
        "clientid",
        "client",
        "memberid",
        "member",
        "userid",
        "buyerid",
        "buyer",
        "masterid",
        "客户",
        "客户编号",
        "客户id",
        "客户号",
        "会员",
        "会员编号",
        "会员id",
        "用户id",
        "用户",
        "顾客",
        "顾客编号",
    ),
    "date": (
        "date",
        "orderdate",
        "purchasedate",
        "transactiondate",
        "invoicedate",
        "saledate",
        "orderedat",
        "createdat",
        "datetime",
        "timestamp",
        "time",
        "下单时间",
        "日期",
        "订单日期",
        "购买日期",
        "交易日期",
        "下单日期",
        "时间",
        "交易时间",
        "支付时间",
    ),
    "amount": (
        "amount",
        "total",
        "dollarvalue",
        "value",
        "revenue",
        "sales",
        "spend",
        "monetary",
        "ordertotal",
        "totalamount",
        "price",
        "金额",
        "订单金额",
        "实付金额",
        "消费金额",
        "支付金额",
        "总金额",
        "销售额",
        "总价",
        "实收金额",
    ),
}
# Substrings that mark a role when no exact name matches.
HINTS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customer", "client", "member", "客户", "会员", "顾客"),
    "date": ("date", "时间", "日期"),
    "amount": ("amount", "total", "value", "金额", "revenue"),
}
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y%m%d",
    "%Y.%m.%d",
    "%Y年%m月%d日",
    "%d.%m.%Y",
    "%m/%d/%Y",
)
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
)
SEPARATORS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
_CURRENCY = r"[\s¥￥$€£,]|元|RMB|CNY"


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


def guess_columns(columns: Sequence[str], **given: str | None) -> dict[str, str]:
    """Map each role (customer_id, date, amount) to a column of the file.

    Parameters
    ----------
    columns : sequence of str
        The file's column names.
    **given : str or None
        ``customer_id=``, ``date=``, ``amount=``: names chosen by the user; they must exist.

    Raises
    ------
    InputError
        A given column does not exist, or no column looks like a role (the message lists the
        file's columns and the option that names it).
    """
    found: dict[str, str] = {}
    by_norm = {_normalise(c): c for c in reversed(columns)}  # first of duplicates wins
    for role in ROLES:
        name = given.get(role)
        if name is not None:
            if name not in columns:
                raise InputError(
                    f"no such column in the file (columns: {', '.join(columns)})", column=name
                )
            found[role] = name
            continue
        taken = set(found.values())
        exact = [by_norm[g] for g in GUESSES[role] if g in by_norm and by_norm[g] not in taken]
        loose = [c for h in HINTS[role] for c in columns if h in _normalise(c) and c not in taken]
        if not (exact or loose):
            option = "--" + role.replace("_id", "").replace("_", "-") + "-col"
            raise InputError(
                f"required column is missing: none of the file's columns "
                f"({', '.join(columns)}) looks like it; name it with {option}",
                column=role,
            )
        found[role] = (exact or loose)[0]
    return found


def _detect_separator(path: Path) -> str:
    """',' ';' tab or '|' when the first line has one, else whitespace."""
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        first = handle.readline()
    for sep in (",", "\t", ";", "|"):
        if sep in first:
            return sep
    return "whitespace"


def _looks_like_header(fields: list[str]) -> bool:
    return not any(re.fullmatch(r"[-+]?[\d.,:/]+", f) for f in fields)


def _read_whitespace(path: Path) -> pl.DataFrame:
    """Columns separated by runs of blanks (CDNOW), all as text; a header line is detected."""
    raw = pl.read_csv(
        path,
        has_header=False,
        separator="\x1f",
        quote_char=None,
        infer_schema=False,
        new_columns=["line"],
        encoding="utf8-lossy",
    )
    lines = raw.lazy().select(pl.col("line").str.strip_chars()).filter(pl.col("line") != "")
    split = lines.select(pl.col("line").str.replace_all(r"\s+", " ").str.split(" ")).collect()
    if split.height == 0:
        raise InputError("the file has no rows")
    width = split.get_column("line").list.len()
    first = split.get_column("line")[0].to_list()
    header = _looks_like_header(first)
    names = first if header else [f"column_{i + 1}" for i in range(len(first))]
    body = split.slice(1) if header else split
    bad = (width.slice(1) if header else width) != len(names)
    if bad.any():
        row = int(bad.arg_true()[0]) + 1
        raise InputError(
            f"expected {len(names)} fields, found {int(width.slice(1 if header else 0)[row - 1])}",
            row=row,
        )
    return body.select(pl.col("line").list.to_struct(fields=names)).unnest("line")


def read_table(
    path: str | Path, *, separator: str | None = None, sheet: str | None = None
) -> pl.DataFrame:
    """The rows of a CSV, text, XLSX or Parquet file, as the file has them (text for CSV).

    Parameters
    ----------
    separator : str, optional
        For text files: a character, one of ``comma``, ``semicolon``, ``tab``, ``pipe``, or
        ``whitespace`` (runs of blanks, as in CDNOW); detected from the first line when None.
    sheet : str, optional
        For XLSX: the sheet name (default the first sheet).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return pl.read_excel(path, sheet_name=sheet) if sheet else pl.read_excel(path)
        sep = SEPARATORS.get(separator or "", separator) or _detect_separator(path)
        if sep == "whitespace":
            return _read_whitespace(path)
        return pl.read_csv(path, separator=sep, infer_schema=False, encoding="utf8-lossy")
    except InputError:
        raise
    except Exception as exc:  # the readers' own errors: report them as bad input
        raise InputError(f"cannot read {path.name}: {exc}") from exc


def _first_bad(mask: pl.Series) -> int | None:
    rows = mask.arg_true()
    return None if rows.len() == 0 else int(rows[0]) + 1


def _parse_text_dates(values: pl.Series, date_format: str | None) -> pl.Series:
    """Text to pl.Date with the given format, or the candidate that parses the most rows."""
    text = values.str.strip_chars()
    formats = [date_format] if date_format else [*DATE_FORMATS, *DATETIME_FORMATS]
    best: pl.Series | None = None
    for fmt in formats:
        if "%H" in fmt:
            parsed = text.str.to_datetime(fmt, strict=False).dt.date()
        else:
            parsed = text.str.to_date(fmt, strict=False)
        if best is None or parsed.null_count() < best.null_count():
            best = parsed
        if best.null_count() == values.null_count():
            break
    assert best is not None
    return best


def _to_date(values: pl.Series, name: str, date_format: str | None) -> pl.Series:
    dtype = values.dtype
    if dtype == pl.Date:
        parsed = values
    elif isinstance(dtype, pl.Datetime):
        parsed = values.dt.date()
    elif dtype.is_integer():  # yyyymmdd numbers, as in CDNOW
        parsed = _parse_text_dates(values.cast(pl.String), date_format or "%Y%m%d")
    elif dtype == pl.String:
        parsed = _parse_text_dates(values, date_format)
    else:
        raise InputError(f"dates must be dates or text, got {dtype}", column=name)
    row = _first_bad(parsed.is_null())
    if row is not None:
        shown = values[row - 1]
        why = "date is missing" if shown is None else f"date {shown!r} cannot be read"
        hint = f" (expected {date_format})" if date_format else " (e.g. 2024-03-31)"
        raise InputError(why + hint, row=row, column=name)
    return parsed


def _to_amount(values: pl.Series, name: str) -> pl.Series:
    if values.dtype == pl.String:
        text = values.str.replace_all(_CURRENCY, "")
        parsed = text.cast(pl.Float64, strict=False)
    elif values.dtype.is_numeric():
        parsed = values.cast(pl.Float64)
    else:
        raise InputError(f"amounts must be numbers, got {values.dtype}", column=name)
    row = _first_bad(parsed.is_null() | parsed.is_nan() | parsed.is_infinite())
    if row is not None:
        shown = values[row - 1]
        why = "amount is missing" if shown is None else f"amount {shown!r} is not a number"
        raise InputError(why, row=row, column=name)
    row = _first_bad(parsed < 0)
    if row is not None:
        raise InputError(
            f"amount {values[row - 1]!r} is negative (refunds are not purchases)",
            row=row,
            column=name,
        )
    return parsed


def _to_customer(values: pl.Series, name: str) -> pl.Series:
    if values.dtype == pl.String:
        values = values.str.strip_chars()
        row = _first_bad(values.is_null() | (values == ""))
    else:
        row = _first_bad(values.is_null())
    if row is not None:
        raise InputError("customer is missing", row=row, column=name)
    return values


def read_transactions(
    path: str | Path,
    *,
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
    separator: str | None = None,
    date_format: str | None = None,
    sheet: str | None = None,
) -> pl.DataFrame:
    """Read a transaction file into the standard frame.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt``/``.tsv`` (any other suffix is read as text), ``.xlsx`` or ``.parquet``.
    customer_col, date_col, amount_col : str, optional
        The file's names of the three columns; guessed when None (see `GUESSES`; a text file
        without a header has columns ``column_1``, ``column_2``, ...).
    separator, sheet
        See `read_table`.
    date_format : str, optional
        strftime format of the dates (e.g. ``%d/%m/%Y``); when None the common formats are
        tried and the one that reads the most rows is used. Integers are read as yyyymmdd.

    Returns
    -------
    pl.DataFrame
        ``customer_id`` (text or integer, as in the file), ``date`` (pl.Date), ``amount``
        (Float64), then the file's other columns.

    Raises
    ------
    InputError
        The file cannot be read, a column is missing, or a value is bad: ``row`` is the 1-based
        data row (header not counted) and ``column`` the file's name of the column.
    """
    table = read_table(path, separator=separator, sheet=sheet)
    if table.height == 0:
        raise InputError("the file has no data rows")
    if all(c.startswith("column_") for c in table.columns) and not (
        customer_col and date_col and amount_col
    ):
        guessed = _guess_headerless(table, date_format)
    else:
        guessed = {}
    names = guess_columns(
        table.columns,
        customer_id=customer_col or guessed.get("customer_id"),
        date=date_col or guessed.get("date"),
        amount=amount_col or guessed.get("amount"),
    )
    standard = pl.DataFrame(
        [
            _to_customer(table.get_column(names["customer_id"]), names["customer_id"]).alias(
                "customer_id"
            ),
            _to_date(table.get_column(names["date"]), names["date"], date_format).alias("date"),
            _to_amount(table.get_column(names["amount"]), names["amount"]).alias("amount"),
        ]
    )
    others = [c for c in table.columns if c not in names.values() and c not in ROLES]
    return pl.concat([standard, table.select(others)], how="horizontal")


def _guess_headerless(table: pl.DataFrame, date_format: str | None) -> dict[str, str]:
    """Roles of a file without a header, from its first 1,000 values: the first column is the
    customer, the first column that reads as dates is the date, the last column of decimal
    numbers is the amount (CDNOW_sample: master id, sample id, yyyymmdd, CDs, dollars)."""
    head = table.head(1000)
    out = {"customer_id": table.columns[0]}
    for name in table.columns[1:]:
        values = head.get_column(name)
        if "date" not in out and _parse_text_dates(values, date_format).null_count() == 0:
            out["date"] = name
        elif values.str.contains(r"^\d*\.\d+$").all():
            out["amount"] = name
    return out
