"""Writing audit entries. Every service that changes customer data calls `record`."""

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models

from patron.audit.models import AuditEntry


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
    """One entry per object in a single bulk insert (imports, bulk transfers)."""
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                organization_id=obj.organization_id,
                actor=user if getattr(user, "pk", None) else None,
                action=action,
                object_type=obj._meta.label_lower,
                object_id=str(obj.pk),
                object_repr=str(obj)[:200],
                data=jsonable(data or {}),
            )
            for obj in objs
        ],
        batch_size=1000,
    )
