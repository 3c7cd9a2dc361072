"""The bulk readers count the organisation's local days on every database: an order just past
local midnight belongs to the next day, whatever the database stores (UTC)."""

import datetime as dt
import uuid
import zoneinfo

import pytest

from patron.insights import readers
from patron.orders import services as orders


def test_order_lines_are_read_between_local_midnights(org, owner, customer, product):
    tz = zoneinfo.ZoneInfo(org.time_zone)  # Asia/Shanghai: UTC+8, so the UTC date differs

    def ordered(*when: int):
        return orders.order_create(user=owner, customer=customer, ordered_at=dt.datetime(*when, tzinfo=tz),
                                   lines=[{"product": product}])

    until = readers._day_bounds(dt.date(2026, 3, 1), org.time_zone)  # 2026-03-02 00:00 local
    since = until - dt.timedelta(days=365)  # 2025-03-02 00:00 local
    ordered(2025, 3, 1, 23, 30)  # before the window
    first = ordered(2025, 3, 2, 1, 0)  # its first local hours: 2025-03-01 17:00 UTC
    last = ordered(2026, 3, 1, 23, 30)
    ordered(2026, 3, 2, 2, 0)  # after as_of: the future for this refresh
    frame = readers.read_order_lines(organization_id=org.pk, since=since, until=until)
    keys = [uuid.UUID(bytes=k) if isinstance(k, bytes) else uuid.UUID(k) for k in frame["order_id"].to_list()]
    assert sorted(keys) == sorted([first.pk, last.pk])
    assert set(frame["customer_id"].to_list()) == {str(customer.pk)}


@pytest.mark.parametrize("sqlite_version", [(3, 37, 2), (3, 45, 0)], ids=["text-times", "unixepoch"])
def test_purchases_are_summed_per_local_day(org, owner, customer, product, monkeypatch, sqlite_version):
    """Both ways SQLite's times are read (unixepoch() from 3.38 on, else text) give the same
    local days, to the last fraction of a second before midnight."""
    monkeypatch.setattr(readers.sqlite3, "sqlite_version_info", sqlite_version)
    tz = zoneinfo.ZoneInfo(org.time_zone)

    def ordered(*when: int, micro: int = 0):
        return orders.order_create(user=owner, customer=customer,
                                   ordered_at=dt.datetime(*when, microsecond=micro, tzinfo=tz),
                                   lines=[{"product": product, "quantity": 1}])

    late = ordered(2026, 3, 1, 23, 59, 59, micro=900_000)  # 15:59:59.9 UTC
    early = ordered(2026, 3, 2, 0, 0, 0, micro=500_000)  # the next local day, same UTC date
    also = ordered(2026, 3, 2, 7, 59)  # 23:59 UTC of the day before
    ordered(2026, 3, 3, 0, 0, 1)  # after as_of
    frame = readers.read_purchases(organization_id=org.pk, as_of=dt.date(2026, 3, 2), tz=org.time_zone)
    got = {(r["date"], r["orders"]): r["amount"] for r in frame.sort("date").iter_rows(named=True)}
    assert set(frame["customer_id"]) == {str(customer.pk)}
    assert got == pytest.approx({(dt.date(2026, 3, 1), 1): float(late.total),
                                 (dt.date(2026, 3, 2), 2): float(early.total + also.total)})


def test_a_days_purchases_add_up_exactly_whatever_their_order():
    import polars as pl

    at = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    orders = pl.DataFrame({"customer_id": ["a"] * 3 + ["b"], "ordered_at": [at] * 4, "amount": [0.1, 0.1, 0.1, 0.3]})
    days = [readers._by_local_day(orders.sample(fraction=1.0, shuffle=True, seed=seed), customer=pl.col("customer_id"),
                                  instant=pl.col("ordered_at"), tz="Asia/Shanghai").sort("customer_id")
            for seed in range(5)]
    # Summed as floats, three orders of 0.10 came to 0.30000000000000004.
    assert all(d["amount"].to_list() == [0.3, 0.3] for d in days)
    assert days[0]["orders"].to_list() == [3, 1]
