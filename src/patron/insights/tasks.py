"""Background work of the value science: thin tasks over the services, keyed by primary keys."""

from django.tasks import task

from patron.common import tenancy


@task
def value_refresh_run(run_id: str, organization_id: str) -> None:
    from patron.insights import services
    from patron.insights.models import ScoreRun
    from patron.organizations.models import Organization

    with tenancy.scope(organization_id):
        run = ScoreRun.objects.get(pk=run_id)
        organization = Organization.objects.get(pk=organization_id)
        services.value_refresh(organization=organization, as_of=run.as_of, user=run.requested_by, run=run)


@task
def customer_rescore_run(customer_id: str, organization_id: str) -> None:
    import uuid

    from patron.insights import services
    from patron.organizations.models import Organization

    with tenancy.scope(organization_id):
        services.customer_rescore(customer_id=uuid.UUID(customer_id),
                                  organization=Organization.objects.get(pk=organization_id))
