"""Bulk writes of generated tables: COPY on PostgreSQL, big executemany batches on SQLite.

The ORM would build a model instance per row; at ten million orders that alone takes longer
than the whole load should. Here a table of numpy columns (see `columns.py`) is formatted
column by column and streamed in blocks, so memory stays bounded by the block size. Only the
columns the generator does not supply are filled from the model: the organisation, `version`,
and each remaining field's default (blank text, NULL, False...).

These writes bypass services on purpose: they are the demo's bulk path, and the service layer
writes one audit entry for the whole load instead (see `services.demo_load`).
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from django.db import IntegrityError, connection, models

from patron.demo.columns import STR, Table

BLOCK = 100_000  # rows per COPY write / executemany batch


def write(model: type[models.Model], table: Table, *, organization_id: Any) -> int:
    """Insert every row of `table` into `model`'s table; return the number of rows."""
    n = len(next(iter(table.values())))
    if n == 0:
        return 0
    fields = [f for f in model._meta.concrete_fields]
    names = [f.column for f in fields]
    postgres = connection.vendor == "postgresql"
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in names)
    with connection.cursor() as cursor:
        for start in range(0, n, BLOCK):
            stop = min(start + BLOCK, n)
            done: dict[int, list] = {}  # created_at, updated_at, ordered_at are often one array
            values = []
            for f in fields:
                source = table.get(f.column, table.get(f.name))
                key = id(source) if source is not None else id(f)
                if key not in done:
                    done[key] = _column(f, table, start, stop,
                                        organization_id=organization_id, postgres=postgres)
                values.append(done[key])
            if postgres:
                _copy(cursor, quote(model._meta.db_table), columns, values)
            else:
                marks = ", ".join("?" * len(names))
                # Identifiers come from model metadata, never from input.
                sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
                cursor.connection.executemany(sql, zip(*values, strict=True))
    return n


@contextmanager
def reference_triggers_off() -> Iterator[bool]:
    """On PostgreSQL, skip per-row foreign-key checks inside the block; yield whether it did.

    PostgreSQL checks each foreign key of each inserted row with its own lookup; for tens of
    millions of rows that costs far more than the COPY itself. Rows generated here reference
    each other by construction, so the load skips the per-row triggers (the setting meant for
    bulk loads and replication, superusers only) and checks every reference in bulk with
    `verify_references` before the transaction commits. Elsewhere (SQLite, ordinary roles)
    nothing changes and the usual checks apply. Must be used inside a transaction.
    """
    allowed = False
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
            allowed = bool(row and row[0])
            if allowed:
                cursor.execute("SET LOCAL session_replication_role = replica")
    try:
        yield allowed
    finally:
        if allowed:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")


@contextmanager
def sqlite_bulk_mode() -> Iterator[bool]:
    """On SQLite, stop enforcing foreign keys and write through a rollback journal for the
    block; yield whether foreign keys are off.

    SQLite's deferred foreign keys are not checked once at commit: while any violation is
    outstanding (a child written before its parent, as opportunities and the leads they came
    from are, each pointing at the other), every row inserted into a parent table looks up its
    children in every referencing table, and without an index on the child column each lookup
    is a full scan: a 100,000-customer load with its indexes deferred spent over ten minutes
    on 2,692 opportunities, scanning the orders once per opportunity. The load checks the
    references of each chunk in bulk with `verify_references` instead.

    In WAL mode one transaction of millions of rows keeps every page it writes in the WAL
    (10 GB at a million customers), and each page read that misses the cache then searches
    the WAL's index segment by segment: the chunks slow down as the load grows and one scan
    of the orders takes minutes. A rollback journal writes the pages into the database file
    itself and journals only the few pages that held data before. The switch needs no other
    connection open (a running server keeps WAL, and the load is only slower).

    SQLite ignores both switches inside a transaction, so this must be entered before the
    load's transaction; inside one (a test's) it yields False and the usual checks apply.
    """
    if connection.vendor != "sqlite":
        yield False
        return
    keys_off = connection.disable_constraint_checking()
    journal = False
    if keys_off:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            if cursor.fetchone()[0] == "wal":
                cursor.execute("PRAGMA journal_mode = DELETE")
                journal = cursor.fetchone()[0] == "delete"
    try:
        yield keys_off
    finally:
        if journal:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode = WAL")
        if keys_off:
            connection.enable_constraint_checking()


