"""The periodic cleaning of customer data: flag what needs a human, once per period.

Three kinds of finding, each turned into a task for the customer's owner:

- ``invalid``: a phone that is not a valid number or an e-mail that is not an address
  (records imported before standardisation, or typed through a path that skipped it);
- ``stale``: a customer untouched (no edit, contact or order) for `stale_days`;
- ``duplicate``: a likely duplicate pair filed in the review queue during this period.

Idempotent: each task carries the dedupe key ``clean:<kind>:<customer>:<period>`` (the period
is the ISO week of `as_of`), so running the job twice, or daily, creates at most one task per
customer per kind per week. Customers without an owner (the public pool) get no task.
"""

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from patron.accounts import permissions
from patron.accounts.models import User
from patron.activities import services as activities
from patron.activities.models import Task
from patron.common import bulk, standardize
from patron.customers import dedupe
from patron.customers.models import Customer, DuplicatePair

logger = logging.getLogger(__name__)
KINDS = ("invalid", "stale", "duplicate")


@dataclass
class CleaningReport:
    """What one run found and did, per kind of finding."""

    found: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    tasks_created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    new_pairs: int = 0
    without_owner: int = 0


def period_of(as_of: dt.date) -> str:
    year, week, _day = as_of.isocalendar()
    return f"{year}-W{week:02d}"


def _start_of(as_of: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(as_of, dt.time.min))


def contact_problems(phone: str, email: str, *, region: str) -> list[str]:
    """What is wrong with a customer's phone and e-mail ([] when both are fine or blank)."""
    problems = []
    for name, value, check in (
        ("phone", phone, lambda v: standardize.normalize_phone(v, region=region)),
        ("email", email, standardize.normalize_email),
    ):
        if value:
            try:
                check(value)
            except ValidationError:
                problems.append(name)
    return problems


def invalid_customers(*, region: str) -> Iterator[tuple[Any, Any, list[str]]]:
    """(customer id, owner id, problems) for customers with an invalid phone or e-mail."""
    rows = Customer.objects.filter(is_archived=False).exclude(phone="", email="")
    for pk, owner_id, phone, email in rows.values_list("pk", "owner_id", "phone", "email").iterator(
        chunk_size=20_000
    ):
        if problems := contact_problems(phone, email, region=region):
            yield pk, owner_id, problems


def stale_customers(*, as_of: dt.date, stale_days: int) -> list[tuple[Any, Any, list[str]]]:
    """(customer id, owner id, []) for customers with no edit, contact or order since the cutoff."""
    cutoff = _start_of(as_of) - dt.timedelta(days=stale_days)
    rows = Customer.objects.filter(is_archived=False, updated_at__lt=cutoff).exclude(
        Q(last_contacted_at__gte=cutoff) | Q(last_ordered_at__gte=cutoff)
    )
    return [(pk, owner_id, []) for pk, owner_id in rows.values_list("pk", "owner_id")]


def duplicate_customers(*, as_of: dt.date) -> list[tuple[Any, Any, list[str]]]:
    """(customer id, owner id, [other customer id]) for both sides of the open pairs filed
    since the start of the period."""
    week_start = as_of - dt.timedelta(days=as_of.weekday())
    pairs = DuplicatePair.objects.filter(
        status=DuplicatePair.Status.OPEN, created_at__gte=_start_of(week_start)
    )
    found = []
    for a_id, a_owner, b_id, b_owner in pairs.values_list(
        "a_id", "a__owner_id", "b_id", "b__owner_id"
    ):
        found += [(a_id, a_owner, [str(b_id)]), (b_id, b_owner, [str(a_id)])]
    return found


TITLES = {
    "invalid": lambda name: _("Check the contact details of %(name)s") % {"name": name},
    "stale": lambda name: _("Follow up %(name)s: no activity for a long time") % {"name": name},
    "duplicate": lambda name: _("Review a possible duplicate of %(name)s") % {"name": name},
}


