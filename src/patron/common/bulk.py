"""A lean multi-row INSERT for the import's hot path.

`QuerySet.bulk_create` prepares every value of every field through the field's full
conversion chain and builds model instances first; for a 35-column customer that is most of
an import's time. Here rows are plain dicts, text and numbers go to the driver as they are,
and only the types whose database form differs by backend (UUIDs, dates, decimals, JSON) go
through Django's own conversion. The result is the same rows `bulk_create` would write.
On PostgreSQL the rows stream through COPY, which is several times faster than INSERT, as
text made here; SQLite runs one prepared INSERT per row. Keys made here are time-ordered
(`ordered_uuids`). Imports and the audit trail of bulk operations use it.
"""

import datetime as dt
import io
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

import numpy as np
import polars as pl
from django.db import connection, models, transaction
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
        return _uuid_hex()
    if connection.vendor == "sqlite":  # what Django writes there, without its per-value cost
        if kind == "JSONField":
            return _json_text(target)
        if kind == "DateField":
            return lambda v: v.isoformat() if type(v) is dt.date else _prepared(field, v)
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


def _uuid_hex() -> Callable[[Any], str | None]:
    """UUIDs as SQLite keeps them, 32 hex digits; a foreign key repeats one value (the
    organisation, the owner) row after row, so the last one is remembered."""
    last: list[Any] = [None, None]

    def hex_of(value: Any) -> str | None:
        if value is last[0]:
            return last[1]
        text = None if value is None else (value if isinstance(value, str) else value.hex)
        last[0], last[1] = value, text
        return text

    return hex_of


def _prepared(field: models.Field, value: Any) -> Any:
    return None if value is None else field.get_db_prep_save(value, connection)


def _json_text(field: models.Field) -> Callable[[Any], str | None]:
    """JSON text of a JSONField's values (None stays NULL). Values are unhashable, so the
    memo above cannot hold them; bulk writes repeat one payload object (the `data` of every
    audit entry of a batch) and empty objects, so the last value and `{}` are remembered."""
    dumps = json.dumps if field.encoder is None else partial(json.dumps, cls=field.encoder)
    empty, last = dumps({}), [object(), ""]

    def text(value: Any) -> str | None:
        if value is None:
            return None
        if value is last[0]:
            return last[1]
        if type(value) is dict and not value:
            return empty
        last[0], last[1] = value, dumps(field.get_prep_value(value))
        return last[1]

    return text


def _default(field: models.Field, now: Any) -> Callable[[], Any]:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda: now
    if field.has_default():
        default = field.default
        return default if callable(default) else lambda: default
    return lambda: None if field.null else ("" if field.empty_strings_allowed else None)


def ordered_uuids(count: int) -> list[uuid.UUID]:
    """`count` version 7 UUIDs, in increasing order: the Unix time in milliseconds, then a
    per-process sequence, then random bits (RFC 9562).

    Keys that grow with time are appended at the right edge of the primary-key index (and of
    any index on an `object_id` pointing at them) instead of landing on a random page. With
    random keys a bulk insert into a large table dirties about one more index page per row:
    at 200,000 customers that made SQLite's commits several times slower, and it cost
    PostgreSQL about a quarter of its time.
    """
    global _last_ms, _sequence
    tails = os.urandom(8 * count)
    heads = []
    with _ordered_lock:
        now = time.time_ns() // 1_000_000
        if now > _last_ms:
            _last_ms, _sequence = now, -1
        for _ in range(count):  # within a millisecond (or if the clock steps back): count up
            _sequence += 1
            if _sequence > 0xFFF:
                _last_ms, _sequence = _last_ms + 1, 0
            heads.append(_last_ms << 80 | _sequence << 64 | _UUID7_BITS)
    return [
        uuid.UUID(int=head | int.from_bytes(tails[8 * i : 8 * i + 8]) >> 2)
        for i, head in enumerate(heads)
    ]


def ordered_uuid() -> uuid.UUID:
    """One key of `ordered_uuids`."""
    return ordered_uuids(1)[0]


_UUID7_BITS = 0x7 << 76 | 0b10 << 62  # the version and the RFC variant
_ordered_lock = threading.Lock()
_last_ms = _sequence = 0


