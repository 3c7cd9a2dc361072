"""Query results into polars frames on SQLite, for reads of millions of rows.

Python's sqlite3 module builds a tuple and an object per value, which at ten million rows
costs more than the query. Here SQLite itself joins each chunk of rows into one CSV text
(`group_concat`), so a chunk crosses into Python as a single string that polars parses. The
table is read in rowid order, chunk by chunk (a range of the table's own B-tree, read
sequentially): a filter on an indexed column would otherwise walk that index and look every
row up at random.

A large read of a database file runs its chunks in child processes, one per core. Not in
threads: two SQLite scans on threads of one process took longer side by side than one after
the other (the orders and the order lines of a million customers: 21.7-26.4 s against
16.3-17.8 s; the scans release Python's interpreter lock, so something SQLite shares between
a process's connections serialises them, likely its allocator's mutex), while in two
processes they took 9.4-10.4 s.

The text carries no quoting, so the selected values must not contain a comma or a newline:
numbers, dates, UUIDs and identifiers.
"""

import concurrent.futures
import decimal
import logging
import multiprocessing
import os
import re
import signal
import sqlite3
import tempfile
import threading
import time
import uuid

import polars as pl
from django.db import connection

logger = logging.getLogger(__name__)

CHUNK_ROWS = 250_000
# Below this many rows (of the table's rowid span) a read stays in this process: starting the
# children (fresh interpreters, 0.8-0.9 s for two) would cost about what they save.
PROCESS_MIN_ROWS = 2_000_000
MAX_PROCESSES = 4


def read_table(*, table: str, organization_id: uuid.UUID, columns: dict[str, str],
               schema: dict[str, pl.DataType], where: str = "1 = 1", params: list | None = None,
               span: tuple[str, list] | None = None) -> pl.DataFrame:
    """The organisation's rows of `table` matching `where`, as a frame with `schema` (the names
    of `columns`), in the table's rowid order.

    `columns` maps each output name to the SQL expression that gives it (NULL becomes an empty
    field, read as null); `where` and the expressions are the caller's own SQL, values go in
    `params`. The table's alias in them is `t`. `span`: a condition (SQL, params) that an
    index serves and that the wanted rows meet, to read only the rowids from its first row to
    its last (e.g. one refresh's scores, written together, in a table of many refreshes).
    """
    if list(columns) != list(schema):
        raise ValueError("columns and schema must name the same columns in the same order")
    qn = connection.ops.quote_name
    row = " || ',' || ".join(f"coalesce({expression}, '')" for expression in columns.values())
    # Only the caller's own SQL is interpolated; values are parameters.
    sql = (f"SELECT CAST(group_concat({row}, char(10)) AS BLOB) FROM {qn(table)} AS t NOT INDEXED "  # noqa: S608
           f"WHERE t.rowid >= %s AND t.rowid < %s AND t.organization_id = %s AND ({where})")
    with connection.cursor() as cursor:
        first, last = _rowids(cursor, table, organization_id, span)
        if first is None:
            return pl.DataFrame(schema=schema)
        chunks = [[start, start + CHUNK_ROWS, organization_id.hex, *(params or [])]
                  for start in range(first, last + 1, CHUNK_ROWS)]
        # The children bind plain values themselves (they unpickle them without Django: a
        # choice's enum would not load); anything else is read here, as Django adapts it.
        plain = [[_plain(value) for value in args] for args in chunks]
        path = _file_for_children(first, last)
        frames = None
        if path is not None and all(value is not _NOT_PLAIN for args in plain for value in args):
            try:
                frames = _read_in_children(path, _qmarks(sql), plain, schema)
            except Exception:
                # A child that could not start (e.g. a main script without the `__main__`
                # guard that spawned processes import), died, or failed: read here instead,
                # where an error that is the query's own is raised as usual.
                logger.warning("reading %s in child processes failed; reading it in this process", table,
                               exc_info=True)
        if frames is None:
            frames = []
            for args in chunks:
                cursor.execute(sql, args)
                frames.append(_parsed(cursor.fetchone()[0], schema))
    frames = [frame for frame in frames if frame is not None]
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def reads_in_children(*, table: str, organization_id: uuid.UUID) -> bool:
    """Whether `read_table` of the organisation's rows of `table` would run in child processes
    (so that another read beside it, on a thread, would not slow it down)."""
    with connection.cursor() as cursor:
        first, last = _rowids(cursor, table, organization_id, None)
    return first is not None and _file_for_children(first, last) is not None


