"""Sensitive-field masking: the one mechanism behind pages, API, exports, search and jobs.

A value leaves the server in clear only when the user holds `<resource>.view_sensitive` for
that very record *and* asked to reveal it; callers that reveal must audit it (see
`customers.services.customer_reveal`). Everyone else gets the masked form, e.g. 138****1016.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import Model

from patron.accounts import permissions


def mask_phone(value: str) -> str:
    digits = value.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    prefix = ""
    if digits.startswith("+86") and len(digits) > 7:
        prefix, digits = "+86 ", digits[3:]
    keep_head = 3 if len(digits) >= 10 else 2 if len(digits) > 6 else 0
    return prefix + digits[:keep_head] + "*" * (len(digits) - keep_head - 4) + digits[-4:]


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_id_number(value: str) -> str:
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_text(value: str) -> str:
    return value[:6] + "****" if len(value) > 6 else "****"


def mask_name(value: str) -> str:
    """A person's or company's name shown to someone who may not see the record: its first
    character, as 王** (how Chinese forms mask names), enough to tell a colleague which one."""
    value = value.strip()
    return value[:1] + "**" if value else ""


def mask_date(value: Any) -> str:
    return "****-**-**"


MASKERS: dict[str, Callable[[Any], str]] = {
    "phone": mask_phone,
    "mobile": mask_phone,
    "email": mask_email,
    "id_number": mask_id_number,
    "address": mask_text,
    "birthday": mask_date,
    "wechat": mask_text,
}


def is_sensitive(obj: Model | type[Model], field: str) -> bool:
    return field in getattr(obj, "sensitive_fields", ())


def may_reveal(user: Any, obj: Model) -> bool:
    return permissions.can(user, "view_sensitive", obj)


def present(user: Any, obj: Model, field: str, *, reveal: bool = False) -> Any:
    """The value of `field` as `user` may see it: clear only when revealed and allowed."""
    value = getattr(obj, field)
    if value in (None, "") or not is_sensitive(obj, field):
        return value
    if reveal and may_reveal(user, obj):
        return value.isoformat() if isinstance(value, dt.date) else value
    return MASKERS.get(field, mask_text)(value)


def mask_change(model: type[Model] | None, field: str, value: Any) -> Any:
    """Audit entries keep old and new values; show them masked for sensitive fields."""
    if value in (None, "") or model is None or not is_sensitive(model, field):
        return value
    return MASKERS.get(field, mask_text)(value)
