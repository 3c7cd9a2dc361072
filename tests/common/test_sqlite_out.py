"""`common.sqlite_out` (SQLite only): an organisation's rows read as CSV chunks of the table."""

import datetime as dt
import decimal

import polars as pl
import pytest
from django.db import connection

pytestmark = pytest.mark.skipif("connection.vendor != 'sqlite'")

SCHEMA = {"number": pl.String, "total": pl.Float64, "note": pl.String}
COLUMNS = {"number": "t.number", "total": "CAST(t.total AS REAL)", "note": "nullif(t.external_ref, '')"}


def _orders(org, customer, totals):
    from patron.orders.models import Order

    at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    return [Order.objects.create(organization=org, customer=customer, number=f"{org.slug}-{i}", ordered_at=at,
                                 total=decimal.Decimal(total), external_ref="x" if i % 2 else "")
            for i, total in enumerate(totals)]


@pytest.mark.django_db
def test_it_reads_every_row_of_the_organisation_across_chunks(monkeypatch, org, customer):
    from patron.common import sqlite_out

    monkeypatch.setattr(sqlite_out, "CHUNK_ROWS", 2)
    _orders(org, customer, ["10.50", "20", "30.25", "40", "50"])
    frame = sqlite_out.read_table(table="orders_order", organization_id=org.pk, columns=COLUMNS, schema=SCHEMA)
    assert frame.schema == pl.Schema(SCHEMA)
    assert frame.sort("number").to_dicts() == [
        {"number": f"{org.slug}-{i}", "total": total, "note": "x" if i % 2 else None}
        for i, total in enumerate([10.5, 20.0, 30.25, 40.0, 50.0])
    ]


@pytest.mark.django_db
def test_it_applies_the_filter_and_leaves_other_organisations_out(monkeypatch, org, customer, other_org):
    from patron.common import sqlite_out, tenancy
    from patron.customers.models import Customer

    monkeypatch.setattr(sqlite_out, "CHUNK_ROWS", 3)
    _orders(org, customer, ["1", "2", "3", "4"])
    with tenancy.scope(other_org):
        stranger = Customer.objects.create(organization=other_org, name="Stranger")
        _orders(other_org, stranger, ["100", "200"])
    frame = sqlite_out.read_table(table="orders_order", organization_id=org.pk, columns=COLUMNS, schema=SCHEMA,
                                  where="CAST(t.total AS REAL) >= %s", params=[2])
    assert sorted(frame["total"].to_list()) == [2.0, 3.0, 4.0]


@pytest.mark.django_db
def test_it_gives_an_empty_frame_of_the_schema_when_nothing_matches(org, customer):
    from patron.common import sqlite_out

    assert sqlite_out.read_table(table="orders_order", organization_id=org.pk, columns=COLUMNS,
                                 schema=SCHEMA).shape == (0, 3)
    _orders(org, customer, ["5"])
    frame = sqlite_out.read_table(table="orders_order", organization_id=org.pk, columns=COLUMNS, schema=SCHEMA,
                                  where="t.number = %s", params=["none"])
    assert frame.shape == (0, 3) and frame.schema == pl.Schema(SCHEMA)


def test_columns_and_schema_must_agree():
    import uuid

    from patron.common import sqlite_out

    with pytest.raises(ValueError, match="same columns"):
        sqlite_out.read_table(table="orders_order", organization_id=uuid.uuid4(), columns={"a": "t.a"},
                              schema={"b": pl.String})


@pytest.fixture
def file_copy(tmp_path, monkeypatch):
    """Large reads of a database file run in child processes, which cannot see the tests'
    in-memory database: give them a file copy of it, and let every read take that path."""
    from patron.common import sqlite_out

    def copy() -> str:
        path = str(tmp_path / "copy.sqlite3")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [path])
        monkeypatch.setattr(sqlite_out, "_file_for_children",
                            lambda first, last: path if last - first >= sqlite_out.PROCESS_MIN_ROWS else None)
        monkeypatch.setattr(sqlite_out, "PROCESS_MIN_ROWS", 0)
        return path

    return copy


