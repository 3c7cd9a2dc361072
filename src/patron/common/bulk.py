"""A lean multi-row INSERT for the import's hot path.

`QuerySet.bulk_create` prepares every value of every field through the field's full
conversion chain and builds model instances first; for a 35-column customer that is most of
an import's time. Here rows are plain dicts, text and numbers go to the driver as they are,
and only the types whose database form differs by backend (UUIDs, dates, decimals, JSON) go
through Django's own conversion. The result is the same rows `bulk_create` would write.
On PostgreSQL the rows stream through COPY, which is several times faster than INSERT.
Imports and the audit trail of bulk operations use it.
"""

import datetime as dt
import io
import json
import os
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import polars as pl
from django.db import connection, models
from django.utils import timezone

_CONVERTED = {
    "UUIDField",
    "DateTimeField",
    "DateField",
    "DecimalField",
    "JSONField",
    "TimeField",
    "DurationField",
}


def _converter(field: models.Field) -> Callable[[Any], Any] | None:
    target = field.target_field if field.is_relation else field
    kind = target.get_internal_type()
    if kind not in _CONVERTED:
        return None
    if kind == "UUIDField":
        if connection.features.has_native_uuid_field:
            return None  # psycopg sends uuid.UUID as it is
        return lambda v: None if v is None else (v if isinstance(v, str) else v.hex)
    memo: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        # Many rows share a value (the batch's timestamp, a price): convert each one once.
        if value is None:
            return None
        try:
            return memo[value]
        except (KeyError, TypeError):
            converted = field.get_db_prep_save(value, connection)
        if len(memo) < 10_000:
            try:
                memo[value] = converted
            except TypeError:  # unhashable (JSON)
                pass
        return converted

    return convert


def _default(field: models.Field, now: Any) -> Callable[[], Any]:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda: now
    if field.has_default():
        default = field.default
        return default if callable(default) else lambda: default
    return lambda: None if field.null else ("" if field.empty_strings_allowed else None)


def insert_rows(
    model: type[models.Model], rows: Iterable[dict[str, Any]], *, batch: int = 500
) -> int:
    """INSERT `rows` (dicts by attname; missing fields take their defaults); return the count.

    Each row should carry its primary key when the caller needs it later (UUID keys are made
    here otherwise and written back into the dict).
    """
    fields = list(model._meta.concrete_fields)
    now = timezone.now()
    names = [f.attname for f in fields]
    converters = [_converter(f) for f in fields]
    defaults = [_default(f, now) for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    pk_name = model._meta.pk.attname
    # Stay under the backend's limit on parameters per statement (SQLite's is the lowest).
    batch = max(1, min(batch, connection.ops.bulk_batch_size(fields, [None] * batch)))
    make_pk = isinstance(model._meta.pk, models.UUIDField)
    plan = list(zip(names, converters, defaults, strict=True))

    def prepared(row: dict[str, Any]) -> list[Any]:
        if make_pk and row.get(pk_name) is None:
            row[pk_name] = uuid.uuid4()
        values = []
        for name, convert, default in plan:
            value = row[name] if name in row else default()
            values.append(convert(value) if convert else value)
        return values

    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Only quoted table and column names are interpolated; values go through COPY.
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(prepared(row))
                    count += 1
            return count
        buffer: list[list[Any]] = []
        for row in rows:
            buffer.append(prepared(row))
            if len(buffer) >= batch:
                count += _flush(cursor, table, columns, buffer)
                buffer = []
        if buffer:
            count += _flush(cursor, table, columns, buffer)
    return count


# Rows per chunk of CSV text handed to COPY (or per executemany on SQLite): bounds memory.
_FRAME_CHUNK = 100_000


def _uuid4_hex(n: int) -> pl.Series:
    """`n` random (version 4) UUIDs as 32 hex digits, which both databases take for a UUID."""
    digits = np.frombuffer(os.urandom(16 * n).hex().encode(), dtype=np.uint8).reshape(n, 32).copy()
    digits[:, 12] = ord("4")  # the version nibble
    digits[:, 16] = np.frombuffer(b"89ab", dtype=np.uint8)[digits[:, 16] & 3]  # the RFC 4122 variant
    return pl.Series(digits.view("S32").ravel().astype("U32"))


def _wire(field: models.Field, value: Any) -> Any:
    """A constant as the database takes it in a frame column (COPY text or an SQLite value)."""
    target = field.target_field if field.is_relation else field
    if value is None:
        return None
    if target.get_internal_type() == "JSONField":
        return json.dumps(value)
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, dt.datetime):
        return value.isoformat() if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool) and connection.vendor != "postgresql":
        return int(value)
    return value


