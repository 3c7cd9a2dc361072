"""Exporting lists to CSV and XLSX with the same masking as the pages, and an audit entry.

Two rules make an export safe to hand around:
- sensitive fields go out masked unless the user may see them in clear for that very record
  *and* asked for them (`include_sensitive`);
- in CSV, a cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a
  carriage return) gets a leading apostrophe, so a customer called "=HYPERLINK(...)" stays
  text (OWASP, "CSV Injection"); in XLSX every string is written as a string cell, which is
  never a formula, so it keeps the user's text as it is.
"""

import csv
import datetime as dt
import functools
import io
import operator
import posixpath
import re
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext

from patron.accounts import permissions
from patron.audit.models import AuditEntry
from patron.audit.services import jsonable
from patron.common import masking, standardize

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CUSTOMER_FIELDS = [
    "number",
    "name",
    "kind",
    "company_name",
    "title",
    "phone",
    "email",
    "wechat",
    "region",
    "city",
    "industry",
    "source",
    "owner",
    "owner_team",
    "created_at",
    "last_ordered_at",
]


# "+86 138****6071", "+86 (21) 5555-0101": a phone number, in which no function or cell
# reference can hide.
_PHONE = re.compile(r"\+[\d\s*()\-]*")


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would evaluate gets a leading apostrophe, except a phone number
    with its "+" (every exported phone would otherwise read '+86...); numbers are kept."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PHONE.fullmatch(value):
        return "'" + value
    return value


def _cells(user: Any, model: type[Model], fields: list[str], reveal: bool) -> list[Callable[[Model], Any]]:
    """For each field, the function that gives a record's cell. Made once an export: the
    labels of a field's choices and the words for yes and no are translated here, not once a
    row (Django's `get_<field>_display` hashed and translated every label at every call: a
    third of an export's time)."""
    yes_no = {True: _("yes"), False: _("no")}
    cells = []
    for name in fields:
        field = model._meta.get_field(name)
        if masking.is_sensitive(model, name):
            read = functools.partial(_sensitive, user, name, reveal)
        elif field.is_relation:
            read = functools.partial(_related, name)
        elif field.choices:
            read = functools.partial(_choice, field.attname, {key: str(label) for key, label in field.flatchoices})
        else:
            read = operator.attrgetter(name)
        cells.append(functools.partial(_cell, read, yes_no))
    return cells


def _sensitive(user: Any, name: str, reveal: bool, obj: Model) -> Any:
    value = masking.present(user, obj, name, reveal=reveal)
    raw = getattr(obj, name)
    if name == "phone" and value == raw:  # shown in clear
        return standardize.format_phone(value)
    if isinstance(raw, dt.date) and value == raw.isoformat():  # a birthday in clear
        return raw
    return value


def _related(name: str, obj: Model) -> str:
    related = getattr(obj, name)
    return "" if related is None else str(related)


def _choice(attname: str, labels: dict[Any, str], obj: Model) -> Any:
    value = getattr(obj, attname)
    return labels.get(value, value)


def _cell(read: Callable[[Model], Any], yes_no: dict[bool, str], obj: Model) -> Any:
    value = read(obj)
    if isinstance(value, dt.datetime):  # written as text in CSV, as a date in Excel
        value = timezone.localtime(value).replace(tzinfo=None, second=0, microsecond=0)
    elif isinstance(value, dt.date):
        pass
    elif value is None:
        value = ""
    elif isinstance(value, bool):
        value = yes_no[value]
    elif not isinstance(value, (int, Decimal, str)):
        value = str(value)
    return value  # neutralised in CSV only (`_csv`): XLSX keeps text as text (`_xlsx`)


# A column beyond the model's fields: its heading, and its cell from the row's annotation.
Column = tuple[Any, Callable[[Any], Any]]


def _rows(
    user: Any, queryset: QuerySet, fields: list[str], columns: dict[str, Column], reveal: bool
) -> Iterator[list[Any]]:
    model = queryset.model
    cells = _cells(user, model, fields, reveal)
    extra = [(operator.attrgetter(name), cell) for name, (_label, cell) in columns.items()]
    # Only the columns exported and those that decide who may see a record: a customer's other
    # four timestamps, notes and search text took a third of the reading.
    owners = [name for name in ("owner", "owner_team") if any(f.name == name for f in model._meta.fields)]
    paths = [path.split("__")[0] for path in getattr(model, "visibility_paths", ()) if path]
    # The related records shown (owner, team) come with their row, whatever the caller joined.
    shown = [name for name in fields if model._meta.get_field(name).is_relation]
    loaded = queryset.select_related(*shown).only(*fields, "organization", *owners, *paths)
    for obj in loaded.iterator(chunk_size=2000):
        yield [*(cell(obj) for cell in cells), *(cell(read(obj)) for read, cell in extra)]


def _headers(model: type[Model], fields: list[str], columns: dict[str, Column]) -> list[str]:
    return [
        *(capfirst(str(model._meta.get_field(name).verbose_name)) for name in fields),
        *(str(label) for label, _cell in columns.values()),
    ]


def _rounded(places: int) -> Callable[[Any], Any]:
    return lambda value: "" if value is None else round(value, places)


class Percent(float):
    """A share (0.341): the number in CSV, for programs; shown as the pages show it (34%) in
    Excel, which keeps the number under the format."""


def _percent(value: Any) -> Any:
    return "" if value is None else Percent(round(value, 3))


def score_columns() -> dict[str, Column]:
    """The customer's current value snapshot, as the list and the segments show it (blank
    until the first refresh). The queryset is annotated by `with_current_score`."""
    from patron.insights import labels

    # A label by its key, translated once an export rather than once a row.
    segment, class8 = functools.cache(labels.segment_label), functools.cache(labels.class8_label)
    return {
        "score_segment": (_("RFM segment"), lambda key: segment(key or "")),
        "score_class8": (_("Value class"), lambda key: class8(key or "")),
        "score_clv": (_("Lifetime value (12 months)"), _rounded(2)),
        "score_churn_risk": (_("Churn risk"), _percent),
    }


def _csv(headers: list[str], rows: Iterator[list[Any]], out: BinaryIO) -> int:
    # The BOM makes Excel read the file as UTF-8 (otherwise Chinese names come out garbled).
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow(headers)
    count = 0
    for row in rows:
        writer.writerow([neutralise(_date_text(v)) for v in row])
        count += 1
    text.flush()
    text.detach()  # the caller's file stays open
    return count


def _date_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat() if isinstance(value, dt.date) else value


def _xlsx(headers: list[str], rows: Iterator[list[Any]], out: BinaryIO, title: str = "") -> int:
    """The rows as an Excel workbook, written row by row (XlsxWriter's constant-memory mode:
    a row goes to a temporary file as it is written). A 135,236-row customer export took
    29-30 s with it against 46-47 s with openpyxl's write-only workbook (bench/
    export_throughput.py). Text stays text: nothing is read as a formula, a link or a number,
    so a string is written as the user's text, with no apostrophe in front (`neutralise` is
    for CSV, where a leading "=" would run)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(out, {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False, "default_date_format": "yyyy-mm-dd", "remove_timezone": True,
    })
    sheet = workbook.add_worksheet(title[:31] or None)  # Excel allows 31 characters
    percent = workbook.add_format({"num_format": "0%"})
    moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, headers)
    count = 0
    for count, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                sheet.write_string(count, column, _ILLEGAL_IN_XML.sub("", value))
            elif isinstance(value, Percent):
                sheet.write_number(count, column, float(value), percent)
            elif isinstance(value, dt.datetime):
                sheet.write_datetime(count, column, value, moment)
            else:
                sheet.write(count, column, value)
    workbook.close()
    return count


# Characters XML 1.0 cannot hold (control characters but tab and line breaks): a cell holding
# one would make the file unreadable.
_ILLEGAL_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def export_rows(
    *,
    user: Any,
    queryset: QuerySet,
    fields: list[str],
    format: str,
    include_sensitive: bool = False,
    filters: dict[str, Any] | None = None,
    columns: dict[str, Column] | None = None,
    into: BinaryIO | None = None,
) -> tuple[bytes, int]:
    """The rows of `queryset` that `user` may export, as CSV or XLSX bytes, and their count.
    Written into the file `into` instead when given (the bytes returned are then empty): a
    background export writes a temporary file, so that a million rows take no room in memory
    (built in memory, a 389k-row CSV held 380 MB at its peak).

    Columns are `fields` of the model, headed by their verbose names (relations show as
    text, choices by their label, datetimes in the organisation's local time), then the
    annotated `columns`.
    """
    columns = columns or {}
    model = queryset.model
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}")
    resource = model.permission_resource
    if user.scope_for(f"{resource}.export") == 0:
        raise permissions.PermissionDenied(f"{resource}.export")
    unknown = [name for name in fields if name not in {f.name for f in model._meta.fields}]
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(unknown)}")
    allowed = permissions.visible(queryset, user, "export")
    rows = _rows(user, allowed, fields, columns, include_sensitive)
    headers = _headers(model, fields, columns)
    out = io.BytesIO() if into is None else into
    if format == "csv":
        count = _csv(headers, rows, out)
    else:
        count = _xlsx(headers, rows, out, capfirst(str(model._meta.verbose_name_plural)))
    data = out.getvalue() if into is None else b""
    # An export concerns many records, so the entry names the model, not one object.
    AuditEntry.objects.create(
        organization_id=user.organization_id,
        actor=user,
        action=f"{model._meta.model_name}.exported",
        object_type=model._meta.label_lower,
        object_repr=_("%(n)s rows") % {"n": count},
        data={
            "rows": count,
            "format": format,
            "fields": [*fields, *columns],
            "sensitive": include_sensitive,
            "filters": jsonable(filters or {}),
        },
    )
    return data, count


# Lists up to this many rows are exported within the request; longer ones in the background,
# since a million rows take minutes, well past a web server's timeout (gunicorn's is 30 s).
DIRECT_MAX_ROWS = 5_000


class InvalidFilters(ValueError):
    """The list's filters do not hold; `errors` says which, by field."""

    def __init__(self, errors: Any) -> None:
        super().__init__(errors.as_text())
        self.errors = errors


def customer_queryset(*, user: Any, query: dict[str, str], origin: str = "list") -> QuerySet:
    """The customer list as `user` sees it with `query`, read by the filters of the list page
    (origin "list") or of the API ("api"); InvalidFilters when they are not valid."""
    from patron.customers import selectors
    from patron.customers.api import CustomerFilter
    from patron.customers.forms import CustomerFilterForm
    from patron.customers.models import Customer

    params = QueryDict(mutable=True)
    params.update(query)
    if origin == "api":
        listed = Customer.objects.visible_to(user, "view").filter(is_archived=False)  # as /api/customers/
        found = CustomerFilter(params, queryset=listed, user=user)
        if not found.is_valid():
            raise InvalidFilters(found.errors)
        return found.qs
    filters = CustomerFilterForm(params, user=user)
    if not filters.is_valid():
        raise InvalidFilters(filters.errors)
    return selectors.customer_list(user=user, filters=filters.selector_filters())


def filter_names(origin: str) -> set[str]:
    """The query keys that filter the list where the export was asked for."""
    from patron.customers.api import CustomerFilter
    from patron.customers.forms import CustomerFilterForm

    return set(CustomerFilter.base_filters if origin == "api" else CustomerFilterForm.base_fields)


def customer_export(
    *, user: Any, queryset: QuerySet, query: dict[str, str], format: str, include_sensitive: bool,
    into: BinaryIO | None = None,
) -> tuple[bytes, int]:
    """A customer list (`customer_queryset` of `query`) as its export file (see `export_rows`
    for `into`): the customer's fields, then its current value scores."""
    from patron.insights.selectors import with_current_score

    return export_rows(
        user=user,
        queryset=with_current_score(queryset),
        fields=CUSTOMER_FIELDS,
        format=format,
        include_sensitive=include_sensitive,
        filters=query,
        columns=score_columns(),
        into=into,
    )


def export_name(
    *, user: Any, query: dict[str, str], format: str, origin: str = "list", sensitive: bool = False
) -> str:
    """The file's name, in the asker's language: the saved segment it holds, or "customers",
    whether it shows contact details, and the day ("重要挽留-联系方式-20261206.xlsx")."""
    from patron.insights.selectors import segment_list

    name = pgettext("an export's file name", "customers")
    if origin == "list" and query.get("segment"):  # the API's "segment" is an RFM class
        try:
            segment = segment_list(user=user).filter(pk=query["segment"]).first()
        except (ValidationError, ValueError):  # not an id at all
            segment = None
        name = (slugify(segment.name, allow_unicode=True) if segment else "") or pgettext(
            "an export's file name", "segment")
    if sensitive:  # told apart from the masked file of the same list
        name += "-" + pgettext("an export's file name", "contacts")
    return f"{name}-{timezone.localdate():%Y%m%d}.{format}"


def is_long(queryset: QuerySet) -> bool:
    """More rows than an export within the request may take (counting no further)."""
    return queryset[: DIRECT_MAX_ROWS + 1].count() > DIRECT_MAX_ROWS


# Days an export's file is kept: it may hold contact details in clear, which should not
# outlive the need for them (each new export of the organisation deletes older ones).
EXPORT_KEEP_DAYS = 7


def exports_prune(*, organization_id: Any) -> int:
    """Delete the organisation's finished exports older than EXPORT_KEEP_DAYS, files first;
    return how many. Idempotent."""
    from patron.imports.models import ExportJob

    cutoff = timezone.now() - dt.timedelta(days=EXPORT_KEEP_DAYS)
    old = list(
        ExportJob.objects.filter(organization_id=organization_id, created_at__lt=cutoff).exclude(
            status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]
        )
    )
    for job in old:
        if job.file:
            folder = posixpath.dirname(job.file.name)  # the job's own (see `export_run`)
            storage = job.file.storage
            job.file.delete(save=False)
            if folder.endswith(job.pk.hex):
                _remove_empty_folder(storage, folder)
        job.delete()
    return len(old)


def _remove_empty_folder(storage: Any, folder: str) -> None:
    """On a local disk, the export's folder once its file is gone (object stores have none)."""
    try:
        Path(storage.path(folder)).rmdir()
    except (NotImplementedError, OSError):  # not a local disk, or not empty
        pass


def export_queue(
    *, user: Any, query: dict[str, str], format: str, include_sensitive: bool, origin: str = "list"
) -> Any:
    """Queue the customer list's export as a background job, after checking who asks. The
    same export asked for again while queued or running (a double click, a reload) is that
    job, not another million rows."""
    from patron.imports import tasks
    from patron.imports.models import ExportJob

    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}")
    if user.scope_for("customers.export") == 0:
        raise permissions.PermissionDenied("customers.export")
    names = filter_names(origin)
    query = {k: v for k, v in query.items() if k in names and v}
    include_sensitive = in_clear(user, include_sensitive)
    customer_queryset(user=user, query=query, origin=origin)  # bad filters: refused now
    pending = ExportJob.objects.filter(
        created_by=user,
        format=format,
        include_sensitive=include_sensitive,
        query=query,
        origin=origin,
        status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING],
    ).first()
    if pending is not None:
        return pending
    exports_prune(organization_id=user.organization_id)
    job = ExportJob.objects.create(
        organization_id=user.organization_id,
        created_by=user,
        format=format,
        include_sensitive=include_sensitive,
        query=query,
        origin=origin,
        language=translation.get_language() or "",
    )
    args = (str(job.pk), str(job.organization_id))
    transaction.on_commit(lambda: tasks.export_job_run.enqueue(*args))
    return job


