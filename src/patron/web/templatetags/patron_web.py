"""Template helpers shared by every page: optional URLs, capability checks, masking."""

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from patron.accounts.capabilities import Scope
from patron.common import masking

register = template.Library()


@register.simple_tag
def optional_url(name: str, *args: Any) -> str:
    """The URL of `name`, or "" when no such page exists (yet): the nav hides the link."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@register.filter
def has_capability(user: Any, capability: str) -> bool:
    """Does any of the user's roles grant `capability` at any scope?"""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.scope_for(capability) > Scope.NONE


@register.simple_tag(takes_context=True)
def masked(context: template.Context, obj: Any, field: str) -> Any:
    """The value of `obj.field` as the signed-in user may see it (masked when sensitive)."""
    return masking.present(context["request"].user, obj, field)


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: Any) -> str:
    """The current query string with `changes` applied (None or "" removes a key)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = value
    return params.urlencode()


AUDIT_ACTIONS = {
    "created": _("Created"),
    "updated": _("Changed"),
    "deleted": _("Deleted"),
    "transferred": _("Transferred"),
    "tags_changed": _("Tags changed"),
    "sensitive_revealed": _("Sensitive field viewed"),
    "merged": _("Merged with a duplicate"),
    "merge_undone": _("Merge undone"),
    "imported": _("Imported"),
    "qualified": _("Qualified"),
    "disqualified": _("Disqualified"),
    "converted": _("Converted"),
}


@register.filter
def audit_label(action: str) -> str:
    """A readable label for an audit action code such as "customer.updated"."""
    verb = action.rsplit(".", 1)[-1]
    return str(AUDIT_ACTIONS.get(verb, verb.replace("_", " ").capitalize()))


@register.filter
def sees_dashboards(user: Any) -> bool:
    """Managers (and organisation-wide readers) see the customer-value dashboards."""
    from patron.insights import selectors

    return selectors.is_manager(user)