# Rows per write to COPY.
_COPY_PIECE = 200
# COPY's text format: tab between columns, \N for NULL, and these four escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"
_TEXT_KINDS = {"CharField", "TextField", "EmailField", "SlugField", "URLField"}
_INTEGER_KINDS = {
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
}


def _copy_str(value: Any) -> str:
    if value is None:
        return _COPY_NULL
    text = value if type(value) is str else str(value)
    if "\\" in text or not text.isprintable():  # tab, newline and CR are not printable
        return text.translate(_COPY_ESCAPES)
    return text


def _copy_uuid(value: Any) -> str:
    """32 hex digits, which PostgreSQL reads as it reads the dashed form."""
    if value is None:
        return _COPY_NULL
    return (value if isinstance(value, uuid.UUID) else uuid.UUID(value)).hex


def _as_date(field: models.Field, value: Any) -> dt.date:
    return value if type(value) is dt.date else _prepared(field, value)


def _copy_encoder(field: models.Field) -> Callable[[Any], str] | None:
    """How one field's Python value is written as COPY text; None for a type not handled
    here (the caller then lets psycopg adapt the values)."""
    target = field.target_field if field.is_relation else field
    kind = target.get_internal_type()
    if kind in _TEXT_KINDS:
        return _copy_str
    if kind == "UUIDField":
        return _copy_uuid
    if kind == "BooleanField":
        return lambda v: _COPY_NULL if v is None else ("t" if v else "f")
    if kind in _INTEGER_KINDS:
        return lambda v: _COPY_NULL if v is None else str(int(v))
    if kind == "FloatField":
        return lambda v: _COPY_NULL if v is None else repr(float(v))
    if kind == "JSONField":
        text = _json_text(target)
        return lambda v: _COPY_NULL if v is None else _copy_str(text(v))
    if kind == "DateField":
        return lambda v: _COPY_NULL if v is None else _as_date(field, v).isoformat()
    if kind in ("DateTimeField", "DecimalField"):
        # Django's own preparation (time zone, quantising), once per distinct value.
        convert = _converter(field)
        assert convert is not None
        if kind == "DecimalField":
            return lambda v: _COPY_NULL if v is None else str(convert(v))
        return lambda v: _COPY_NULL if v is None else convert(v).isoformat()
    return None


class NotEncodable(TypeError):
    """A model with a field type whose COPY text is not made here (psycopg adapts those)."""


class RowLayout:
    """A model's INSERT rows as lists of database values, made in two parts.

    The head holds every column but those named as the tail, encoded as soon as the values
    are known: a large import into SQLite makes it in its read-ahead process, on the other
    core. The tail holds what only the write knows (a record's number, its time of creation),
    encoded there. Values are encoded as `bulk_create` would store them: as COPY text on
    PostgreSQL, as the values SQLite keeps elsewhere. Missing head values take the field's
    default.

    A layout remembers the last values it encoded: one per thread and run, never shared.
    """

    def __init__(self, model: type[models.Model], tail: tuple[str, ...] = (), *, now: Any = None) -> None:
        fields = list(model._meta.concrete_fields)
        self.model = model
        self.postgres = connection.vendor == "postgresql"
        make = _copy_encoder if self.postgres else _converter
        encoders = {f.attname: make(f) for f in fields}
        if self.postgres and None in encoders.values():
            raise NotEncodable(f"{model.__name__} has a field COPY text is not made for here")
        by_name = {f.attname: f for f in fields}
        self.head_fields = [f for f in fields if f.attname not in tail]
        self.tail_fields = [by_name[name] for name in tail]
        # A missing value takes the field's default, encoded once when it is a constant (most
        # are: "", None, False, the write's timestamp); a callable default runs per row.
        self._head: list[tuple[str, Callable[[Any], Any] | None, Any, Callable[[], Any] | None]] = []
        for field in self.head_fields:
            encode = encoders[field.attname]
            if _is_timestamp(field) and now is None:
                raise ValueError(f"{field.attname} is set at the write: name it in the tail")
            default = _default(field, now)
            if not (field.has_default() and callable(field.default)) or _is_timestamp(field):
                value = default()
                self._head.append((field.attname, encode, encode(value) if encode else value, None))
            else:
                self._head.append((field.attname, encode, None, default))
        self._tail = [encoders[name] for name in tail]

    def head(self, row: dict[str, Any]) -> list:
        """The head columns' values of `row` (a dict by attname), encoded."""
        return [
            (row[name] if encode is None else encode(row[name]))
            if name in row
            else fixed
            if default is None
            else (default() if encode is None else encode(default()))
            for name, encode, fixed, default in self._head
        ]

    def tail(self, values: tuple) -> list:
        """The tail columns' `values`, in the tail's order, encoded."""
        return [
            value if encode is None else encode(value)
            for value, encode in zip(values, self._tail, strict=True)
        ]


