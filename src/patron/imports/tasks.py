"""Background work for imports: thin tasks taking primary keys, calling the services."""

from django.tasks import task

from patron.organizations.context import working_for


@task
def import_job_run(job_id: str, organization_id: str) -> dict[str, int]:
    """Run (or resume) an import job; enqueued on commit by `services.import_start`."""
    from patron.imports import services
    from patron.imports.models import ImportJob

    with working_for(organization_id):
        job = ImportJob.objects.select_related("created_by__organization").get(pk=job_id)
        job = services.import_run(job=job)
        return {
            "created": job.rows_created,
            "updated": job.rows_updated,
            "unchanged": job.rows_unchanged,
            "rejected": job.rows_rejected,
        }


@task
def export_job_run(job_id: str, organization_id: str) -> dict[str, int]:
    """Write a long customer list's export; enqueued on commit by `exports.export_queue`."""
    from patron.imports import exports
    from patron.imports.models import ExportJob

    with working_for(organization_id):
        job = ExportJob.objects.select_related("created_by__organization").get(pk=job_id)
        job = exports.export_run(job=job)
        return {"rows": job.rows}
