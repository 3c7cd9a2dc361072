"""Setting up an organisation (built-in roles and a default pipeline come with it) and
changing its settings."""

from typing import Any

from django.db import transaction
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from patron.accounts.capabilities import BUILTIN_ROLES
from patron.common import tenancy
from patron.organizations.models import Organization

DEFAULT_STAGES = [
    # (name, probability, outcome): a typical B2B pipeline. Marked for translation here and
    # translated when an organisation is created, in the organisation's language: the names are
    # stored as its managers may rename them, not translated when shown.
    (gettext_noop("Qualification"), 10, "open"),
    (gettext_noop("Needs analysis"), 25, "open"),
    (gettext_noop("Proposal"), 50, "open"),
    (gettext_noop("Negotiation"), 75, "open"),
    (gettext_noop("Won"), 100, "won"),
    (gettext_noop("Lost"), 0, "lost"),
]


@transaction.atomic
def organization_create(
    *, name: str, slug: str | None = None, time_zone: str = "Asia/Shanghai",
    currency: str = "CNY", phone_region: str = "CN", language: str = "zh-hans",
) -> Organization:
    from patron.accounts.models import Role
    from patron.sales.models import Pipeline, Stage

    org = Organization(
        name=name, slug=slug or slugify(name) or "org", time_zone=time_zone,
        currency=currency, phone_region=phone_region, language=language,
    )
    org.full_clean()  # a ValidationError naming the field, before anything is written
    org.save()
    with tenancy.scope(org):
        for key, spec in BUILTIN_ROLES.items():
            Role.objects.create(
                organization=org, key=key, name=str(spec["name"]), capabilities=spec["capabilities"]
            )
        with translation.override(org.language):  # not the language of who runs the set-up
            pipeline = Pipeline.objects.create(organization=org, name=_("Sales"), is_default=True)
            Stage.objects.bulk_create(
                Stage(
                    organization=org, pipeline=pipeline, name=_(stage), position=i,
                    probability=probability, outcome=outcome,
                )
                for i, (stage, probability, outcome) in enumerate(DEFAULT_STAGES)
            )
    return org


# What an administrator may change after set-up. The slug stays: it names the organisation
# in commands and scripts.
SETTINGS = ["name", "time_zone", "currency", "phone_region", "language"]


@transaction.atomic
def organization_update(*, organization: Organization, by: Any, data: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Change the organisation's settings; returns the changes made, which are audited."""
    from patron.accounts import permissions
    from patron.accounts.capabilities import Scope
    from patron.audit import services as audit

    if (by is None or not by.is_authenticated or by.organization_id != organization.pk
            or by.scope_for("admin.manage") == Scope.NONE):
        raise permissions.PermissionDenied("admin.manage")
    locked = Organization.objects.select_for_update().get(pk=organization.pk)
    changes = {name: (getattr(locked, name), data[name]) for name in SETTINGS
               if name in data and getattr(locked, name) != data[name]}
    if not changes:
        return changes
    for name, (_old, new) in changes.items():
        setattr(locked, name, new)
    locked.full_clean(exclude=[f.name for f in Organization._meta.fields if f.name not in changes])
    locked.save(update_fields=list(changes))
    for name, (_old, new) in changes.items():
        setattr(organization, name, new)
    audit.record("organization.updated", obj=AuditTarget(locked), user=by, changes=changes)
    return changes


class AuditTarget:
    """What `audit.record` needs to name the organisation itself as the object of an entry
    (it is not a tenant row: it has no organisation of its own)."""

    def __init__(self, organization: Organization) -> None:
        self.pk, self.organization_id, self._org = organization.pk, organization.pk, organization
        self._meta = Organization._meta

    def __str__(self) -> str:
        return str(self._org)