def insert_encoded(layout: RowLayout, rows: Iterable[list], *, batch: int = 500) -> int:
    """INSERT rows made by `layout` (each its head, then its tail); return the count."""
    qn = connection.ops.quote_name
    table = qn(layout.model._meta.db_table)
    columns = ", ".join(qn(f.column) for f in (*layout.head_fields, *layout.tail_fields))
    count = 0
    with connection.cursor() as cursor:
        if layout.postgres:
            # Only quoted table and column names are interpolated; values go through COPY,
            # as text made here: psycopg's per-value adaptation cost more than the database.
            # Sent in small pieces: the server stores each while the next one is made.
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                lines = []
                for row in rows:
                    lines.append("\t".join(row))
                    if len(lines) >= _COPY_PIECE:
                        copy.write("\n".join(lines) + "\n")
                        count, lines = count + len(lines), []
                if lines:
                    copy.write("\n".join(lines) + "\n")
                    count += len(lines)
            return count
        # SQLite runs one prepared single-row INSERT per row (no round trips in-process),
        # which is cheaper than building and parsing a statement of many VALUES tuples.
        marks = ", ".join(["%s"] * (len(layout.head_fields) + len(layout.tail_fields)))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - names only
        buffer: list[list] = []
        for row in rows:
            buffer.append(row)
            if len(buffer) >= batch:
                cursor.executemany(sql, buffer)
                count, buffer = count + len(buffer), []
        if buffer:
            cursor.executemany(sql, buffer)
            count += len(buffer)
    return count


def insert_rows(
    model: type[models.Model], rows: Iterable[dict[str, Any]], *, batch: int = 500
) -> int:
    """INSERT `rows` (dicts by attname; missing fields take their defaults); return the count.

    Each row should carry its primary key when the caller needs it later (UUID keys are made
    here otherwise, time-ordered, and written back into the dict).
    """
    now = timezone.now()
    try:
        layout = RowLayout(model, now=now)
    except NotEncodable:
        return _copy_rows_adapted(model, rows, now)
    pk_name = model._meta.pk.attname
    make_pk = isinstance(model._meta.pk, models.UUIDField)
    fresh_keys: list[uuid.UUID] = []

    def encoded() -> Iterator[list]:
        for row in rows:
            if make_pk and row.get(pk_name) is None:
                if not fresh_keys:
                    fresh_keys.extend(reversed(ordered_uuids(batch)))
                row[pk_name] = fresh_keys.pop()
            yield layout.head(row)

    return insert_encoded(layout, encoded(), batch=batch)


