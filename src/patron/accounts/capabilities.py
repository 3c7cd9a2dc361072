"""The catalogue of capabilities and the built-in roles.

A capability is `<resource>.<action>`; a role grants each capability at a scope: none, own
records, the team's, the team's and its sub-teams', or the whole organisation's. Roles add up
(a user gets the widest scope any of their roles grants); anything not granted is denied.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Scope(models.IntegerChoices):
    NONE = 0, _("none")
    OWN = 1, _("own records")
    TEAM = 2, _("team")
    SUBTREE = 3, _("team and sub-teams")
    ORGANIZATION = 4, _("whole organisation")


RESOURCES: dict[str, tuple[str, ...]] = {
    "customers": ("view", "add", "change", "delete", "transfer", "export", "view_sensitive"),
    "leads": ("view", "add", "change", "delete", "transfer", "export", "view_sensitive"),
    "opportunities": ("view", "add", "change", "delete", "transfer", "export"),
    "orders": ("view", "add", "change", "delete", "export"),
    "products": ("view", "add", "change", "delete"),
    "interactions": ("view", "add", "change", "delete"),
    "tasks": ("view", "add", "change", "delete"),
    "audit": ("view",),
    "admin": ("manage",),
}

ALL = {f"{resource}.{action}" for resource, actions in RESOURCES.items() for action in actions}


def _grant(scope: Scope, *resources: str, actions: tuple[str, ...] | None = None) -> dict:
    grants = {}
    for resource in resources:
        for action in RESOURCES[resource]:
            if actions is None or action in actions:
                grants[f"{resource}.{action}"] = int(scope)
    return grants


_RECORDS = ("customers", "leads", "opportunities", "orders", "interactions", "tasks")

BUILTIN_ROLES: dict[str, dict] = {
    "admin": {
        "name": _("Administrator"),
        "capabilities": _grant(Scope.ORGANIZATION, *RESOURCES),
    },
    "sales_manager": {
        "name": _("Sales manager"),
        "capabilities": {
            **_grant(Scope.SUBTREE, *_RECORDS),
            **_grant(Scope.ORGANIZATION, "products", actions=("view",)),
            **_grant(Scope.SUBTREE, "audit"),
        },
    },
    "sales_rep": {
        "name": _("Sales rep"),
        "capabilities": {
            **_grant(Scope.OWN, *_RECORDS, actions=("view", "add", "change", "view_sensitive")),
            **_grant(Scope.ORGANIZATION, "products", actions=("view",)),
        },
    },
    "marketer": {
        "name": _("Marketer"),
        "capabilities": {
            **_grant(Scope.ORGANIZATION, "customers", "leads", "orders", actions=("view", "export")),
            **_grant(Scope.ORGANIZATION, "leads", actions=("add",)),
            **_grant(Scope.ORGANIZATION, "products", actions=("view",)),
        },
    },
    "service": {
        "name": _("Service staff"),
        "capabilities": {
            **_grant(Scope.ORGANIZATION, "customers", "orders", actions=("view",)),
            **_grant(Scope.ORGANIZATION, "interactions", "tasks", actions=("view", "add")),
            **_grant(Scope.OWN, "interactions", "tasks", actions=("change",)),
            **_grant(Scope.ORGANIZATION, "products", actions=("view",)),
        },
    },
    "viewer": {
        "name": _("Viewer"),
        "capabilities": _grant(
            Scope.ORGANIZATION, *_RECORDS, "products", actions=("view",)
        ),
    },
}
