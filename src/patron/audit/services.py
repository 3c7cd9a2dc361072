"""Writing audit entries. Every service that changes customer data calls `record`."""

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models
from django.utils import timezone

from patron.audit.models import AuditEntry
from patron.common import bulk


def jsonable(value: Any) -> Any:
    """A JSON-safe form of a field value for the `changes` column."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def _entry(action: str, obj: models.Model, user: Any, changes: dict[str, tuple[Any, Any]] | None,
           data: dict | None) -> AuditEntry:
    return AuditEntry(
        organization_id=obj.organization_id,
        actor=user if getattr(user, "pk", None) else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes={k: [jsonable(old), jsonable(new)] for k, (old, new) in (changes or {}).items()},
        data=jsonable(data or {}),
    )


def record(
    action: str,
    *,
    obj: models.Model,
    user: Any,
    changes: dict[str, tuple[Any, Any]] | None = None,
    data: dict | None = None,
) -> AuditEntry:
    entry = _entry(action, obj, user, changes, data)
    entry.save(force_insert=True)
    return entry


def record_changes(
    action: str, *, changed: list[tuple[models.Model, dict[str, tuple[Any, Any]]]], user: Any, data: dict | None = None
) -> None:
    """`record` for many objects at once, each with its own changes: one INSERT, not one a row."""
    AuditEntry.objects.bulk_create([_entry(action, obj, user, changes, data) for obj, changes in changed],
                                   batch_size=500)


def record_many(action: str, *, objs: list[models.Model], user: Any, data: dict | None = None) -> None:
    """One entry per object, written in bulk (an import's updates, its products and orders):
    see `BulkEntries`."""
    if not objs:
        return
    entries = BulkEntries(action, actor_id=getattr(user, "pk", None), data=data)
    entries.write(
        entries.drafts([(o.organization_id, o._meta.label_lower, o.pk, str(o)) for o in objs])
    )


class BulkEntries:
    """Entries of one action by one person over many records, made ahead of their write.

    The rows go through `common.bulk` (COPY on PostgreSQL) rather than `bulk_create`:
    building and preparing an AuditEntry per record cost an import about half of its time.
    They are made in two steps, so that an import into SQLite makes each new record's entry
    in its read-ahead process, beside the record's row, and its writer only adds the time.
    """

    def __init__(self, action: str, *, actor_id: Any, data: dict | None = None) -> None:
        self.layout = bulk.RowLayout(AuditEntry, ("created_at", "updated_at"))
        self.fixed = {
            "actor_id": actor_id,
            "action": action,
            "changes": {},
            "data": jsonable(data or {}),  # one object for every entry: encoded once
        }

    def drafts(self, records: list[tuple[Any, str, Any, str]]) -> list[list]:
        """The entries of (organization id, object type, object id, description) records,
        all but their time."""
        row = dict(self.fixed)
        made = []
        for key, (organization_id, object_type, object_id, text) in zip(
            bulk.ordered_uuids(len(records)), records, strict=True
        ):
            row.update(
                id=key,
                organization_id=organization_id,
                object_type=object_type,
                object_id=str(object_id),
                object_repr=text[:200],
            )
            made.append(self.layout.head(row))
        return made

    def write(self, drafts: list[list]) -> None:
        now = timezone.now()
        tail = self.layout.tail((now, now))
        bulk.insert_encoded(self.layout, (draft + tail for draft in drafts))
