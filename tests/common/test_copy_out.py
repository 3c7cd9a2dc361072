"""`common.copy_out` (PostgreSQL only): rows read through COPY keep their NULLs as nulls."""

import polars as pl
import pytest
from django.db import connection

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'")

ROWS = "SELECT * FROM (VALUES (1, 2.5::float8, 'a'), (2, NULL, NULL), (3, 4.0, 'c\"d')) AS t(n, x, k) ORDER BY n"


@pytest.mark.django_db
def test_text_copy_reads_nulls_and_quotes_as_they_are():
    from patron.common import copy_out

    frame = copy_out.copy_text(ROWS, [], {"n": pl.Int64, "x": pl.Float64, "k": pl.String})
    assert frame.to_dicts() == [{"n": 1, "x": 2.5, "k": "a"}, {"n": 2, "x": None, "k": None},
                                {"n": 3, "x": 4.0, "k": 'c"d'}]


@pytest.mark.django_db
def test_binary_copy_falls_back_to_text_on_a_null():
    from patron.common import copy_out

    sql = "SELECT n, x FROM (VALUES (1::int8, 2.5::float8), (2, NULL)) AS t(n, x) ORDER BY n"
    frame = copy_out.copy_binary(sql, [], {"n": "int8", "x": "float8"})
    assert frame.to_dicts() == [{"n": 1, "x": 2.5}, {"n": 2, "x": None}]


TYPED = (
    "SELECT n, x, at, id::text FROM (VALUES (1::int8, 2.5::float8, '2026-03-01 08:00:00+00'::timestamptz, "
    "'0190f5a2-7c1e-7a3b-9a2e-3c4d5e6f7a8b'::uuid), (2, -1.0, '2026-03-02 23:59:59.5+00', "
    "'0190f5a2-7c1e-7a3b-9a2e-3c4d5e6f7a8c')) AS t(n, x, at, id) WHERE n >= %s ORDER BY n"
)
KINDS = {"n": "int8", "x": "float8", "at": "timestamptz", "id": "uuid_text"}


@pytest.mark.django_db(transaction=True)
def test_read_frame_outside_a_transaction_reads_through_arrow_as_copy_does(monkeypatch):
    from patron.common import copy_out

    opened = []
    real = copy_out._arrow_connection
    monkeypatch.setattr(copy_out, "_arrow_connection", lambda: opened.append(1) or real())
    frame = copy_out.read_frame(TYPED, [1], KINDS, memory="64MB")
    assert opened == [1]
    assert frame.equals(copy_out.copy_binary(TYPED, [1], KINDS))
    assert frame.schema == pl.Schema({"n": pl.Int64, "x": pl.Float64, "at": pl.Datetime("us", "UTC"), "id": pl.String})
    assert frame["id"].to_list() == ["0190f5a2-7c1e-7a3b-9a2e-3c4d5e6f7a8b", "0190f5a2-7c1e-7a3b-9a2e-3c4d5e6f7a8c"]
    empty = copy_out.read_frame(TYPED, [3], KINDS)
    assert empty.height == 0 and empty.schema == frame.schema


@pytest.mark.django_db
def test_read_frame_inside_a_transaction_uses_this_connection(monkeypatch):
    from patron.common import copy_out

    monkeypatch.setattr(copy_out, "_arrow_connection", lambda: pytest.fail("a second connection was opened"))
    assert copy_out.read_frame(TYPED, [2], KINDS, memory="64MB")["n"].to_list() == [2]


def test_read_frame_refuses_a_memory_size_it_cannot_read():
    from patron.common import copy_out

    with pytest.raises(ValueError, match="memory size"):
        copy_out.read_frame(TYPED, [1], KINDS, memory="64MB'; DROP TABLE x; --")


@pytest.mark.django_db(transaction=True)
def test_read_frame_reads_text_and_nulls_both_ways():
    from django.db import transaction

    from patron.common import copy_out

    sql = "SELECT k, x FROM (VALUES ('a,b', 1.5::float8), (NULL, NULL), ('长', 2.0)) AS t(k, x) ORDER BY x NULLS LAST"
    kinds = {"k": "text", "x": "float8"}
    expected = [{"k": "a,b", "x": 1.5}, {"k": "长", "x": 2.0}, {"k": None, "x": None}]
    assert copy_out.read_frame(sql, [], kinds).to_dicts() == expected
    with transaction.atomic():
        assert copy_out.read_frame(sql, [], kinds).to_dicts() == expected


@pytest.mark.django_db(transaction=True)
def test_a_uuid_read_as_bytes_keeps_every_byte_both_ways():
    import uuid

    from django.db import transaction

    from patron.common import copy_out

    keys = [uuid.UUID(int=0), uuid.UUID(int=2**120), uuid.UUID("0190f5a2-7c1e-7a3b-9a2e-3c4d5e6f7a00")]
    sql = "SELECT k FROM unnest(%s::uuid[]) AS t(k) ORDER BY k"
    expected = sorted(k.bytes for k in keys)
    assert copy_out.read_frame(sql, [keys], {"k": "uuid"})["k"].to_list() == expected
    with transaction.atomic():
        assert copy_out.read_frame(sql, [keys], {"k": "uuid"})["k"].to_list() == expected
