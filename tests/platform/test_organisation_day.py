"""An organisation's "today" is the date where it works, not the server's."""

import datetime as dt

import pytest
from django.utils import timezone


@pytest.mark.parametrize(("zone", "day"), [("Asia/Shanghai", 7), ("UTC", 6), ("America/Los_Angeles", 6)])
def test_today_is_the_date_in_the_organisations_time_zone(monkeypatch, zone, day):
    from patron.organizations.models import Organization

    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 12, 6, 16, 30, tzinfo=dt.UTC))
    assert Organization(time_zone=zone).today() == dt.date(2026, 12, day)


def test_a_time_zone_that_is_not_one_reads_as_utc_and_pages_still_open(client, owner):
    from django.urls import reverse

    from patron.organizations.models import Organization

    assert Organization(time_zone="Mars/Olympus_Mons").zone == dt.UTC
    Organization.objects.filter(pk=owner.organization_id).update(time_zone="Mars/Olympus_Mons")
    client.force_login(owner)
    assert client.get(reverse("activities:task-list")).status_code == 200