def in_clear(user: Any, asked: bool) -> bool:
    """Contact details in clear: when asked for by someone who may see some (each record's
    own still decides, in `export_rows`)."""
    return bool(asked) and user.scope_for("customers.view_sensitive") > 0


def may_download(user: Any, job: Any) -> bool:
    """Its author, while they still may export (and see contact details, if it holds them)."""
    if job.created_by_id != user.pk or user.scope_for("customers.export") == 0:
        return False
    return not job.include_sensitive or in_clear(user, True)


def export_run(*, job: Any) -> Any:
    """Write a queued export's file as its user would get it from the page, in their
    language. Idempotent: only a queued export is run (a second delivery of the task finds
    it claimed or done)."""
    from patron.imports.models import in_language_of

    with in_language_of(job):
        return _export_run(job)


def _export_run(job: Any) -> Any:
    from patron.imports.models import ExportJob

    claimed = ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING
    )
    if not claimed:
        job.refresh_from_db()
        return job
    with tempfile.TemporaryFile() as written:
        try:
            _, count = customer_export(
                user=job.created_by,
                queryset=customer_queryset(user=job.created_by, query=job.query, origin=job.origin),
                query=job.query,
                format=job.format,
                include_sensitive=job.include_sensitive,
                into=written,
            )
        except ValueError:
            return _export_failed(job, EXPORT_ERRORS["filters"])
        except permissions.PermissionDenied:
            return _export_failed(job, EXPORT_ERRORS["permission"])
        except Exception:
            _export_failed(job, EXPORT_ERRORS["internal"])
            raise
        name = export_name(
            user=job.created_by, query=job.query, format=job.format, origin=job.origin,
            sensitive=job.include_sensitive,
        )
        written.seek(0)
        # In a folder of its own: a second export of the day keeps its plain name.
        job.file.save(f"{job.pk.hex}/{name}", File(written), save=False)
    job.status, job.rows, job.finished_at = ExportJob.Status.DONE, count, timezone.now()
    job.save()
    return job


# Stored in English, translated where they are shown.
EXPORT_ERRORS = {
    "filters": gettext_noop("The list's filters no longer hold (a segment or a person removed since)."),
    "permission": gettext_noop("You may no longer export customers."),
    "internal": gettext_noop("The export stopped on an internal error; ask for it again."),
}


def _export_failed(job: Any, message: str) -> Any:
    from patron.imports.models import ExportJob

    job.status, job.error, job.finished_at = ExportJob.Status.FAILED, message, timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "updated_at"])
    return job
