"""Background work of the value science: thin tasks over the services, keyed by primary keys."""

from typing import Any

from django.db import transaction
from django.tasks import task

from patron.organizations.context import working_for


def rescore_on_commit(*customers: Any) -> None:
    """Rescore these customers once the transaction commits: the triggers (a new order, a
    complaint or lost contact, a merge and its undo) need not wait for the full refresh."""
    for customer in customers:
        org_id, customer_id = str(customer.organization_id), str(customer.pk)
        transaction.on_commit(lambda c=customer_id, o=org_id: customer_rescore_run.enqueue(c, o))


@task
def value_refresh_run(run_id: str, organization_id: str) -> None:
    from patron.accounts import permissions
    from patron.insights import actions, services
    from patron.insights.models import ScoreRun

    with working_for(organization_id) as organization:
        run = ScoreRun.objects.get(pk=run_id)
        run = services.value_refresh(organization=organization, as_of=run.as_of, user=run.requested_by, run=run)
        if run.status == ScoreRun.Status.DONE:
            actions.churn_alerts_raise(user=permissions.system_actor(organization))
            actions.churn_alerts_close(user=permissions.system_actor(organization))


@task
def customer_rescore_run(customer_id: str, organization_id: str) -> None:
    import uuid

    from patron.accounts import permissions
    from patron.insights import actions, services

    with working_for(organization_id) as organization:
        score = services.customer_rescore(customer_id=uuid.UUID(customer_id), organization=organization)
        if score is not None:  # crossing the risk threshold now alerts the owner now, and falling below closes it
            actor = permissions.system_actor(organization)
            actions.churn_alerts_raise(user=actor, customer_ids=[score.customer_id])
            actions.churn_alerts_close(user=actor, customer_ids=[score.customer_id])


@task
def history_prune_run(organization_id: str) -> None:
    from patron.insights import services

    with working_for(organization_id):
        services.history_prune()


@task
def segments_recount_run(organization_id: str) -> None:
    from patron.insights import services

    with working_for(organization_id):
        services.segments_recount()
