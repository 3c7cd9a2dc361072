"""Writing audit entries. Every service that changes customer data calls `record`."""

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models

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


def record(
    action: str,
    *,
    obj: models.Model,
    user: Any,
    changes: dict[str, tuple[Any, Any]] | None = None,
    data: dict | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        organization_id=obj.organization_id,
        actor=user if getattr(user, "pk", None) else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes={k: [jsonable(old), jsonable(new)] for k, (old, new) in (changes or {}).items()},
        data=jsonable(data or {}),
    )


def record_many(action: str, *, objs: list[models.Model], user: Any, data: dict | None = None) -> None:
    """One entry per object, written in bulk (imports, bulk transfers, merges).

    The rows go through `common.bulk.insert_rows` (COPY on PostgreSQL) rather than
    `bulk_create`: building and preparing an AuditEntry per record cost an import about half
    of its time.
    """
    actor_id = getattr(user, "pk", None)
    payload = jsonable(data or {})
    bulk.insert_rows(
        AuditEntry,
        (
            {
                "organization_id": obj.organization_id,
                "actor_id": actor_id,
                "action": action,
                "object_type": obj._meta.label_lower,
                "object_id": str(obj.pk),
                "object_repr": str(obj)[:200],
                "changes": {},
                "data": payload,
            }
            for obj in objs
        ),
    )