def _flag(
    kind: str, findings: list, *, as_of: dt.date, report: CleaningReport, limit: int | None
) -> None:
    """Create the missing tasks for one kind of finding, at most one per customer."""
    period = period_of(as_of)
    by_customer = {}
    for pk, owner_id, detail in findings:
        if owner_id is None:
            report.without_owner += 1
        else:
            by_customer.setdefault(pk, (owner_id, detail))
    report.found[kind] += len(by_customer)
    keys = {pk: f"clean:{kind}:{pk}:{period}" for pk in by_customer}
    done = set(
        Task.objects.filter(dedupe_key__in=list(keys.values())).values_list("dedupe_key", flat=True)
    )
    todo = [pk for pk in by_customer if keys[pk] not in done][:limit]
    owners = User.objects.select_related("organization").filter(  # its language: for owners without one
        pk__in={by_customer[pk][0] for pk in todo}, is_active=True
    ).in_bulk()
    customers = Customer.objects.in_bulk(todo)
    # A run for a day long past (--as-of) makes tasks due from now: a task due more than a
    # year back is refused (`activities.services`), and it would only be overdue at once.
    due = max(_start_of(as_of) + dt.timedelta(days=7), timezone.now())
    for pk in todo:
        owner = owners.get(by_customer[pk][0])
        if owner is None or not permissions.can_create(owner, "tasks"):
            continue
        with owner.in_their_language():
            title = TITLES[kind](customers[pk].name)
            # An invalid finding names fields (phone, email): by their labels, in the same language.
            notes = pgettext("list separator", "; ").join(
                str(Customer._meta.get_field(d).verbose_name) if kind == "invalid" else d for d in by_customer[pk][1])
        # The owner files the task for themselves: the job acts on their behalf.
        activities.task_create(
            user=owner,
            owner=owner,
            customer=customers[pk],
            title=title,
            due_at=due,
            notes=notes,
            dedupe_key=keys[pk],
        )
        report.tasks_created[kind] += 1


def clean_organization(
    *,
    organization: Any,
    as_of: dt.date,
    stale_days: int = 180,
    since: dt.datetime | None = None,
    limit: int | None = None,
) -> CleaningReport:
    """Run the cleaning for the organisation in scope (call inside `tenancy.scope`).

    `since` restricts the duplicate scan to customers changed since then (all when None);
    `limit` caps the tasks created per kind in one run (the rest come in the next run).
    """
    report = CleaningReport()
    report.new_pairs = len(dedupe.duplicate_scan(organization=organization, since=since))
    # Days begin at the organisation's midnight (`_start_of`), as its `as_of` date does: on
    # the server's (UTC), a Monday run before 08:00 in Shanghai would take the week's new
    # pairs to begin after the ones just found.
    with timezone.override(organization.zone):
        findings = {
            "invalid": list(invalid_customers(region=organization.phone_region)),
            "stale": stale_customers(as_of=as_of, stale_days=stale_days),
            "duplicate": duplicate_customers(as_of=as_of),
        }
        for kind in KINDS:
            _flag(kind, findings[kind], as_of=as_of, report=report, limit=limit)
    return report


def keep_statistics() -> None:
    """SQLite's planner statistics for the tables people grow by hand, a customer at a time;
    once per cleaning run, for every organisation (they describe whole tables).

    Imports and the demo load refresh them after their writes; a database that grew without
    either would have none, and SQLite would read a phone or e-mail lookup through an index
    that starts with the organisation, that is every customer of it. A table whose size is
    within a tenth of what its statistics counted keeps them (`bulk.analyze`), so most runs
    cost a count. PostgreSQL's autovacuum keeps its own.
    """
    from patron.sales.models import Lead  # leads are grown by hand too

    if connection.vendor != "sqlite":
        return
    try:
        with transaction.atomic():
            bulk.analyze(Customer, Lead)
    except DatabaseError:  # the findings are filed: fresh statistics can wait for the next run
        logger.warning("Could not refresh the planner's statistics", exc_info=True)
