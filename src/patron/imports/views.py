"""Import pages (upload, mapping, preview, progress, rejected rows) and the customers export."""

from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from patron.accounts import permissions
from patron.accounts.capabilities import Scope
from patron.imports import exports, readers, services
from patron.imports.forms import ExportForm, FrameForm, MappingForm, UploadForm
from patron.imports.models import ExportJob, ImportJob


def _jobs(user: Any) -> Any:
    """The imports `user` may see: their own, or all of them for administrators."""
    jobs = ImportJob.objects.select_related("created_by__organization")
    if user.scope_for("admin.manage") >= Scope.ORGANIZATION:
        return jobs
    return jobs.filter(created_by=user)


def _job(user: Any, pk: Any) -> ImportJob:
    try:
        return _jobs(user).get(pk=pk)
    except ImportJob.DoesNotExist:
        raise Http404 from None


def _may_import(user: Any) -> bool:
    return any(permissions.can_create(user, r) for r in services.RESOURCE.values())


@login_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    """The imports the user may see, and their own background exports still kept."""
    jobs = _jobs(request.user).order_by("-created_at")[:50]
    mine = ExportJob.objects.filter(created_by=request.user).order_by("-created_at")[:50]
    return render(
        request,
        "imports/importjob_list.html",
        {
            "jobs": jobs,
            "may_import": _may_import(request.user),
            "exports": [job for job in mine if exports.may_download(request.user, job)],
            "keep_days": exports.EXPORT_KEEP_DAYS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_create(request: HttpRequest) -> HttpResponse:
    if not _may_import(request.user):
        raise PermissionDenied
    kinds = [k for k, r in services.RESOURCE.items() if permissions.can_create(request.user, r)]
    form = UploadForm(request.POST or None, request.FILES or None, kinds=kinds)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.import_create(
                user=request.user, file=upload, name=upload.name, kind=form.cleaned_data["kind"]
            )
        except permissions.PermissionDenied:
            form.add_error("kind", _("You may not import records of this kind."))
        except ValidationError as exc:
            form.add_error("file", exc.message_dict.get("file", exc.messages))
        else:
            return redirect("imports:import-mapping", pk=job.pk)
    status = 400 if form.errors else 200
    return render(request, "imports/importjob_form.html", {"form": form}, status=status)


def _mapping_page(
    request: HttpRequest,
    job: ImportJob,
    table: readers.Table,
    form: MappingForm | None = None,
    frame: FrameForm | None = None,
) -> HttpResponse:
    form = form or MappingForm(job=job, headers=table.labels)
    frame = frame or FrameForm(table=table)
    context = {
        "job": job,
        "form": form,
        "frame": frame,
        "columns": list(zip(form.column_fields(), readers.samples(table), strict=True)),
        "framed": table.format != "vcard",  # a vCard has no sheets nor header row
    }
    status = 400 if form.errors or frame.errors else 200
    return render(request, "imports/importjob_mapping.html", context, status=status)


def _uploaded(request: HttpRequest, pk: Any) -> tuple[ImportJob, readers.Table | HttpResponse]:
    """The job still waiting for its mapping and its file opened; else where to go instead."""
    job = _job(request.user, pk)
    if job.status != ImportJob.Status.UPLOADED:
        return job, redirect("imports:import-detail", pk=job.pk)
    try:
        return job, services.job_table(job)
    except readers.ReaderError as exc:
        return job, render(request, "imports/importjob_detail.html", {"job": job, "error": exc}, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: Any) -> HttpResponse:
    job, table = _uploaded(request, pk)
    if isinstance(table, HttpResponse):
        return table
    form = MappingForm(request.POST or None, job=job, headers=table.labels)
    if request.method == "POST" and form.is_valid():
        try:
            services.import_configure(
                job=job,
                user=request.user,
                columns=form.columns(),
                key_field=form.cleaned_data["key_field"],
                owner_rule=form.cleaned_data["owner_rule"],
                owner_team=form.cleaned_data["owner_team"],
                day_first=form.cleaned_data["day_first"],
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
            for field_name, messages in errors.items():
                form.add_error(field_name if field_name in form.fields else None, messages)
        else:
            return redirect("imports:import-preview", pk=job.pk)
    return _mapping_page(request, job, table, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def import_frame(request: HttpRequest, pk: Any) -> HttpResponse:
    """Read the column names from another sheet or row, then map them again. (A GET, e.g.
    the language switched on a refused change's page, goes back to the mapping.)"""
    if request.method == "GET":
        return redirect("imports:import-mapping", pk=pk)
    job, table = _uploaded(request, pk)
    if isinstance(table, HttpResponse):
        return table
    frame = FrameForm(request.POST, table=table)
    if frame.is_valid():
        try:
            services.import_reframe(
                job=job,
                user=request.user,
                sheet=frame.cleaned_data["sheet"] or "",
                header_row=frame.cleaned_data["header_row"],
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
            for field_name, messages in errors.items():
                frame.add_error(field_name if field_name in frame.fields else None, messages)
        else:
            return redirect("imports:import-mapping", pk=job.pk)
    return _mapping_page(request, job, table, frame=frame)


@login_required
@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, pk: Any) -> HttpResponse:
    job = _job(request.user, pk)
    if request.method == "POST":
        try:
            services.import_start(job=job, user=request.user)
        except ValidationError as exc:
            return render(
                request,
                "imports/importjob_detail.html",
                {"job": job, "error": " ".join(exc.messages)},
                status=400,
            )
        return redirect("imports:import-detail", pk=job.pk)
    try:
        preview = services.import_prepare(job=job, user=request.user)
    except readers.ReaderError as exc:
        return render(request, "imports/importjob_detail.html", {"job": job, "error": exc}, status=400)
    except ValidationError as exc:  # the team chosen to share among has nobody left
        error = " ".join(exc.messages)
        return render(request, "imports/importjob_detail.html", {"job": job, "error": error}, status=400)
    return render(request, "imports/importjob_preview.html", {"job": job, "preview": preview})


@login_required
@require_GET
@vary_on_headers("HX-Request")
def import_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    job = _job(request.user, pk)
    template = "imports/importjob_detail.html" + ("#progress" if request.htmx else "")
    running = job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
    return render(request, template, {"job": job, "running": running})


@login_required
@require_GET
def import_rejected(request: HttpRequest, pk: Any) -> HttpResponse:
    job = _job(request.user, pk)
    data = services.rejected_rows_file(job=job)
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    name = f"{job.original_name.rsplit('.', 1)[0]}-rejected.csv"
    response["Content-Disposition"] = _attachment(name)
    return response


def _attachment(name: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename=\"export.{name.rsplit('.', 1)[-1]}\"; filename*=UTF-8''{quote(name)}"


def _invalid_export(errors: dict[str, list[str]]) -> HttpResponse:
    """400 naming each parameter of the export that is not valid, and why (the address is often
    written by hand or by a script: "format=pdf", "team=zzz")."""
    lines = [_("The export's filters are not valid:")]
    lines += [f"{name}: {' '.join(messages)}" for name, messages in errors.items()]
    return HttpResponseBadRequest("\n".join(lines), content_type="text/plain; charset=utf-8")


@login_required
@require_http_methods(["GET", "POST"])
def customer_export(request: HttpRequest) -> HttpResponse:
    """The customer list, filtered by the list page's query string, as CSV or XLSX: at once
    when short; when long, a page that asks (a GET writes nothing), whose POST queues a
    background export and takes the user to it."""
    params = request.POST if request.method == "POST" else request.GET
    options = ExportForm(params)
    query = {k: v for k, v in params.items() if k not in ("format", "sensitive", "csrfmiddlewaretoken")}
    errors: dict[str, list[str]] = {}
    try:
        queryset = exports.customer_queryset(user=request.user, query=query)
    except exports.InvalidFilters as error:
        errors.update({name: list(messages) for name, messages in error.errors.items()})
    except ValueError:
        return HttpResponseBadRequest(_("The export's filters are not valid."))
    if not options.is_valid():
        errors.update({name: list(messages) for name, messages in options.errors.items()})
    if errors:
        return _invalid_export(errors)
    fmt = options.cleaned_data["format"] or "csv"
    sensitive = exports.in_clear(request.user, options.cleaned_data["sensitive"])
    try:
        if request.method == "POST":
            job = exports.export_queue(
                user=request.user, query=query, format=fmt, include_sensitive=sensitive
            )
            return redirect("imports:export-detail", pk=job.pk)
        if request.user.scope_for("customers.export") == 0:
            raise permissions.PermissionDenied("customers.export")
        if exports.is_long(queryset):
            return render(
                request,
                "imports/exportjob_confirm.html",
                {
                    "query": query,
                    "format": fmt,
                    "sensitive": sensitive,
                    "rows": exports.DIRECT_MAX_ROWS,
                    "keep_days": exports.EXPORT_KEEP_DAYS,
                },
            )
        data, _count = exports.customer_export(
            user=request.user, queryset=queryset, query=query, format=fmt, include_sensitive=sensitive
        )
    except permissions.PermissionDenied:
        raise PermissionDenied from None
    response = HttpResponse(data, content_type=exports.CONTENT_TYPES[fmt])
    response["Content-Disposition"] = _attachment(
        exports.export_name(user=request.user, query=query, format=fmt, sensitive=sensitive)
    )
    return response


def _export_job(request: HttpRequest, pk: Any) -> ExportJob:
    """An export of the user's own, while they may still have it: nobody else may see
    another's file, administrators included (it may hold contact details in clear)."""
    job = ExportJob.objects.filter(pk=pk).first()
    if job is None or not exports.may_download(request.user, job):
        raise Http404
    return job


@login_required
@require_GET
@vary_on_headers("HX-Request")
def export_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    job = _export_job(request, pk)
    running = job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING)
    template = "imports/exportjob_detail.html" + ("#progress" if request.htmx else "")
    return render(request, template, {"job": job, "running": running})


@login_required
@require_GET
def export_file(request: HttpRequest, pk: Any) -> HttpResponse:
    job = _export_job(request, pk)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    response = FileResponse(job.file.open("rb"), content_type=exports.CONTENT_TYPES[job.format])
    response["Content-Disposition"] = _attachment(Path(job.file.name).name)
    return response


@login_required
@require_POST
def import_retry(request: HttpRequest, pk: Any) -> HttpResponse:
    """Resume a failed or stalled import from its checkpoint."""
    from patron.imports import tasks

    job = _job(request.user, pk)
    if job.status in (ImportJob.Status.FAILED, ImportJob.Status.RUNNING, ImportJob.Status.QUEUED):
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
        args = (str(job.pk), str(job.organization_id))
        transaction.on_commit(lambda: tasks.import_job_run.enqueue(*args))
    return redirect("imports:import-detail", pk=job.pk)
