"""Reads for the home page: the signed-in user's day at a glance."""

import datetime as dt
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from patron.activities.models import Interaction, Task
from patron.sales.models import Opportunity, Stage

RECENT_ACTIVITY = 10


def my_due_tasks(*, user: Any, now: dt.datetime) -> QuerySet[Task]:
    """My open tasks due before the end of today (local time), overdue ones first."""
    local = timezone.localtime(now)
    end_of_today = local.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    return (
        Task.objects.visible_to(user)
        .filter(owner=user, status=Task.Status.OPEN, due_at__lt=end_of_today)
        .select_related("customer", "lead")
        .order_by("due_at")
    )


def my_open_opportunities_by_stage(*, user: Any) -> list[dict[str, Any]]:
    """Count and amount of my open opportunities per stage, in pipeline order."""
    rows = (
        Opportunity.objects.visible_to(user)
        .filter(owner=user, outcome=Stage.Outcome.OPEN)
        .values("pipeline__name", "stage__name", "stage__position")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("pipeline__name", "stage__position")
    )
    return list(rows)


def my_customers_recent_activity(*, user: Any, limit: int = RECENT_ACTIVITY) -> QuerySet:
    """The newest interactions with customers I own, among those I may see."""
    return (
        Interaction.objects.visible_to(user)
        .filter(customer__owner=user)
        .select_related("customer", "owner")
        .order_by("-occurred_at")[:limit]
    )
