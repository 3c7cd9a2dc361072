"""Who may do what to which record: the one place that turns roles into query filters.

Pages, the API, exports, search and background jobs all call `visible(queryset, user, action)`
(through `OwnedQuerySet.visible_to`) or `can(user, action, obj)`, so they can never disagree.
"""

from typing import Any

from django.db.models import Model, Q, QuerySet

from patron.accounts.capabilities import Scope


class PermissionDenied(Exception):
    """The user's roles do not allow this action on this record."""


def _scope_q(user: Any, scope: Scope, prefix: str) -> Q | None:
    """The filter selecting the records `user` reaches at `scope`; None means all of them."""
    if scope >= Scope.ORGANIZATION:
        return None
    own = Q(**{f"{prefix}owner_id": user.pk})
    if scope == Scope.OWN:
        return own
    if scope == Scope.TEAM:
        return own | Q(**{f"{prefix}owner_team_id": user.team_id}) if user.team_id else own
    return own | Q(**{f"{prefix}owner_team_id__in": user.subtree_team_ids})


def reach(user: Any, capability: str, prefix: str = "") -> Q | None:
    """The filter selecting the records of the organisation `user` has `capability` on; None
    means all of them (used where one query must treat records in and out of reach apart)."""
    scope = user.scope_for(capability)
    return Q(pk__in=[]) if scope == Scope.NONE else _scope_q(user, scope, prefix)


def visible(queryset: QuerySet, user: Any, action: str = "view") -> QuerySet:
    """Narrow `queryset` (already organisation-scoped) to what `user` may `action`."""
    model = queryset.model
    if user is None or not user.is_authenticated or user.organization_id is None:
        return queryset.none()
    scope = user.scope_for(f"{model.permission_resource}.{action}")
    if scope == Scope.NONE:
        return queryset.none()
    combined: Q | None = Q()
    alternatives = []
    for path in model.visibility_paths:
        q = _scope_q(user, scope, f"{path}__" if path else "")
        if q is None:
            return queryset.filter(organization_id=user.organization_id)
        alternatives.append(q)
    combined = alternatives[0]
    for q in alternatives[1:]:
        combined |= q
    return queryset.filter(combined, organization_id=user.organization_id)


def _owner_of(obj: Model, path: str) -> tuple[Any, Any] | None:
    target = obj
    for part in filter(None, path.split("__")):
        target = getattr(target, part)
        if target is None:
            return None
    return target.owner_id, target.owner_team_id


def in_scope(user: Any, scope: Scope, owner_id: Any, owner_team_id: Any) -> bool:
    if scope >= Scope.ORGANIZATION:
        return True
    if scope == Scope.NONE:
        return False
    if owner_id is not None and owner_id == user.pk:
        return True
    if scope == Scope.TEAM:
        return owner_team_id is not None and owner_team_id == user.team_id
    if scope == Scope.SUBTREE:
        return owner_team_id is not None and owner_team_id in user.subtree_team_ids
    return False


def can(user: Any, action: str, obj: Model) -> bool:
    """May `user` perform `action` ("view", "change", "view_sensitive", ...) on `obj`?"""
    if user is None or not user.is_authenticated or obj.organization_id != user.organization_id:
        return False
    scope = user.scope_for(f"{obj.permission_resource}.{action}")
    for path in obj.visibility_paths:
        owners = _owner_of(obj, path)
        if owners is not None and in_scope(user, scope, *owners):
            return True
    return False


def can_create(user: Any, resource: str) -> bool:
    return user.is_authenticated and user.scope_for(f"{resource}.add") > Scope.NONE


def require(user: Any, action: str, obj: Model) -> None:
    if not can(user, action, obj):
        raise PermissionDenied(f"{obj.permission_resource}.{action}")


class SystemActor:
    """Who acts in scheduled jobs (refresh, alerts, cleaning): the organisation itself.

    It holds every capability at organisation scope and has no primary key, so audit entries
    it writes show no person as the actor.
    """

    pk = None
    team_id = None
    is_authenticated = True
    is_active = True
    subtree_team_ids: list = []

    def __init__(self, organization: Any) -> None:
        self.organization = organization
        self.organization_id = organization.pk

    def scope_for(self, capability: str) -> Scope:
        return Scope.ORGANIZATION

    def __str__(self) -> str:
        return "Patron"


def system_actor(organization: Any) -> SystemActor:
    return SystemActor(organization)