def insert_frame(model: type[models.Model], frame: pl.DataFrame) -> int:
    """INSERT the rows of a polars frame whose columns are named by attname; return the count.

    For writes of a million rows (the value refresh's snapshots): no Python runs per row. The
    frame holds what the database stores: JSON columns as JSON text, UUIDs as text (dashed or
    not). Fields missing from the frame take their defaults; a UUID primary key is made here.
    """
    now = timezone.now()
    fields = list(model._meta.concrete_fields)
    columns = []
    for field in fields:
        if field.attname in frame.columns:
            columns.append(pl.col(field.attname))
        elif field.primary_key and isinstance(field, models.UUIDField):
            columns.append(pl.lit(_uuid4_hex(frame.height)).alias(field.attname))
        else:
            columns.append(pl.lit(_wire(field, _default(field, now)())).alias(field.attname))
    frame = frame.select(columns)
    qn = connection.ops.quote_name
    table, names = qn(model._meta.db_table), ", ".join(qn(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Only quoted table and column names are interpolated; values go through COPY.
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
                for chunk in frame.iter_slices(_FRAME_CHUNK):
                    buffer = io.BytesIO()
                    chunk.write_csv(buffer, include_header=False)
                    copy.write(buffer.getbuffer())
            return frame.height
        frame = frame.with_columns(_sqlite_values(fields, frame))
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
        for chunk in frame.iter_slices(_FRAME_CHUNK):
            cursor.executemany(sql, chunk.iter_rows())
    return frame.height


def _sqlite_values(fields: list[models.Field], frame: pl.DataFrame) -> list[pl.Expr]:
    """SQLite keeps UUIDs as 32 hex digits, dates as ISO text and booleans as integers.
    (Datetime columns are not converted: pass them as text, in UTC, as Django writes them.)"""
    out = []
    for field in fields:
        target = field.target_field if field.is_relation else field
        kind, dtype = target.get_internal_type(), frame.schema[field.attname]
        if kind == "UUIDField" and dtype == pl.String:
            out.append(pl.col(field.attname).str.replace_all("-", "", literal=True))
        elif dtype == pl.Date:
            out.append(pl.col(field.attname).cast(pl.String))
        elif dtype == pl.Boolean:
            out.append(pl.col(field.attname).cast(pl.Int8))
    return out


def _flush(cursor: Any, table: str, columns: str, buffer: list[list[Any]]) -> int:
    # One statement with many VALUES tuples: far fewer round trips than executemany on
    # SQLite, and PostgreSQL parses it once per batch.
    width = len(buffer[0])
    row_sql = "(" + ", ".join(["%s"] * width) + ")"
    # Only quoted table and column names are interpolated; every value is a parameter.
    values_sql = ", ".join([row_sql] * len(buffer))
    sql = f"INSERT INTO {table} ({columns}) VALUES {values_sql}"  # noqa: S608
    cursor.execute(sql, [value for values in buffer for value in values])
    return len(buffer)


def update_rows(model: type[models.Model], changes: list[tuple[Any, Any, dict[str, Any]]]) -> int:
    """UPDATE each row `(organization_id, pk, {attname: value})`, bumping its version.

    Rows changing the same set of fields share one statement run with executemany, which is
    much lighter than `bulk_update`'s CASE WHEN per field and object.
    """
    groups: dict[tuple[str, ...], list[list[Any]]] = {}
    fields = {f.attname: f for f in model._meta.concrete_fields}
    for organization_id, pk, values in changes:
        names = tuple(sorted(values))
        params = [_single(fields[n], values[n]) for n in names]
        params += [
            timezone.now(),
            _single(model._meta.pk, pk),
            _single(fields["organization_id"], organization_id),
        ]
        groups.setdefault(names, []).append(params)
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for names, rows in groups.items():
            sets = ", ".join(f"{qn(fields[n].column)} = %s" for n in names)
            version, table = qn("version"), qn(model._meta.db_table)
            cursor.executemany(
                f"UPDATE {table} SET {sets}, {version} = {version} + 1, "  # noqa: S608 - names only
                f"{qn('updated_at')} = %s WHERE {qn(model._meta.pk.column)} = %s "
                f"AND {qn('organization_id')} = %s",
                rows,
            )
    return len(changes)


def _single(field: models.Field, value: Any) -> Any:
    convert = _converter(field)
    return convert(value) if convert else value