def last_rowid(model: type[models.Model]) -> int:
    """SQLite: the highest rowid of `model`'s table (rows are appended after it), 0 if empty."""
    # A position in the table, not a read of anyone's rows: asked of the driver directly, as
    # the tests' tenancy guard would take it for an unscoped read. An organisation filter
    # would scan the whole table (its index is deferred). Identifiers from model metadata.
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        return cursor.connection.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}").fetchone()[0]  # noqa: S608


@contextmanager
def secondary_indexes_deferred(models_: list[type[models.Model]]) -> Iterator[bool]:
    """When every table is empty, drop their secondary indexes for the block and build them
    again at its end; yield whether it did.

    Keeping a dozen B-tree and trigram indexes up to date row by row costs a large load more
    than writing the rows; one sorted build per index at the end is far cheaper. Only for
    empty tables (a fresh database): the drop locks the table, and on a table in use that
    would stall everyone else. Primary keys and unique constraints stay, so duplicates are
    still refused during the load. Must be used inside a transaction, which also brings the
    indexes back if the load fails. On SQLite only with foreign keys off (`sqlite_bulk_mode`):
    their checks would otherwise scan the index-less child tables row by row.
    """
    definitions: list[str] = []
    quote = connection.ops.quote_name
    tables = [m._meta.db_table for m in models_]
    with connection.cursor() as cursor:
        empty = _foreign_keys_unchecked(cursor)
        for table in tables:
            if not empty:
                break
            # Rows of any organisation count: the drop would stall every tenant's work.
            cursor.execute(
                f"SELECT NOT EXISTS (SELECT 1 FROM {quote(table)} "  # noqa: S608
                "WHERE organization_id IS NOT NULL)"
            )
            empty = bool(cursor.fetchone()[0])
        if empty:
            for name, definition in _secondary_indexes(cursor, tables):
                cursor.execute(f"DROP INDEX {name}")  # a name the database just gave us
                definitions.append(definition)
    # Not in a `finally`: after a failure the transaction is aborted, and rolling it back
    # restores the dropped indexes anyway.
    yield bool(definitions)
    if definitions:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for definition in definitions:
                cursor.execute(definition)


def _foreign_keys_unchecked(cursor: Any) -> bool:
    """Whether dropping indexes is safe for foreign-key checks: always on PostgreSQL (each
    check looks up the parent's primary key), on SQLite only with enforcement off."""
    if connection.vendor != "sqlite":
        return True
    cursor.execute("PRAGMA foreign_keys")
    return not cursor.fetchone()[0]


def _secondary_indexes(cursor: Any, tables: list[str]) -> list[tuple[str, str]]:
    """(quoted name, CREATE statement) of the indexes on `tables` that are neither primary nor
    unique."""
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relname = ANY(%s) AND NOT i.indisprimary AND NOT i.indisunique "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [tables],
        )
        return cursor.fetchall()  # regclass text comes quoted where it needs to be
    # SQLite: the indexes behind primary keys and UNIQUE constraints have no SQL of their own.
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "  # noqa: S608
        f"AND tbl_name IN ({', '.join(['%s'] * len(tables))})",
        tables,
    )
    return [(connection.ops.quote_name(name), sql) for name, sql in cursor.fetchall()
            if not sql.upper().startswith("CREATE UNIQUE")]


