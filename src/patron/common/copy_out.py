"""Query results into polars frames through PostgreSQL's COPY, for reads of millions of rows.

COPY streams rows without a Python object per value. Its binary format is cheaper still for
both sides when every column has a fixed width: the server formats no numbers or dates, and
the rows are read at once as a numpy record array. Columns are declared with one of the kinds
below; a UUID is read as its 36-character text, which has a fixed width too.

Even so, psycopg hands over each row of a COPY as a Python call (about 0.7 us a row, holding
the interpreter lock): seven seconds at ten million orders. `read_frame` therefore reads
through Arrow's ADBC driver when it can, which runs the same binary COPY in C++ on a
connection of its own and releases the lock, so a read beside the models no longer slows them.
"""

import binascii
import io
import re
from collections.abc import Iterator
from contextlib import closing, contextmanager, nullcontext

import numpy as np
import polars as pl
from django.db import connection

# Kind -> (numpy type of the value in COPY's binary format, polars type of the column).
KINDS = {
    "uuid_text": ("S36", pl.String),
    "timestamptz": (">i8", pl.Datetime("us", "UTC")),
    "float8": (">f8", pl.Float64),
    "int8": (">i8", pl.Int64),
    "uuid": ("V16", pl.Binary),  # its 16 bytes: a key to join on, which the server need not format
    "text": (None, pl.String),  # of any width: read through COPY's text format inside a transaction
}
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_PG_EPOCH_US = 946_684_800_000_000  # PostgreSQL counts time from 2000-01-01 UTC, in microseconds


def _copy_out(sql: str, params: list, options: str = "") -> memoryview:
    query = connection.ops.compose_sql(sql, params)
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({query}) TO STDOUT{options}") as copy:
            for block in copy:
                buffer.write(block)
    return buffer.getbuffer()


def copy_text(sql: str, params: list, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Run a query and read its rows into a frame through COPY's text format.

    For numbers, dates, UUIDs and identifier-like text: NULL (\\N) becomes null, but the
    format's backslash escapes inside text (a tab, a newline) are left as they are."""
    data = _copy_out(sql, params)
    if data.nbytes == 0:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(io.BytesIO(data), separator="\t", has_header=False, new_columns=list(schema),
                       schema_overrides=schema, null_values="\\N", quote_char=None)


def copy_binary(sql: str, params: list, columns: dict[str, str]) -> pl.DataFrame:
    """Run a query whose columns have the given KINDS and read its rows through binary COPY.

    Falls back to the text format when a row is not of fixed width (a NULL somewhere).
    """
    data = _copy_out(sql, params, " (FORMAT binary)")
    if bytes(data[:11]) != _SIGNATURE:
        raise ValueError("not a PostgreSQL binary COPY stream")
    start = 19 + int.from_bytes(data[15:19], "big")  # after the header and its extension area
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, name in enumerate(columns):
        fields += [(f"length{i}", ">i4"), (name, KINDS[columns[name]][0])]
    record = np.dtype(fields)
    body = data[start:data.nbytes - 2]  # the trailer is a field count of -1
    rows = np.frombuffer(body, dtype=record) if body.nbytes % record.itemsize == 0 else None
    if rows is None or not _fixed_width(rows, columns, record):
        return copy_text(sql, params, {name: KINDS[kind][1] for name, kind in columns.items()})
    out = {}
    for name, kind in columns.items():
        values = rows[name]
        if kind == "uuid_text":
            out[name] = pl.Series(name, values).cast(pl.String)
        elif kind == "uuid":  # through hex: numpy's fixed-width bytes would drop trailing zero bytes
            hexed = np.frombuffer(binascii.hexlify(values.tobytes()), dtype="S32")
            out[name] = pl.Series(name, hexed).cast(pl.String).str.decode("hex")
        elif kind == "timestamptz":
            out[name] = pl.Series(name, values.astype("<i8") + _PG_EPOCH_US).cast(KINDS[kind][1])
        else:
            out[name] = pl.Series(name, values.astype(values.dtype.newbyteorder("<")))
    return pl.DataFrame(out)


def read_frame(sql: str, params: list, columns: dict[str, str], *, memory: str | None = None) -> pl.DataFrame:
    """Run a query whose columns have the given KINDS and read its rows into a frame.

    Outside a transaction, through ADBC on a second connection to the same database (see the
    module's docstring); inside one, whose rows another connection could not see yet (the
    tests, a triggered rescore), through binary COPY on this connection. `memory`: the
    query's work_mem, e.g. "256MB" (see `work_mem`).
    """
    if memory is not None and not re.fullmatch(r"\d+[kMG]B", memory):
        raise ValueError(f"not a memory size: {memory!r}")
    schema = {name: KINDS[kind][1] for name, kind in columns.items()}
    if connection.in_atomic_block:
        with work_mem(memory) if memory else nullcontext():
            if all(KINDS[kind][0] for kind in columns.values()):
                return copy_binary(sql, params, columns)
            return copy_text(sql, params, schema)
    query = connection.ops.compose_sql(sql, params)
    with closing(_arrow_connection()) as arrow, closing(arrow.cursor()) as cursor:
        if memory is not None:
            cursor.execute(f"SET work_mem = '{memory}'")  # checked above
        cursor.execute(query)
        frame = cursor.fetch_polars()
    return frame.rename(dict(zip(frame.columns, columns, strict=True))).cast(schema)


def _arrow_connection():  # noqa: ANN202 (the driver's connection type is not imported here)
    """An ADBC connection with the libpq parameters of this thread's Django connection."""
    from adbc_driver_postgresql import dbapi
    from psycopg.conninfo import make_conninfo

    connection.ensure_connection()
    info = connection.connection.info
    return dbapi.connect(make_conninfo(info.dsn, password=info.password or None))


def _fixed_width(rows: np.ndarray, columns: dict[str, str], record: np.dtype) -> bool:
    if not (rows["count"] == len(columns)).all():
        return False
    return all((rows[f"length{i}"] == record[name].itemsize).all() for i, name in enumerate(columns))


@contextmanager
def work_mem(size: str) -> Iterator[None]:
    """More memory for one big join or sort of this connection (the server default is 4 MB,
    which makes a hash join of millions of rows spill to disk in dozens of batches)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, false)", [size])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET work_mem")
