"""`common.sqlite_out` (SQLite only): an organisation's rows read as CSV chunks of the table."""

import datetime as dt
import decimal

import polars as pl
import pytest
from django.db import connection  # noqa: F401 (read by the skipif condition)

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
