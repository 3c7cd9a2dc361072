"""Logging interactions and managing tasks."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.accounts import permissions
from patron.activities.models import Interaction, Task
from patron.audit import services as audit
from patron.common import bounds
from patron.common.services import model_update
from patron.customers.models import Customer
from patron.sales.models import Lead


@transaction.atomic
def interaction_log(
    *, user: Any, kind: str, customer: Customer | None = None, lead: Lead | None = None,
    subject: str = "", body: str = "", occurred_at: dt.datetime | None = None,
    direction: str = Interaction.Direction.OUTBOUND, opportunity: Any = None, outcome: str = "",
) -> Interaction:
    if customer is None and lead is None:
        raise ValidationError(_("An interaction belongs to a customer or a lead."))
    for target in (customer, lead):
        if target is not None and not permissions.can(user, "view", target):
            raise permissions.PermissionDenied("interactions.add")
    if not permissions.can_create(user, "interactions"):
        raise permissions.PermissionDenied("interactions.add")
    if occurred_at is not None:
        # An interaction is something that happened: logged in the future it would stand as
        # the customer's last contact for years, hiding them from the pool and churn rules.
        bounds.check_happened(occurred_at, field="occurred_at",
                              too_early=_("An interaction cannot be dated before 1900."),
                              too_late=_("An interaction cannot be in the future."))
    interaction = Interaction(
        organization_id=user.organization_id, owner=user, owner_team_id=user.team_id, kind=kind,
        direction=direction, customer=customer, lead=lead, opportunity=opportunity, outcome=outcome or "",
        subject=subject.strip(), body=body.strip(), occurred_at=occurred_at or timezone.now(),
    )
    interaction.full_clean(exclude=["organization", "owner", "owner_team", "customer", "lead", "opportunity", "contact"])
    interaction.save()
    # Keep the "last contacted" the pool rules and the churn signals read.
    for model, target in ((Customer, customer), (Lead, lead)):
        if target is not None:
            model.objects.filter(pk=target.pk).exclude(
                last_contacted_at__gte=interaction.occurred_at
            ).update(last_contacted_at=interaction.occurred_at)
    audit.record("interaction.logged", obj=interaction, user=user,
                 data={"customer": customer.pk if customer else None, "lead": lead.pk if lead else None,
                       "outcome": interaction.outcome})
    if customer is not None and interaction.outcome in Interaction.SIGNAL_OUTCOMES:
        # A complaint or lost contact is a trigger: rescore this customer now, not at the
        # next full refresh, so a churn alert can reach the owner today.
        from patron.insights import tasks

        tasks.rescore_on_commit(customer)
    return interaction


@transaction.atomic
def task_create(
    *, user: Any, title: str, due_at: dt.datetime, owner: Any = None, customer: Customer | None = None,
    lead: Lead | None = None, opportunity: Any = None, notes: str = "", remind_at: dt.datetime | None = None,
    channel: str = "", dedupe_key: str | None = None,
) -> Task:
    if not permissions.can_create(user, "tasks"):
        raise permissions.PermissionDenied("tasks.add")
    owner = owner or user
    if owner.organization_id != user.organization_id:
        raise permissions.PermissionDenied("tasks.add")
    # A task for someone else: only within the reach of the user's right to add tasks (a rep's
    # is their own, a manager's their teams', service staff's anyone's). A rep gave tasks to
    # other teams' reps, which they could not even see afterwards.
    if owner.pk != user.pk and not permissions.in_scope(user, user.scope_for("tasks.add"), owner.pk, owner.team_id):
        raise ValidationError({"owner": _("You may not give records to %(v)s.") % {"v": owner}})
    task_times_check(due_at=due_at, remind_at=remind_at)
    task = Task(
        organization_id=user.organization_id, owner=owner, owner_team_id=owner.team_id,
        title=title.strip(), due_at=due_at, remind_at=remind_at, notes=notes, channel=channel,
        customer=customer, lead=lead, opportunity=opportunity, dedupe_key=dedupe_key,
    )
    task.full_clean(exclude=["organization", "owner", "owner_team", "customer", "lead", "opportunity"])
    task.save()
    audit.record("task.created", obj=task, user=user, data={"owner": owner.pk})
    return task


# A task is work planned for a sales team: due within a year back (a follow-up noted late)
# and ten years ahead (a contract's renewal); anything further is a mistyped year.
TASK_DUE_BACK = dt.timedelta(days=366)
TASK_DUE_AHEAD = dt.timedelta(days=3653)


def task_times_check(*, due_at: dt.datetime, remind_at: dt.datetime | None = None,
                     now: dt.datetime | None = None) -> None:
    """Refuse a due time outside the range a sales team plans in, and a reminder after it."""
    now = now or timezone.now()
    bounds.check_between(due_at, field="due_at", earliest=now - TASK_DUE_BACK, latest=now + TASK_DUE_AHEAD,
                         message=_("A task must be due between a year ago and ten years from now."))
    if remind_at is not None and remind_at > due_at:
        raise ValidationError({"remind_at": _("The reminder cannot be later than the due time.")})
    if remind_at is not None and remind_at < now - TASK_DUE_BACK:
        raise ValidationError({"remind_at": _("The reminder cannot be more than a year ago.")})


@transaction.atomic
def task_complete(*, task: Task, user: Any) -> Task:
    permissions.require(user, "change", task)
    if task.status != Task.Status.OPEN:
        raise ValidationError({"status": _("This task is not open.")})
    model_update(instance=task, data={"status": Task.Status.DONE, "completed_at": timezone.now()},
                 fields=["status", "completed_at"], user=user, action="task.completed")
    return task


@transaction.atomic
def task_reschedule(*, task: Task, user: Any, due_at: dt.datetime, expected_version: int | None = None) -> Task:
    permissions.require(user, "change", task)
    # The reminder keeps its lead on the due time (an hour before stays an hour before): left
    # where it was, a task moved earlier would remind after it is due.
    remind_at = None if task.remind_at is None else task.remind_at + (due_at - task.due_at)
    task_times_check(due_at=due_at, remind_at=remind_at)
    model_update(instance=task, data={"due_at": due_at, "remind_at": remind_at, "reminded_at": None},
                 fields=["due_at", "remind_at", "reminded_at"], user=user, expected_version=expected_version,
                 action="task.rescheduled")
    return task