def verify_references(model: type[models.Model], *, organization_id: Any,
                      after_rowid: int | None = None) -> None:
    """Raise IntegrityError if a row of `model` in the organisation points at a missing row;
    on SQLite with `after_rowid`, only the rows written after it (a chunk, still in cache).

    One anti-join per foreign key, in bulk instead of a check per inserted row: a hash join
    on PostgreSQL, a primary-key lookup per row on SQLite (the parents' primary-key indexes
    are never deferred).
    """
    quote = connection.ops.quote_name
    # SQLite keeps UUIDs as 32 hex digits, and its driver takes no UUID objects.
    params = [_hex(organization_id) if connection.vendor == "sqlite" else organization_id]
    where = "c.organization_id = %s"
    if after_rowid is not None:
        # The rowid range, not an organisation index: "+" keeps SQLite off the latter.
        where = "c.rowid > %s AND +c.organization_id = %s"
        params.insert(0, after_rowid)
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        for field in model._meta.concrete_fields:
            if not field.is_relation or field.name == "organization":
                continue
            target = field.related_model._meta
            column = quote(field.column)
            # Identifiers come from model metadata, never from input.
            cursor.execute(
                f"SELECT count(*) FROM {table} c WHERE {where} "  # noqa: S608
                f"AND c.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                f"{quote(target.db_table)} p WHERE p.{quote(target.pk.column)} = c.{column})",
                params,
            )
            (orphans,) = cursor.fetchone()
            if orphans:
                raise IntegrityError(f"{orphans} rows of {table}.{column} point at nothing")


def _copy(cursor: Any, table: str, columns: str, values: list[list[str]]) -> None:
    with cursor.connection.cursor() as raw:
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for block in _text_blocks(values):
                copy.write(block)


def _text_blocks(values: list[list[str]], rows: int = 20_000) -> Iterator[str]:
    """COPY's text format: tab-separated columns, one row per line."""
    for start in range(0, len(values[0]), rows):
        part = [v[start:start + rows] for v in values]
        yield "\n".join(map("\t".join, zip(*part, strict=True))) + "\n"


def _column(
    field: models.Field, table: Table, start: int, stop: int, *, organization_id: Any,
    postgres: bool,
) -> list:
    """One column of the block as Python values ready for the driver (text for COPY)."""
    null = "\\N" if postgres else None
    n = stop - start
    if field.column == "organization_id":
        return [_hex(organization_id)] * n
    key = field.column if field.column in table else field.name
    if key not in table:
        return [_constant(field, postgres)] * n
    data = table[key][start:stop]
    kind = field.get_internal_type()
    if kind == "DateTimeField" and postgres:
        text = np.datetime_as_string(data, unit="s", timezone="UTC")  # ISO 8601, "Z" for UTC
        return _nulls(text, np.isnat(data), null)
    if kind in ("DateTimeField", "DateField"):
        # SQLite keeps datetimes as text, compared as text: use Django's "YYYY-MM-DD HH:MM:SS".
        text = np.datetime_as_string(data, unit="s" if kind == "DateTimeField" else "D")
        return _nulls(np.strings.replace(text, "T", " "), np.isnat(data), null)
    if kind == "DecimalField" and np.issubdtype(data.dtype, np.integer):
        cents = np.maximum(data, 0)
        text = np.strings.add(np.strings.add((cents // 100).astype(STR), "."),
                              np.strings.zfill((cents % 100).astype(STR), 2))
        return _nulls(text, data < 0, null)
    if data.dtype == bool:
        return np.where(data, "t", "f").tolist() if postgres else data.astype(int).tolist()
    if np.issubdtype(data.dtype, np.integer):
        return data.astype(STR).tolist() if postgres else data.tolist()
    text = data.astype(STR)
    if field.is_relation or isinstance(field, models.UUIDField):
        return _nulls(text, text == "", null)
    if postgres:
        text = _escape(text)
    return text.tolist()


def _nulls(text: np.ndarray, missing: np.ndarray, null: str | None) -> list:
    values = text.tolist()
    for i in np.flatnonzero(missing).tolist():
        values[i] = null
    return values


def _escape(text: np.ndarray) -> np.ndarray:
    """Backslash, tab and line breaks are special in COPY's text format."""
    for char, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        if np.any(np.strings.find(text, char) >= 0):
            text = np.strings.replace(text, char, escaped)
    return text


def _hex(value: Any) -> str:
    return value.hex if hasattr(value, "hex") and not isinstance(value, str) else str(value)


def _constant(field: models.Field, postgres: bool) -> Any:
    """A field the generator left out: its default, as the driver wants it."""
    if field.name == "version":
        value: Any = 1
    elif field.null and not field.has_default():
        value = None
    else:
        value = field.get_default()
    if value is None:
        return "\\N" if postgres else None
    if isinstance(value, bool):
        return ("t" if value else "f") if postgres else int(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value) if postgres or not isinstance(value, int) else value