@pytest.mark.django_db(transaction=True)
def test_child_processes_read_the_same_rows_in_the_same_order(monkeypatch, file_copy, caplog, org, customer,
                                                              other_org):
    from patron.common import sqlite_out, tenancy
    from patron.customers.models import Customer
    from patron.orders.models import Order

    monkeypatch.setattr(sqlite_out, "CHUNK_ROWS", 2)
    orders = _orders(org, customer, ["1", "2", "3", "4", "5", "6", "7"])
    Order.objects.filter(pk=orders[2].pk).update(status=Order.Status.CANCELLED)
    with tenancy.scope(other_org):
        stranger = Customer.objects.create(organization=other_org, name="Stranger")
        _orders(other_org, stranger, ["100", "200"])
    # A choice and a decimal as parameters, and a literal % in the SQL (written %%), which
    # the children must bind and read as Django does here.
    columns = {**COLUMNS, "note": "strftime('%%Y', t.ordered_at) || nullif(t.external_ref, '')"}
    kwargs = {"table": "orders_order", "organization_id": org.pk, "columns": columns, "schema": SCHEMA,
              "where": "t.status <> %s AND t.total > %s", "params": [Order.Status.CANCELLED, decimal.Decimal("0.5")]}
    here = sqlite_out.read_table(**kwargs)
    assert here["note"].to_list() == [None, "2026x", "2026x", None, "2026x", None]
    file_copy()
    calls = []
    original = sqlite_out._read_in_children
    monkeypatch.setattr(sqlite_out, "_read_in_children", lambda *a: calls.append(a[0]) or original(*a))
    children = sqlite_out.read_table(**kwargs)
    assert calls, "the read did not go to child processes"
    assert "child processes failed" not in caplog.text  # read by the children, not by the fallback
    assert children.schema == pl.Schema(SCHEMA)
    assert children.to_dicts() == here.to_dicts()
    assert children["total"].to_list() == [1.0, 2.0, 4.0, 5.0, 6.0, 7.0]  # rowid order, the cancelled one out


@pytest.mark.django_db(transaction=True)
def test_it_reads_in_this_process_when_the_children_fail(monkeypatch, file_copy, caplog, org, customer):
    import concurrent.futures.process

    from patron.common import sqlite_out

    _orders(org, customer, ["1", "2", "3"])
    file_copy()

    def broken(*args):
        raise concurrent.futures.process.BrokenProcessPool("a child died")

    monkeypatch.setattr(sqlite_out, "_read_in_children", broken)
    frame = sqlite_out.read_table(table="orders_order", organization_id=org.pk, columns=COLUMNS, schema=SCHEMA)
    assert frame["total"].to_list() == [1.0, 2.0, 3.0]
    assert "reading orders_order in child processes failed" in caplog.text


@pytest.mark.django_db
def test_no_children_read_what_a_transaction_or_an_in_memory_database_holds():
    from django.db import transaction

    from patron.common import sqlite_out

    assert connection.is_in_memory_db()  # the tests' database
    assert sqlite_out._file_for_children(0, sqlite_out.PROCESS_MIN_ROWS) is None
    with transaction.atomic():
        assert sqlite_out._file_for_children(0, sqlite_out.PROCESS_MIN_ROWS) is None


@pytest.mark.django_db(transaction=True)
def test_it_says_whether_a_read_would_go_to_child_processes(monkeypatch, file_copy, org, customer):
    from patron.common import sqlite_out

    def asked() -> bool:
        return sqlite_out.reads_in_children(table="orders_order", organization_id=org.pk)

    _orders(org, customer, ["1", "2", "3", "4", "5", "6"])
    assert not asked()  # the tests' database is in memory: no children
    file_copy()
    monkeypatch.setattr(sqlite_out, "PROCESS_MIN_ROWS", 6)
    assert not asked()  # rowids 1 to 6: a span of 5
    monkeypatch.setattr(sqlite_out, "PROCESS_MIN_ROWS", 5)
    assert asked()
    assert not sqlite_out.reads_in_children(table="orders_orderline", organization_id=org.pk)  # no rows
