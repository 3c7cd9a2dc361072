"""Writes shared by every app: versioned updates that refuse stale edits, and audit them."""

from typing import Any

from django.db import models
from django.db.models import F
from django.utils import timezone

from patron.audit import services as audit
from patron.common.errors import ConflictError


def model_update(
    *,
    instance: models.Model,
    data: dict[str, Any],
    fields: list[str],
    user: Any,
    expected_version: int | None = None,
    action: str | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Apply `data` to the allowed `fields` of `instance`; return the changes made.

    The write is a conditional UPDATE on the version read by the editor, so of two concurrent
    edits the second is refused with ConflictError instead of overwriting the first.
    """
    version = instance.version if expected_version is None else expected_version
    if version != instance.version:
        raise ConflictError()
    changes: dict[str, tuple[Any, Any]] = {}
    for name in fields:
        if name not in data:
            continue
        field = instance._meta.get_field(name)
        old, new = getattr(instance, field.attname if field.is_relation else name), data[name]
        if field.is_relation and isinstance(new, models.Model):
            new = new.pk
        if old != new:
            changes[name] = (old, new)
            setattr(instance, field.attname if field.is_relation else name, new)
    if not changes:
        return changes
    instance.full_clean(exclude=[f.name for f in instance._meta.fields if f.name not in changes])
    values = {instance._meta.get_field(n).attname: getattr(instance, instance._meta.get_field(n).attname) for n in changes}
    for hook in getattr(instance, "derived_fields_on_save", ()):  # e.g. the search text
        values.update(hook(instance))
    now = timezone.now()
    updated = type(instance)._base_manager.filter(pk=instance.pk, version=version).update(
        **values, version=F("version") + 1, updated_at=now
    )
    if updated == 0:
        raise ConflictError()
    instance.version = version + 1
    instance.updated_at = now
    audit.record(
        action or f"{instance._meta.model_name}.updated", obj=instance, user=user, changes=changes
    )
    return changes
