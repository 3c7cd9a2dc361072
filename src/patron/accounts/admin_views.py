"""The organisation's admin pages: its settings, users, teams, roles, pipelines and stages.

Only holders of "admin.manage" get in; everyone else gets the 403 page. The services check
the capability again, so the pages are not the only guard.
"""

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patron.accounts import forms, permissions, services
from patron.accounts.capabilities import Scope
from patron.accounts.models import Role, Team, User
from patron.organizations import forms as organization_forms
from patron.organizations import services as organization_services
from patron.sales.models import Pipeline, Stage
from patron.web.forms import submit, submit_returning

GET_POST = require_http_methods(["GET", "POST"])


def admin_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.scope_for("admin.manage") == Scope.NONE:
            raise PermissionDenied("admin.manage")
        try:
            return view(request, *args, **kwargs)
        except permissions.PermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        except (
            User.DoesNotExist,
            Team.DoesNotExist,
            Role.DoesNotExist,
            Pipeline.DoesNotExist,
            Stage.DoesNotExist,
        ) as exc:
            raise Http404 from exc

    return login_required(wrapper)


def _users(request: HttpRequest) -> Any:
    # Users are not tenant rows (sign-in looks them up across organisations): filter here.
    return User.objects.filter(organization_id=request.user.organization_id)


@require_GET
@admin_only
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "staff/home.html",
        {
            "user_count": _users(request).filter(is_active=True).count(),
            "team_count": Team.objects.count(),
            "role_count": Role.objects.count(),
            "pipeline_count": Pipeline.objects.count(),
        },
    )


@GET_POST
@admin_only
def organization_edit(request: HttpRequest) -> HttpResponse:
    organization = request.user.organization
    form = organization_forms.OrganizationForm(
        request.POST or None, initial={name: getattr(organization, name) for name in organization_services.SETTINGS}
    )
    status = 200
    if form.is_bound:
        status = submit(form, lambda: organization_services.organization_update(
            organization=organization, by=request.user, data=form.cleaned_data))
        if status is None:
            messages.success(request, _("Organisation settings saved."))
            return redirect("staff:organization-edit")
    return render(request, "staff/organization_form.html", {"form": form}, status=status)


@require_GET
@admin_only
def user_list(request: HttpRequest) -> HttpResponse:
    users = (
        _users(request)
        .select_related("team")
        .prefetch_related("roles")
        .order_by("-is_active", "username")
    )
    return render(request, "staff/user_list.html", {"users": users})


@GET_POST
@admin_only
def user_create(request: HttpRequest) -> HttpResponse:
    form = forms.UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.user_create(
            organization=request.user.organization,
            username=data["username"],
            password=data["password"] or None,
            roles=[r.key for r in data["roles"]],
            team=data["team"],
            display_name=data["display_name"],
            email=data["email"],
            created_by=request.user,
        )
        return redirect("staff:user-list")
    return render(
        request, "staff/user_form.html", {"form": form}, status=400 if form.is_bound else 200
    )


@GET_POST
@admin_only
def user_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    subject = _users(request).get(pk=pk)
    initial = {
        "display_name": subject.display_name,
        "email": subject.email,
        "team": subject.team_id,
        "roles": list(subject.roles.all()),
        "is_active": subject.is_active,
    }
    form = forms.UserForm(request.POST or None, editing=True, initial=initial)
    status = 200
    if form.is_bound:
        status = submit(
            form, lambda: services.user_update(user=subject, by=request.user, data=form.cleaned_data)
        )
        if status is None:
            return redirect("staff:user-list")
    context = {"form": form, "subject": subject}
    return render(request, "staff/user_form.html", context, status=status)


@require_POST
@admin_only
def user_deactivate(request: HttpRequest, pk: Any) -> HttpResponse:
    subject = _users(request).get(pk=pk)
    try:
        services.user_update(user=subject, by=request.user, data={"is_active": False})
    except ValidationError as exc:
        return render(
            request,
            "staff/user_list.html",
            {
                "users": _users(request).order_by("-is_active", "username"),
                "errors": exc.messages,
            },
            status=400,
        )
    return redirect("staff:user-list")


@GET_POST
@admin_only
def team_list(request: HttpRequest) -> HttpResponse:
    """The team tree, and the form adding a team under any node."""
    form = forms.TeamForm(request.POST or None)
    status = 200
    if form.is_bound:
        status = submit(form, lambda: services.team_add(
            by=request.user, name=form.cleaned_data["name"], parent=form.cleaned_data["parent"]
        ))
        if status is None:
            return redirect("staff:team-list")
    teams = list(Team.objects.order_by("name"))
    members = {}
    for team_id in _users(request).filter(is_active=True).values_list("team_id", flat=True):
        members[team_id] = members.get(team_id, 0) + 1
    for team in teams:
        team.member_count = members.get(team.pk, 0)
    context = {"form": form, "tree": _tree(teams)}
    return render(request, "staff/team_list.html", context, status=status)


def _tree(teams: list[Team]) -> list[tuple[Team, list]]:
    """Nest teams as [(team, children)], keeping the given (name) order at every level."""
    nodes: dict[Any, tuple[Team, list]] = {t.pk: (t, []) for t in teams}
    roots = []
    for team in teams:
        parent = nodes.get(team.parent_id)
        (parent[1] if parent else roots).append(nodes[team.pk])
    return roots