def _rowids(cursor, table: str, organization_id: uuid.UUID, span: tuple[str, list] | None) -> tuple:
    """(first, last) rowid of the organisation's rows of `table` (meeting `span`), or Nones."""
    qn = connection.ops.quote_name
    # Two subqueries: each walks the table by rowid from one end and stops at the first of
    # the organisation's rows (1.7 ms at a million customers, most of them the organisation's).
    if span is None:
        cursor.execute(f"SELECT (SELECT min(rowid) FROM {qn(table)} WHERE organization_id = %s), "  # noqa: S608
                       f"(SELECT max(rowid) FROM {qn(table)} WHERE organization_id = %s)",
                       [organization_id.hex] * 2)
    else:
        cursor.execute(f"SELECT min(rowid), max(rowid) FROM {qn(table)} AS t "  # noqa: S608
                       f"WHERE t.organization_id = %s AND ({span[0]})", [organization_id.hex, *span[1]])
    return cursor.fetchone()


_NOT_PLAIN = object()
_QMARK = re.compile(r"(?<!%)%s")


def _plain(value: object) -> object:
    """A parameter as a built-in value sqlite3 binds without Django's adapters (a choice as
    its string, a decimal as text as Django writes it), or _NOT_PLAIN."""
    if value is None or isinstance(value, bytes):
        return value
    for kind in (str, bool, int, float):
        if isinstance(value, kind):
            return kind.__str__(value) if kind is str else kind(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    return _NOT_PLAIN


def _qmarks(sql: str) -> str:
    """Django's `%s` placeholders as sqlite3's `?`, and `%%` as `%`, as Django's backend does."""
    return _QMARK.sub("?", sql).replace("%%", "%")


def _parsed(text: bytes | None, schema: dict[str, pl.DataType]) -> pl.DataFrame | None:
    # bytes: no decoding into a Python string
    return pl.read_csv(text, has_header=False, schema=schema, quote_char=None) if text else None


def _file_for_children(first: int, last: int) -> str | None:
    """The database file that child processes read rowids `first` to `last` of, if they should:
    a span long enough to pay for starting them, of a file other processes can read what this
    connection sees (not an in-memory database, the tests', nor inside a transaction, whose
    rows nobody else sees yet)."""
    if last - first < PROCESS_MIN_ROWS or connection.in_atomic_block or connection.is_in_memory_db():
        return None
    name = str(connection.settings_dict["NAME"])
    return name if os.path.isfile(name) else None


def _read_in_children(path: str, sql: str, chunks: list[list], schema: dict[str, pl.DataType]) -> list:
    """The chunks' frames, in order, each read by one of a few child processes with its own
    connection to the file (WAL mode: readers do not wait for a writer). A child hands its
    chunk back as an Arrow file in a temporary folder: cheaper for this process than taking
    it through the pipe (the lines of a million customers: 1.6-1.7 s of its CPU against 2.9-3.1 s)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    processes = min(MAX_PROCESSES, cores, len(chunks))
    context = multiprocessing.get_context("spawn")  # no fork of a process holding connections and threads
    with tempfile.TemporaryDirectory(prefix="patron-read-") as folder:
        pool = concurrent.futures.ProcessPoolExecutor(processes, mp_context=context, initializer=_child_connect,
                                                      initargs=(path, os.getpid()))
        try:
            read = pool.map(_child_chunk, [sql] * len(chunks), chunks, [schema] * len(chunks),
                            [folder] * len(chunks))
            return [None if name is None else pl.read_ipc(name) for name in read]
        finally:  # on an error, the chunks not started yet are not read for nothing
            pool.shutdown(wait=True, cancel_futures=True)


_child_db: sqlite3.Connection | None = None


def _child_connect(path: str, parent: int) -> None:
    global _child_db
    # Ctrl+C is the parent's to handle (a worker finishing its task), not the children's.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    _child_db = sqlite3.connect(path, timeout=10)
    _child_db.execute("PRAGMA cache_size=-65536")


def _exit_with(parent: int) -> None:
    """End this child once its parent is gone (killed, say): it would otherwise wait forever."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _child_chunk(sql: str, args: list, schema: dict[str, pl.DataType], folder: str) -> str | None:
    """One chunk, read in a child process and written to an Arrow file in `folder`; its name."""
    frame = _parsed(_child_db.execute(sql, args).fetchone()[0], schema)
    if frame is None:
        return None
    name = os.path.join(folder, f"{args[0]}.arrow")  # the chunk's first rowid
    frame.write_ipc(name)
    return name
