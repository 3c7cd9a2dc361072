"""Background work on customers: thin tasks taking primary keys, calling the services."""

from django.tasks import task

from patron.organizations.context import working_for


@task
def duplicate_scan_run(organization_id: str) -> int:
    """File the organisation's likely duplicates in the review queue (`dedupe.duplicate_scan`)."""
    from patron.customers import dedupe

    with working_for(organization_id) as organization:
        try:
            return len(dedupe.duplicate_scan(organization=organization))
        finally:
            dedupe.scan_release(organization_id=organization.pk)