def _is_timestamp(field: models.Field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def _copy_rows_adapted(model: type[models.Model], rows: Iterable[dict[str, Any]], now: Any) -> int:
    """COPY with psycopg adapting each value: for models with a field type the text encoder
    above does not know."""
    fields = list(model._meta.concrete_fields)
    plan = [(f.attname, _converter(f), _default(f, now)) for f in fields]
    pk_name = model._meta.pk.attname
    make_pk = isinstance(model._meta.pk, models.UUIDField)
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    count = 0
    with connection.cursor() as cursor, cursor.copy(
        f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN"
    ) as copy:
        for row in rows:
            if make_pk and row.get(pk_name) is None:
                row[pk_name] = ordered_uuid()
            values = []
            for name, convert, default in plan:
                value = row[name] if name in row else default()
                values.append(convert(value) if convert else value)
            copy.write_row(values)
            count += 1
    return count


# Rows per chunk of CSV text handed to COPY (or per executemany on SQLite): bounds memory.
_FRAME_CHUNK = 100_000


_HEX_PAIRS = np.frombuffer(b"".join(b"%02x" % i for i in range(256)), dtype=np.uint16)


def _uuid7_hex(n: int) -> pl.Series:
    """`n` time-ordered (version 7) UUIDs in ascending order, as 32 hex digits: `ordered_uuids`
    for a whole frame at once, in numpy (a million in a quarter of a second).

    The milliseconds since 1970 come first and a counter from a random start fills the random
    bits, so a million rows inserted at once go to the end of the primary key's index rather
    than to a million random pages of it.
    """
    ms = time.time_ns() // 1_000_000
    start = int.from_bytes(os.urandom(7), "big")  # room to count up without leaving 62 bits
    high = np.full(n, (ms << 16) | 0x7000 | (start & 0x0FFF), dtype=">u8")  # version 7, 12 random bits
    low = ((np.uint64(2) << np.uint64(62)) | (np.uint64(start >> 12) + np.arange(n, dtype=np.uint64))).astype(">u8")
    raw = np.empty((n, 16), dtype=np.uint8)
    raw[:, :8], raw[:, 8:] = high.view(np.uint8).reshape(n, 8), low.view(np.uint8).reshape(n, 8)
    digits = _HEX_PAIRS[raw].view("S32").ravel()
    return pl.Series(digits).cast(pl.String)


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
        if connection.vendor == "postgresql":
            return value.isoformat()
        return connection.ops.adapt_datetimefield_value(value)
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
            columns.append(pl.lit(_uuid7_hex(frame.height)).alias(field.attname))
        else:
            columns.append(pl.lit(_wire(field, _default(field, now)())).alias(field.attname))
    frame = frame.select(columns)
    qn = connection.ops.quote_name
    table, names = qn(model._meta.db_table), ", ".join(qn(f.column) for f in fields)
    # One transaction: in autocommit, SQLite would commit every row of executemany on its own.
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _copy_frame(table, names, frame)
            return frame.height
        frame = frame.with_columns(_sqlite_values(fields, frame))
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
        with connection.cursor() as cursor:
            for chunk in frame.iter_slices(_FRAME_CHUNK):
                cursor.executemany(sql, chunk.iter_rows())
    return frame.height


def _copy_frame(table: str, names: str, frame: pl.DataFrame) -> None:
    with connection.cursor() as cursor:
        # Only quoted table and column names are interpolated; values go through COPY.
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
            for chunk in frame.iter_slices(_FRAME_CHUNK):
                buffer = io.BytesIO()
                chunk.write_csv(buffer, include_header=False)
                copy.write(buffer.getbuffer())


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


def analyze(*tables: type[models.Model]) -> None:
    """Fresh planner statistics for tables that a bulk write has just grown.

    PostgreSQL: autovacuum analyses a table some time after a large write, or never where
    it is turned off; until then the planner believes the table as small as it was. Seen:
    after loading a million customers, a manager's customer list estimated 37 rows for the
    630,000 of their teams, sorted them all and took 1.1 s instead of 0.04 s.

    SQLite keeps statistics only when asked. Without them its planner guesses, and takes an
    index that starts with the organisation as readily as one on the phone: an e-mail lookup
    read every customer of the organisation. SQLite reads the whole table (a million
    customers: 1 s, ten million orders: 7 s; with `analysis_limit` it took an organisation of
    a million for one of a thousand), so a table whose size is within a tenth of what its
    statistics counted keeps them: they still describe it.
    """
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in tables:
            table = model._meta.db_table
            if connection.vendor == "sqlite" and not _sqlite_grown(cursor, table):
                continue
            cursor.execute(f"ANALYZE {qn(table)}")


def _sqlite_grown(cursor: Any, table: str) -> bool:
    """Whether the table's size is off by more than a tenth from what SQLite's statistics
    last counted (or it has none). A count reads the table's smallest index: a tenth of a
    second at a million rows, against a second for ANALYZE."""
    cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
    if not cursor.fetchone()[0]:
        return True
    cursor.execute("SELECT max(CAST(stat AS INTEGER)) FROM sqlite_stat1 WHERE tbl = %s", [table])
    counted = cursor.fetchone()[0]
    cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
    size = cursor.fetchone()[0]
    if counted is None:  # never analysed, or empty when it was (SQLite then records nothing)
        return size > 0
    return abs(size - counted) > counted / 10
