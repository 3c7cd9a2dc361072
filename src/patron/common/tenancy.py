"""The one mechanism that scopes every query to an organisation.

A context variable holds the organisation of the request, job or command in progress. Every
tenant model's default *and base* manager filter by it, so that querysets, related-object
access (`order.customer`), prefetches and cascades all stay inside one organisation without
anyone remembering to add a filter. With no organisation active a query on a tenant table
raises `ScopeError`: deny by default. Code that truly works across organisations (migrations,
the demo loader, maintenance commands) says so with `unscoped()`.

Django's related-object descriptors use the *base* manager; that is why tenant models set
`base_manager_name` to the scoped manager (see `TenantModel`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from patron.organizations.models import Organization

_UNSCOPED = object()
_current: ContextVar[Any] = ContextVar("patron_organization", default=None)


class ScopeError(RuntimeError):
    """A tenant table was queried with no organisation in scope."""


def current_organization_id() -> Any:
    """The id of the organisation in scope, `_UNSCOPED`, or None when nothing is active."""
    value = _current.get()
    return value


@contextmanager
def scope(organization: "Organization | Any") -> Iterator[None]:
    """Run the block inside one organisation (an `Organization` or its primary key)."""
    org_id = getattr(organization, "pk", organization)
    if org_id is None:
        raise ScopeError("cannot scope to an organisation without a primary key")
    token = _current.set(org_id)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """Run the block with tenant filtering switched off; for cross-organisation maintenance."""
    token = _current.set(_UNSCOPED)
    try:
        yield
    finally:
        _current.reset(token)


def activate(organization_id: Any) -> object:
    """Enter a scope without a `with` block; return the token for `deactivate`."""
    return _current.set(organization_id)


def deactivate(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


class TenantQuerySet(models.QuerySet):
    pass


class _NoScope(models.Expression):
    """A condition that refuses to become SQL: building a queryset with no organisation in
    scope is harmless (libraries introspect querysets at import time), running it is not."""

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        raise ScopeError(
            f"{self.label} queried with no organisation in scope; "
            "wrap the work in tenancy.scope(organization)"
        )


class TenantManager(models.Manager):
    """Filters every queryset by the organisation in scope; raises when there is none."""

    # Keep the manager for related-object access and prefetches, which also must be scoped.
    use_in_migrations = False

    def get_queryset(self) -> models.QuerySet:
        qs = super().get_queryset()
        org_id = _current.get()
        if org_id is _UNSCOPED:
            return qs
        if org_id is None:
            return qs.filter(_NoScope(self.model._meta.label))
        return qs.filter(organization_id=org_id)


class OwnedQuerySet(TenantQuerySet):
    def visible_to(self, user: Any, action: str = "view") -> "OwnedQuerySet":
        from patron.accounts import permissions

        return permissions.visible(self, user, action)


OwnedManager = TenantManager.from_queryset(OwnedQuerySet)
