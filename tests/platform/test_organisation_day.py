"""An organisation's "today" is the date where it works, not the server's."""

import datetime as dt

import pytest
from django.utils import timezone


@pytest.mark.parametrize(("zone", "day"), [("Asia/Shanghai", 7), ("UTC", 6), ("America/Los_Angeles", 6)])
def test_today_is_the_date_in_the_organisations_time_zone(monkeypatch, zone, day):
    from patron.organizations.models import Organization

    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 12, 6, 16, 30, tzinfo=dt.UTC))
    assert Organization(time_zone=zone).today() == dt.date(2026, 12, day)
