"""Base models: every business row belongs to an organisation, has a UUID key and a version.

UUID keys and organisation-first unique constraints and indexes let the tables be distributed
by organisation later (e.g. on a sharded PostgreSQL) without renumbering anything.
"""

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from patron.common.tenancy import OwnedManager, TenantManager, TenantQuerySet


def organization_key(**options: Any) -> models.ForeignKey:
    """The organisation a row belongs to. Large tables with indexes that begin with it say
    `db_index=False` (see `LargeOwnedModel`)."""
    return models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="+", editable=False, **options
    )


def owner_key(**options: Any) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", **options,
    )


def team_key(**options: Any) -> models.ForeignKey:
    return models.ForeignKey(
        "accounts.Team", verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", **options,
    )


class TenantModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = organization_key()
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Optimistic concurrency: every service write bumps the version with a conditional
    # UPDATE, so a stale edit is refused rather than silently overwriting a newer one.
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = TenantManager.from_queryset(TenantQuerySet)()

    class Meta:
        abstract = True
        base_manager_name = "objects"


class OwnedModel(TenantModel):
    """A record with an owner and an owning team, which decide who may see and change it."""

    owner = owner_key()
    owner_team = team_key()

    # The resource name of this record type in capability names ("customers.view").
    permission_resource: str = ""
    # Where the owner and team that decide visibility live: "" is the record itself, a
    # relation path ("customer") borrows them from a parent; several paths are alternatives.
    visibility_paths: tuple[str, ...] = ("",)

    objects = OwnedManager()

    class Meta:
        abstract = True
        base_manager_name = "objects"


class LargeOwnedModel(OwnedModel):
    """An owned record of a table that grows to millions of rows and is imported in bulk
    (customers, leads). Every query of it names the organisation (`common.tenancy`), and the
    table has indexes that begin with the organisation, then the owner or the team, for the
    queries that name those. So its keys get no single-column index of their own: all one would
    still serve is the database's check, when a user, team or organisation row is deleted, that
    no record points at it (Patron deactivates users and keeps teams; only `demo_delete`
    deletes them), and each costs every imported row another index entry (three of a
    customer's eleven on SQLite)."""

    organization = organization_key(db_index=False)
    owner = owner_key(db_index=False)
    owner_team = team_key(db_index=False)

    class Meta(OwnedModel.Meta):
        abstract = True


def search_text_of(obj: object) -> dict[str, str]:
    """The lower-cased number, name, company, phone digits and e-mail that substring search
    reads (trigram-indexed on PostgreSQL); shared by customers and leads."""
    digits = "".join(ch for ch in getattr(obj, "phone", "") if ch.isdigit())
    parts = [obj.number, obj.name, obj.company_name, digits, obj.email]  # type: ignore[attr-defined]
    return {"search_text": " ".join(p.lower() for p in parts if p)}
