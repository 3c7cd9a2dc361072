"""Exporting lists to CSV and XLSX with the same masking as the pages, and an audit entry.

Two rules make an export safe to hand around:
- sensitive fields go out masked unless the user may see them in clear for that very record
  *and* asked for them (`include_sensitive`);
- a cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
  return) gets a leading apostrophe, so a customer called "=HYPERLINK(...)" stays text
  (OWASP, "CSV Injection").
"""

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.accounts import permissions
from patron.audit.models import AuditEntry
from patron.audit.services import jsonable
from patron.common import masking, standardize

FORMATS = ("csv", "xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CUSTOMER_FIELDS = [
    "number",
    "name",
    "kind",
    "company_name",
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


def _value(user: Any, obj: Model, name: str, reveal: bool) -> Any:
    field = obj._meta.get_field(name)
    if masking.is_sensitive(obj, name):
        value = masking.present(user, obj, name, reveal=reveal)
        if name == "phone" and value == obj.phone:  # shown in clear
            value = standardize.format_phone(value)
    elif field.is_relation:
        related = getattr(obj, name)
        value = "" if related is None else str(related)
    elif field.choices:
        value = getattr(obj, f"get_{name}_display")()
    else:
        value = getattr(obj, name)
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, dt.date):
        value = value.isoformat()
    elif value is None:
        value = ""
    elif isinstance(value, bool):
        value = _("yes") if value else _("no")
    elif not isinstance(value, (int, Decimal, str)):
        value = str(value)
    return neutralise(value)


def _rows(user: Any, queryset: QuerySet, fields: list[str], reveal: bool) -> Iterator[list[Any]]:
    for obj in queryset.iterator(chunk_size=2000):
        yield [_value(user, obj, name, reveal) for name in fields]


def _headers(model: type[Model], fields: list[str]) -> list[str]:
    return [str(model._meta.get_field(name).verbose_name) for name in fields]


def _csv(headers: list[str], rows: Iterator[list[Any]]) -> tuple[bytes, int]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    # The BOM makes Excel read the file as UTF-8 (otherwise Chinese names come out garbled).
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8"), count


def _xlsx(headers: list[str], rows: Iterator[list[Any]]) -> tuple[bytes, int]:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(headers)
    count = 0
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
        count += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), count


def export_rows(
    *,
    user: Any,
    queryset: QuerySet,
    fields: list[str],
    format: str,
    include_sensitive: bool = False,
    filters: dict[str, Any] | None = None,
) -> tuple[bytes, int]:
    """The rows of `queryset` that `user` may export, as CSV or XLSX bytes, and their count.

    Columns are `fields` of the model, headed by their verbose names; relations show as
    text, choices by their label, datetimes in the organisation's local time.
    """
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
    rows = _rows(user, allowed, fields, include_sensitive)
    data, count = (_csv if format == "csv" else _xlsx)(_headers(model, fields), rows)
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
            "fields": fields,
            "sensitive": include_sensitive,
            "filters": jsonable(filters or {}),
        },
    )
    return data, count
