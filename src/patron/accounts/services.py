from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from patron.accounts.models import Role, Team, User
from patron.audit import services as audit
from patron.common.services import model_update
from patron.organizations.models import Organization

if TYPE_CHECKING:
    from patron.sales.models import Pipeline, Stage


@transaction.atomic
def team_create(*, organization: Organization, name: str, parent: Team | None = None) -> Team:
    team = Team(organization=organization, name=name, parent=parent, path="")
    team.save()
    team.path = f"{parent.path if parent else '/'}{team.pk}/"
    Team.objects.filter(pk=team.pk).update(path=team.path)
    return team


@transaction.atomic
def user_create(
    *,
    organization: Organization,
    username: str,
    password: str | None,
    roles: list[str],
    team: Team | None = None,
    display_name: str = "",
    email: str = "",
    created_by: Any = None,
) -> User:
    user = User(
        organization=organization, username=username, team=team,
        display_name=display_name, email=email,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user.roles.set(Role.objects.filter(organization=organization, key__in=roles))
    audit.record(
        "user.created", obj=_AuditTarget(user), user=created_by, data={"roles": roles}
    )
    return user


class _AuditTarget:
    """Users are not tenant rows; give the audit trail what it needs to name one."""

    def __init__(self, user: User) -> None:
        self.pk, self.organization_id, self._user = user.pk, user.organization_id, user
        self._meta = User._meta

    def __str__(self) -> str:
        return str(self._user)


# --- Administration (the staff pages): users, teams, roles, pipelines and stages ----------
# Each write checks "admin.manage" itself, so the API or a command calling it is as safe as
# the pages, and each is audited.


def _require_admin(by: Any) -> None:
    from patron.accounts import permissions
    from patron.accounts.capabilities import Scope

    if by is None or not by.is_authenticated or by.scope_for("admin.manage") == Scope.NONE:
        raise permissions.PermissionDenied("admin.manage")


def _keep_an_admin(organization_id: Any) -> None:
    """Refuse a change that would leave the organisation with nobody able to administer it."""
    admins = User.objects.filter(
        organization_id=organization_id, is_active=True,
        roles__organization_id=organization_id, roles__capabilities__has_key="admin.manage",
    )
    for user in admins.prefetch_related("roles").distinct():
        if any(int(r.capabilities.get("admin.manage", 0)) > 0 for r in user.roles.all()):
            return
    raise ValidationError(_("This change would leave nobody able to administer the organisation."))


@transaction.atomic
def user_update(*, user: User, by: Any, data: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Change a user's name, e-mail, team, roles (list of Role) or active flag; audited."""
    _require_admin(by)
    if user.organization_id != by.organization_id:
        raise ValidationError(_("This user belongs to another organisation."))
    if data.get("is_active") is False and user.pk == by.pk:
        raise ValidationError({"is_active": _("You cannot deactivate yourself.")})
    changes: dict[str, tuple[Any, Any]] = {}
    for name in ("display_name", "email", "team", "is_active"):
        if name in data:
            old = getattr(user, "team_id" if name == "team" else name)
            new = getattr(data[name], "pk", data[name]) if name == "team" else data[name]
            if old != new:
                changes[name] = (old, new)
                setattr(user, "team_id" if name == "team" else name, new)
    if changes:
        user.full_clean(exclude=["password", "username", "organization", "roles"])
        user.save(update_fields=list(changes))
    if "roles" in data:
        old_keys = sorted(user.roles.values_list("key", flat=True))
        new_keys = sorted(r.key for r in data["roles"])
        if old_keys != new_keys:
            user.roles.set(data["roles"])
            changes["roles"] = (old_keys, new_keys)
    if changes:
        _keep_an_admin(user.organization_id)
        audit.record("user.updated", obj=_AuditTarget(user), user=by, changes=changes)
    return changes


@transaction.atomic
def team_add(*, by: Any, name: str, parent: Team | None = None) -> Team:
    """Create a team from the admin pages (team_create, plus the permission check and audit)."""
    _require_admin(by)
    if Team.objects.filter(parent=parent, name=name).exists():
        raise ValidationError({"name": _("A team with this name already exists here.")})
    team = team_create(organization=by.organization, name=name, parent=parent)
    audit.record("team.created", obj=team, user=by, data={"parent": parent.pk if parent else None})
    return team


@transaction.atomic
def team_update(*, team: Team, by: Any, name: str, parent: Team | None) -> dict:
    """Rename a team or move it under another parent; the subtree's paths follow."""
    _require_admin(by)
    if parent is not None and parent.path.startswith(team.path):
        raise ValidationError(
            {"parent": _("A team cannot be moved under itself or its sub-teams.")}
        )
    if Team.objects.filter(parent=parent, name=name).exclude(pk=team.pk).exists():
        raise ValidationError({"name": _("A team with this name already exists here.")})
    old_path = team.path
    changes = model_update(
        instance=team, data={"name": name, "parent": parent.pk if parent else None},
        fields=["name", "parent"], user=by, action="team.updated",
    )
    if "parent" in changes:
        new_path = f"{parent.path if parent else '/'}{team.pk}/"
        # Rewrite the materialised path of the team and every descendant in one pass.
        for sub in Team.objects.filter(path__startswith=old_path):
            Team.objects.filter(pk=sub.pk).update(path=new_path + sub.path[len(old_path):])
        team.path = new_path
    return changes


def _clean_capabilities(capabilities: dict[str, int]) -> dict[str, int]:
    from patron.accounts.capabilities import ALL, Scope

    unknown = set(capabilities) - ALL
    if unknown:
        raise ValidationError(
            _("Unknown capabilities: %(names)s"), params={"names": ", ".join(sorted(unknown))}
        )
    valid = set(Scope.values)
    if any(int(s) not in valid for s in capabilities.values()):
        raise ValidationError(_("A scope is not valid."))
    # Only grants are stored: anything absent is denied.
    return {cap: int(s) for cap, s in sorted(capabilities.items()) if int(s) > 0}


@transaction.atomic
def role_create(*, by: Any, key: str, name: str) -> Role:
    _require_admin(by)
    if Role.objects.filter(key=key).exists():
        raise ValidationError({"key": _("A role with this key already exists.")})
    role = Role(organization_id=by.organization_id, key=key, name=name, capabilities={})
    role.full_clean(exclude=["organization"])
    role.save()
    audit.record("role.created", obj=role, user=by)
    return role


@transaction.atomic
def role_update(
    *, role: Role, by: Any, name: str, capabilities: dict[str, int],
    expected_version: int | None = None,
) -> dict:
    """Rename a role and replace its grid of capability scopes; audited, version-checked."""
    _require_admin(by)
    changes = model_update(
        instance=role, data={"name": name, "capabilities": _clean_capabilities(capabilities)},
        fields=["name", "capabilities"], user=by, expected_version=expected_version,
        action="role.updated",
    )
    if "capabilities" in changes:
        _keep_an_admin(role.organization_id)
    return changes


@transaction.atomic
def pipeline_create(*, by: Any, name: str) -> "Pipeline":
    from patron.organizations.services import DEFAULT_STAGES
    from patron.sales.models import Pipeline, Stage

    _require_admin(by)
    if Pipeline.objects.filter(name=name).exists():
        raise ValidationError({"name": _("A pipeline with this name already exists.")})
    last = Pipeline.objects.order_by("-position").values_list("position", flat=True).first() or 0
    pipeline = Pipeline.objects.create(
        organization_id=by.organization_id, name=name, position=last + 1
    )
    # A new pipeline needs somewhere to win and lose deals: start it with the closing stages.
    # Named in the organisation's language, as its first pipeline's stages are.
    closing = [s for s in DEFAULT_STAGES if s[2] != "open"]
    with translation.override(Organization.objects.get(pk=by.organization_id).language):
        for i, (stage, probability, outcome) in enumerate([DEFAULT_STAGES[0], *closing]):
            Stage.objects.create(organization_id=by.organization_id, pipeline=pipeline, name=_(stage),
                                 position=i, probability=probability, outcome=outcome)
    audit.record("pipeline.created", obj=pipeline, user=by)
    return pipeline


@transaction.atomic
def pipeline_update(*, pipeline: "Pipeline", by: Any, name: str, is_default: bool) -> dict:
    from patron.sales.models import Pipeline

    _require_admin(by)
    if Pipeline.objects.filter(name=name).exclude(pk=pipeline.pk).exists():
        raise ValidationError({"name": _("A pipeline with this name already exists.")})
    changes = model_update(instance=pipeline, data={"name": name, "is_default": is_default},
                           fields=["name", "is_default"], user=by, action="pipeline.updated")
    if is_default:
        Pipeline.objects.exclude(pk=pipeline.pk).filter(is_default=True).update(is_default=False)
    return changes


@transaction.atomic
def stage_create(
    *, pipeline: "Pipeline", by: Any, name: str, probability: int, outcome: str
) -> "Stage":
    """Add a stage; an open stage goes before the closing (won/lost) ones, which stay last."""
    from patron.sales.models import Stage

    _require_admin(by)
    stages = list(pipeline.stages.order_by("position"))
    index = len(stages)
    if outcome == Stage.Outcome.OPEN:
        closing = (i for i, s in enumerate(stages) if s.outcome != Stage.Outcome.OPEN)
        index = next(closing, len(stages))
    stage = Stage(organization_id=pipeline.organization_id, pipeline=pipeline, name=name,
                  probability=probability, outcome=outcome, position=index)
    stage.full_clean(exclude=["organization", "pipeline", "position"])
    _renumber(pipeline, [*stages[:index], stage, *stages[index:]])
    audit.record("stage.created", obj=stage, user=by, data={"pipeline": pipeline.pk})
    return stage


@transaction.atomic
def stage_update(*, stage: "Stage", by: Any, name: str, probability: int) -> dict:
    _require_admin(by)
    return model_update(instance=stage, data={"name": name, "probability": probability},
                        fields=["name", "probability"], user=by, action="stage.updated")


@transaction.atomic
def stage_move(*, stage: "Stage", by: Any, step: int) -> None:
    """Move a stage one place up (step=-1) or down (+1) in its pipeline."""
    _require_admin(by)
    stages = list(stage.pipeline.stages.order_by("position"))
    i = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    j = i + step
    if step not in (-1, 1) or not 0 <= j < len(stages):
        raise ValidationError(_("The stage cannot move further."))
    stages[i], stages[j] = stages[j], stages[i]
    _renumber(stage.pipeline, stages)
    audit.record("stage.reordered", obj=stage, user=by, data={"position": j})


def _renumber(pipeline: "Pipeline", stages: list) -> None:
    """Give `stages` the positions 0..n-1 in order, saving new ones.

    Positions are unique per pipeline, so the rows first move out of the way (to a range no
    stage uses) and then to their final places.
    """
    from patron.sales.models import Stage

    offset = 10000
    existing = [s for s in stages if not s._state.adding]
    for i, s in enumerate(existing):
        Stage.objects.filter(pk=s.pk).update(position=offset + i)
    for i, s in enumerate(stages):
        s.position = i
        if s._state.adding:
            s.save()
        else:
            Stage.objects.filter(pk=s.pk).update(position=i)