@GET_POST
@admin_only
def team_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    team = Team.objects.get(pk=pk)
    form = forms.TeamForm(
        request.POST or None, team=team, initial={"name": team.name, "parent": team.parent_id}
    )
    status = 200
    if form.is_bound:
        status = submit(
            form, lambda: services.team_update(team=team, by=request.user, **form.cleaned_data)
        )
        if status is None:
            return redirect("staff:team-list")
    return render(request, "staff/team_form.html", {"form": form, "team": team}, status=status)


@GET_POST
@admin_only
def role_list(request: HttpRequest) -> HttpResponse:
    form = forms.RoleCreateForm(request.POST or None)
    status = 200
    if form.is_bound:
        role, status = submit_returning(
            form, lambda: services.role_create(by=request.user, **form.cleaned_data)
        )
        if status is None:
            return redirect("staff:role-edit", pk=role.pk)
    roles = Role.objects.order_by("name")
    return render(request, "staff/role_list.html", {"roles": roles, "form": form}, status=status)


@GET_POST
@admin_only
def role_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    role = Role.objects.get(pk=pk)
    form = forms.RoleForm(request.POST or None, role=role)
    status = 200
    if form.is_bound:
        status = submit(form, lambda: services.role_update(
            role=role,
            by=request.user,
            name=form.cleaned_data["name"],
            capabilities=form.capabilities(),
            expected_version=form.cleaned_data["expected_version"],
        ))
        if status is None:
            return redirect("staff:role-list")
    return render(
        request,
        "staff/role_form.html",
        {"form": form, "role": role, "scopes": Scope.choices},
        status=status,
    )


@GET_POST
@admin_only
def pipeline_list(request: HttpRequest) -> HttpResponse:
    form = forms.PipelineForm(request.POST or None)
    status = 200
    if form.is_bound:
        pipeline, status = submit_returning(
            form, lambda: services.pipeline_create(by=request.user, name=form.cleaned_data["name"])
        )
        if status is None:
            return redirect("staff:pipeline-edit", pk=pipeline.pk)
    pipelines = Pipeline.objects.prefetch_related("stages").order_by("position", "name")
    context = {"pipelines": pipelines, "form": form}
    return render(request, "staff/pipeline_list.html", context, status=status)


@GET_POST
@admin_only
def pipeline_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    """Rename the pipeline; list its stages with rename, probability and reorder controls."""
    pipeline = Pipeline.objects.get(pk=pk)
    form = forms.PipelineForm(
        request.POST or None, initial={"name": pipeline.name, "is_default": pipeline.is_default}
    )
    status = 200
    if form.is_bound:
        status = submit(form, lambda: services.pipeline_update(
            pipeline=pipeline, by=request.user, **form.cleaned_data
        ))
        if status is None:
            return redirect("staff:pipeline-edit", pk=pipeline.pk)
    return _pipeline_page(request, pipeline, form=form, status=status)


def _pipeline_page(
    request: HttpRequest, pipeline: Pipeline, status: int = 200, **extra: Any
) -> HttpResponse:
    stages = list(pipeline.stages.order_by("position"))
    rows = [
        (
            s,
            forms.StageForm(
                editing=True,
                prefix=f"s{s.pk.hex[:8]}",
                initial={"name": s.name, "probability": s.probability},
            ),
        )
        for s in stages
    ]
    context = {
        "pipeline": pipeline,
        "rows": rows,
        "stage_form": forms.StageForm(prefix="new"),
        "form": forms.PipelineForm(
            initial={"name": pipeline.name, "is_default": pipeline.is_default}
        ),
        **extra,
    }
    return render(request, "staff/pipeline_form.html", context, status=status)


@require_POST
@admin_only
def stage_create(request: HttpRequest, pk: Any) -> HttpResponse:
    pipeline = Pipeline.objects.get(pk=pk)
    form = forms.StageForm(request.POST, prefix="new")
    status = submit(
        form, lambda: services.stage_create(pipeline=pipeline, by=request.user, **form.cleaned_data)
    )
    if status is None:
        return redirect("staff:pipeline-edit", pk=pipeline.pk)
    return _pipeline_page(request, pipeline, stage_form=form, status=status)


@require_POST
@admin_only
def stage_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    stage = Stage.objects.select_related("pipeline").get(pk=pk)
    form = forms.StageForm(request.POST, editing=True, prefix=f"s{stage.pk.hex[:8]}")
    if form.is_valid():
        services.stage_update(stage=stage, by=request.user, **form.cleaned_data)
        return redirect("staff:pipeline-edit", pk=stage.pipeline_id)
    return _pipeline_page(request, stage.pipeline, status=400, stage_errors=form.errors)


@require_POST
@admin_only
def stage_move(request: HttpRequest, pk: Any) -> HttpResponse:
    stage = Stage.objects.select_related("pipeline").get(pk=pk)
    form = forms.StageMoveForm(request.POST)
    if form.is_valid():
        try:
            services.stage_move(stage=stage, by=request.user, step=form.cleaned_data["step"])
        except ValidationError as exc:
            return _pipeline_page(
                request, stage.pipeline, status=400, stage_errors={"": exc.messages}
            )
        return redirect("staff:pipeline-edit", pk=stage.pipeline_id)
    return _pipeline_page(request, stage.pipeline, status=400, stage_errors=form.errors)
