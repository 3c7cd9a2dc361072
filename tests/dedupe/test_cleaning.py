"""The cleaning job: invalid contact data, stale customers and new duplicates become tasks."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from patron.activities.models import Task
from patron.customers import cleaning, services
from patron.customers.models import Customer, DuplicatePair


def test_it_names_what_is_wrong_with_contact_data():
    assert cleaning.contact_problems("+8613812345678", "a@example.com", region="CN") == []
    assert cleaning.contact_problems("12345", "not-an-address", region="CN") == ["phone", "email"]
    assert cleaning.contact_problems("", "", region="CN") == []


def test_it_names_the_period_by_iso_week():
    assert cleaning.period_of(dt.date(2026, 11, 23)) == "2026-W48"
    assert cleaning.period_of(dt.date(2027, 1, 1)) == "2026-W53"


def setup_findings(org, owner):
    # Written past the services, as an old import would have left them.
    bad = services.customer_create(user=owner, data={"name": "Bad Phone"})
    Customer.objects.filter(pk=bad.pk).update(phone="12345", email="nobody")
    old = services.customer_create(user=owner, data={"name": "Quiet One"})
    Customer.objects.filter(pk=old.pk).update(updated_at=timezone.now() - dt.timedelta(days=400))
    services.customer_create(user=owner, data={"name": "Zhou Jie", "phone": "13812345678"})
    services.customer_create(user=owner, data={"name": "Zhou Jie", "phone": "+86 138 1234 5678"})
    pooled = services.customer_create(user=owner, data={"name": "Pooled", "phone": "13900001111"})
    Customer.objects.filter(pk=pooled.pk).update(owner=None, owner_team=None, email="x@")
    return bad, old


def test_it_creates_one_task_per_customer_per_kind(org, owner, customer):
    bad, old = setup_findings(org, owner)
    report = cleaning.clean_organization(organization=org, as_of=org.today(), stale_days=180)
    assert report.new_pairs == 1 and DuplicatePair.objects.count() == 1
    assert report.tasks_created == {"invalid": 1, "stale": 1, "duplicate": 2}
    assert report.without_owner == 1
    tasks = Task.objects.all()
    assert {t.owner_id for t in tasks} == {owner.pk}
    assert Task.objects.get(dedupe_key__startswith="clean:invalid:").customer_id == bad.pk
    # In the organisation's language: the owner has not used the pages yet to choose one.
    assert Task.objects.get(dedupe_key__startswith="clean:invalid:").notes == "电话；邮箱"
    assert Task.objects.get(dedupe_key__startswith="clean:stale:").customer_id == old.pk


def test_it_creates_no_duplicate_tasks_when_run_twice(org, owner):
    setup_findings(org, owner)
    call_command(
        "clean_customers",
        "--org",
        "acme",
        "--as-of",
        org.today().isoformat(),
        stdout=open("/dev/null", "w"),
    )
    count = Task.objects.count()
    call_command(
        "clean_customers",
        "--org",
        "acme",
        "--as-of",
        org.today().isoformat(),
        stdout=open("/dev/null", "w"),
    )
    assert count == 4 and Task.objects.count() == count
    assert DuplicatePair.objects.count() == 1


def test_it_flags_again_in_the_next_period(org, owner):
    setup_findings(org, owner)
    cleaning.clean_organization(organization=org, as_of=org.today())
    report = cleaning.clean_organization(organization=org, as_of=org.today() + dt.timedelta(days=7))
    # invalid and stale again; the duplicate pair is no longer new
    assert report.tasks_created == {"invalid": 1, "stale": 1, "duplicate": 0}


def test_it_respects_the_limit(org, owner):
    for i in range(3):
        c = services.customer_create(user=owner, data={"name": f"Broken {i}"})
        Customer.objects.filter(pk=c.pk).update(email=f"broken{i}")
    report = cleaning.clean_organization(organization=org, as_of=org.today(), limit=2)
    assert report.found["invalid"] == 3 and report.tasks_created["invalid"] == 2
    report = cleaning.clean_organization(organization=org, as_of=org.today(), limit=2)
    assert report.tasks_created["invalid"] == 1


def test_a_monday_run_before_dawn_in_shanghai_flags_the_pairs_it_finds(org, owner, customer, monkeypatch):
    """Sunday 17:00 UTC is Monday 01:00 in Shanghai: the week (and its new pairs) begins at
    the organisation's midnight, before the pairs found now."""
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 12, 6, 17, 0, tzinfo=dt.UTC))
    assert org.today() == dt.date(2026, 12, 7) and org.today().isoweekday() == 1
    setup_findings(org, owner)
    report = cleaning.clean_organization(organization=org, as_of=org.today(), stale_days=180)
    assert report.new_pairs == 1 and report.tasks_created["duplicate"] == 2



def test_the_cleaning_jobs_tasks_read_in_their_owners_language(org, owner):
    from django.contrib.auth import get_user_model

    setup_findings(org, owner)
    get_user_model().objects.filter(pk=owner.pk).update(language="zh-hans")
    cleaning.clean_organization(organization=org, as_of=org.today(), stale_days=180)
    invalid = Task.objects.get(dedupe_key__startswith="clean:invalid:")
    assert invalid.notes == "电话；邮箱" and invalid.title.startswith("核对")


def test_a_cleaning_run_keeps_sqlites_planner_statistics_for_customers_grown_by_hand(
    org, owner, monkeypatch, caplog
):
    """Without statistics SQLite reads a phone or e-mail lookup through an index of the whole
    organisation; imports refresh them, and the cleaning run does for everything else."""
    from django.db import connection

    from patron.common import bulk

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's autovacuum keeps its statistics")
    setup_findings(org, owner)
    call_command("clean_customers", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE idx = 'customer_phone_idx'")
        assert cursor.fetchone()[0].startswith(f"{Customer.objects.count()} ")

    def refused(*tables):
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE no_such_table")  # fails in the database, as a lock would

    monkeypatch.setattr(bulk, "analyze", refused)
    with caplog.at_level("WARNING"):
        cleaning.keep_statistics()
    assert "Could not refresh the planner's statistics" in caplog.text
    assert Customer.objects.count() == 5  # the transaction around it is still usable


def test_a_run_for_a_day_long_past_makes_tasks_due_from_now(org, owner):
    """A task may not be due more than a year back: a run --as-of two years ago stopped there."""
    bad, _old = setup_findings(org, owner)
    report = cleaning.clean_organization(organization=org, as_of=org.today() - dt.timedelta(days=730))
    assert report.tasks_created["invalid"] == 1
    assert Task.objects.get(customer=bad).due_at >= timezone.now() - dt.timedelta(minutes=1)
