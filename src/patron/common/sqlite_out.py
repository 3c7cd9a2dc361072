"""Query results into polars frames on SQLite, for reads of millions of rows.

Python's sqlite3 module builds a tuple and an object per value, which at ten million rows
costs more than the query. Here SQLite itself joins each chunk of rows into one CSV text
(`group_concat`), so a chunk crosses into Python as a single string that polars parses. The
table is read in rowid order, chunk by chunk (a range of the table's own B-tree, read
sequentially): a filter on an indexed column would otherwise walk that index and look every
row up at random.

The text carries no quoting, so the selected values must not contain a comma or a newline:
numbers, dates, UUIDs and identifiers.
"""

import uuid

import polars as pl
from django.db import connection

CHUNK_ROWS = 250_000


def read_table(*, table: str, organization_id: uuid.UUID, columns: dict[str, str],
               schema: dict[str, pl.DataType], where: str = "1 = 1", params: list | None = None,
               span: tuple[str, list] | None = None) -> pl.DataFrame:
    """The organisation's rows of `table` matching `where`, as a frame with `schema` (the names
    of `columns`), in the table's rowid order.

    `columns` maps each output name to the SQL expression that gives it (NULL becomes an empty
    field, read as null); `where` and the expressions are the caller's own SQL, values go in
    `params`. The table's alias in them is `t`. `span`: a condition (SQL, params) that an index
    serves and that the wanted rows meet, to read only the rowids from its first row to its
    last (e.g. one refresh's scores, written together, in a table of many refreshes).
    """
    if list(columns) != list(schema):
        raise ValueError("columns and schema must name the same columns in the same order")
    qn = connection.ops.quote_name
    row = " || ',' || ".join(f"coalesce({expression}, '')" for expression in columns.values())
    # Only the caller's own SQL is interpolated; values are parameters.
    sql = (f"SELECT CAST(group_concat({row}, char(10)) AS BLOB) FROM {qn(table)} AS t NOT INDEXED "  # noqa: S608
           f"WHERE t.rowid >= %s AND t.rowid < %s AND t.organization_id = %s AND ({where})")
    frames = []
    with connection.cursor() as cursor:
        if span is None:  # two subqueries, so each is one seek at an end of the organisation index
            cursor.execute(f"SELECT (SELECT min(rowid) FROM {qn(table)} WHERE organization_id = %s), "  # noqa: S608
                           f"(SELECT max(rowid) FROM {qn(table)} WHERE organization_id = %s)",
                           [organization_id.hex] * 2)
        else:
            cursor.execute(f"SELECT min(rowid), max(rowid) FROM {qn(table)} AS t "  # noqa: S608
                           f"WHERE t.organization_id = %s AND ({span[0]})", [organization_id.hex, *span[1]])
        first, last = cursor.fetchone()
        if first is None:
            return pl.DataFrame(schema=schema)
        for start in range(first, last + 1, CHUNK_ROWS):
            cursor.execute(sql, [start, start + CHUNK_ROWS, organization_id.hex, *(params or [])])
            text = cursor.fetchone()[0]  # bytes: no decoding into a Python string
            if text:
                frames.append(pl.read_csv(text, has_header=False, schema=schema, quote_char=None))
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)
