import contextlib
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import translation
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from patron.accounts.capabilities import Scope
from patron.common.models import TenantModel


class Team(TenantModel):
    """A sales team; teams form a tree and a manager's scope can cover the sub-teams."""

    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent team"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="children",
    )
    # Materialised path "/<id>/<id>/" so a subtree is one indexed prefix query.
    path = models.CharField(max_length=800, editable=False, db_index=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "parent", "name"], name="team_org_parent_name_uniq"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Role(TenantModel):
    """A named set of capabilities, each granted at a scope (see capabilities.py)."""

    key = models.SlugField(_("key"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    capabilities = models.JSONField(_("capabilities"), default=dict, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="role_org_key_uniq")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name to show: a built-in role still called by its built-in name (in any of the
        languages, as it was named when its organisation was set up) reads in the viewer's
        language; a role an administrator renamed or made keeps its name."""
        from patron.accounts.capabilities import BUILTIN_ROLES

        spec = BUILTIN_ROLES.get(self.key)
        if spec is not None and self.name in _names_in_every_language(spec["name"]):
            return str(spec["name"])
        return self.name


def _names_in_every_language(name: Any) -> set[str]:
    names = set()
    for code, _language in settings.LANGUAGES:
        with translation.override(code):
            names.add(str(name))
    return names


class User(AbstractUser):
    """A person who signs in. Users are looked up at sign-in across organisations, so this
    table is not tenant-scoped by the manager; selectors filter it by organisation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, null=True, blank=True,
        related_name="users",
    )
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="members",
    )
    roles = models.ManyToManyField(Role, verbose_name=_("roles"), blank=True, related_name="users")
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    # The language the person last used the pages in (LanguageRememberedMiddleware): what is
    # written for them by others or by jobs (task titles) is written in it.
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [models.Index(fields=["organization", "team"], name="user_org_team_idx")]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def text_language(self) -> str:
        """The language text written for this person (a task someone else or a job gives them)
        is in: the one they use the pages in, else their organisation's (someone who has not
        used the pages yet works in it); "" when neither is known."""
        if self.language:
            return self.language
        return self.organization.language if self.organization_id else ""

    def in_their_language(self) -> Any:
        """A context in which text written for this person is in `text_language`: not in the
        language of whoever (or whichever job) writes it."""
        language = self.text_language()
        return translation.override(language) if language else contextlib.nullcontext()

    @cached_property
    def capability_scopes(self) -> dict[str, int]:
        """The widest scope any of the user's roles grants, per capability (cached per request)."""
        scopes: dict[str, int] = {}
        if not self.is_active or self.organization_id is None:
            return scopes
        for caps in Role.objects.filter(
            organization_id=self.organization_id, users=self
        ).values_list("capabilities", flat=True):
            for capability, scope in caps.items():
                scopes[capability] = max(scopes.get(capability, 0), int(scope))
        return scopes

    def scope_for(self, capability: str) -> Scope:
        return Scope(self.capability_scopes.get(capability, Scope.NONE))

    @cached_property
    def subtree_team_ids(self) -> list:
        if self.team_id is None:
            return []
        path = Team.objects.filter(pk=self.team_id).values_list("path", flat=True).first()
        if path is None:
            return []
        return list(Team.objects.filter(path__startswith=path).values_list("pk", flat=True))
