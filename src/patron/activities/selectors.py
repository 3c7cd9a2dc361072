"""Reads on tasks: my tasks, my team's, by due date, and the reminders that are due."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from patron.accounts.capabilities import Scope
from patron.activities.models import Task

UPCOMING_DAYS = 14


@dataclass
class TaskBuckets:
    overdue: list[Task]
    today: list[Task]
    upcoming: list[Task]


def sees_team_tasks(user: Any) -> bool:
    """Managers (anyone whose task scope reaches past their own) get the team view."""
    return user.scope_for("tasks.view") > Scope.OWN


def task_list(*, user: Any, whose: str = "mine") -> QuerySet[Task]:
    """Open tasks `user` may see: their own ("mine") or the others' they oversee ("team")."""
    qs = Task.objects.visible_to(user).filter(status=Task.Status.OPEN)
    qs = qs.filter(owner=user) if whose == "mine" else qs.exclude(owner=user)
    return qs.select_related("owner", "customer", "lead", "opportunity").order_by("due_at", "id")


def day_bounds(*, now: dt.datetime, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """Start and end of the local day containing `now` in `zone` (the organisation's:
    `Organization.zone`, "today" is local)."""
    local = now.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=1)


def task_buckets(
    *, user: Any, now: dt.datetime, whose: str = "mine", limit: int = 200
) -> TaskBuckets:
    """Overdue (due before now), due later today, and upcoming (the next two weeks)."""
    _start, end = day_bounds(now=now, zone=user.organization.zone)
    qs = task_list(user=user, whose=whose)
    return TaskBuckets(
        overdue=list(qs.filter(due_at__lt=now)[:limit]),
        today=list(qs.filter(due_at__gte=now, due_at__lt=end)[:limit]),
        upcoming=list(
            qs.filter(due_at__gte=end, due_at__lt=end + dt.timedelta(days=UPCOMING_DAYS))[:limit]
        ),
    )


def task_get(*, user: Any, pk: Any, action: str = "view") -> Task:
    return (
        Task.objects.visible_to(user, action).select_related("owner", "customer", "lead").get(pk=pk)
    )


def task_reminders(*, user: Any, now: dt.datetime, limit: int = 10) -> list[Task]:
    """My open tasks whose reminder time has passed, soonest due first."""
    return list(
        Task.objects.filter(
            organization_id=user.organization_id,
            owner=user,
            status=Task.Status.OPEN,
            remind_at__lte=now,
        ).order_by("due_at")[:limit]
    )
