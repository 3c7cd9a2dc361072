"""Task pages: my tasks and my team's by due date, done and rescheduled in place, reminders."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from patron.accounts import permissions
from patron.activities import forms, selectors, services
from patron.activities.models import Task
from patron.common.errors import ConflictError
from patron.web.forms import submit

# htmx stops an `every 60s` poll when the answer has this status.
HTMX_STOP_POLLING = 286


def _task(request: HttpRequest, pk: Any, action: str = "view") -> Task:
    try:
        return selectors.task_get(user=request.user, pk=pk, action=action)
    except Task.DoesNotExist as exc:
        raise Http404 from exc


def _row(request: HttpRequest, task: Task, status: int = 200, **extra: Any) -> HttpResponse:
    """The task's table row (htmx) or back to the list (plain form post)."""
    if request.htmx:
        context = {
            "task": task,
            "now": timezone.now(),
            "reschedule_form": extra.pop("reschedule_form", None),
            **extra,
        }
        return render(request, "activities/task_list.html#row", context, status=status)
    if status >= 400:
        return HttpResponseBadRequest("; ".join(extra.get("errors", [])) or _("Invalid input."))
    return redirect("activities:task-list")


@require_GET
@login_required
@vary_on_headers("HX-Request")
def task_list(request: HttpRequest) -> HttpResponse:
    form = forms.TaskFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Invalid filters."))
    whose = form.cleaned_data["whose"] or "mine"
    team_view = selectors.sees_team_tasks(request.user)
    if whose == "team" and not team_view:
        raise PermissionDenied("tasks.view")
    now = timezone.now()
    buckets = selectors.task_buckets(user=request.user, now=now, whose=whose)
    template = "activities/task_list.html" + ("#buckets" if request.htmx else "")
    return render(
        request,
        template,
        {
            "form": form,
            "buckets": buckets,
            "whose": whose,
            "team_view": team_view,
            "now": now,
            "can_add": permissions.can_create(request.user, "tasks"),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def task_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_create(request.user, "tasks"):
        raise PermissionDenied("tasks.add")
    form = forms.TaskForm(request.POST or None)
    status = 200
    if form.is_bound:
        status = submit(form, lambda: services.task_create(user=request.user, **form.cleaned_data))
        if status is None:
            return redirect("activities:task-list")
    return render(request, "activities/task_form.html", {"form": form}, status=status)


@require_POST
@login_required
@vary_on_headers("HX-Request")
def task_complete(request: HttpRequest, pk: Any) -> HttpResponse:
    task = _task(request, pk)
    try:
        services.task_complete(task=task, user=request.user)
    except permissions.PermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    except ValidationError as exc:
        return _row(request, task, status=400, errors=exc.messages)
    return _row(request, task)


@require_POST
@login_required
@vary_on_headers("HX-Request")
def task_reschedule(request: HttpRequest, pk: Any) -> HttpResponse:
    task = _task(request, pk)
    form = forms.TaskRescheduleForm(request.POST)
    if not form.is_valid():
        return _row(
            request, task, status=400, reschedule_form=form, errors=[_("Give a valid date.")]
        )
    try:
        services.task_reschedule(
            task=task,
            user=request.user,
            due_at=form.cleaned_data["due_at"],
            expected_version=form.cleaned_data["expected_version"],
        )
    except permissions.PermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    except ConflictError as exc:
        return _row(request, task, status=409, errors=[str(exc)])
    except ValidationError as exc:
        return _row(request, task, status=400, reschedule_form=form, errors=exc.messages)
    return _row(request, task)


@require_GET
def task_reminders(request: HttpRequest) -> HttpResponse:
    """The small fragment base.html polls every minute: my open tasks whose reminder is due."""
    if not request.user.is_authenticated:
        # Signed out meanwhile: answer htmx's "stop polling" code, never the sign-in page.
        return HttpResponse(status=HTMX_STOP_POLLING)
    # A user outside any organisation (a bare superuser) has no tasks, and no scope to query.
    if request.user.organization_id is None:
        tasks = []
    else:
        tasks = selectors.task_reminders(user=request.user, now=timezone.now())
    return render(request, "activities/task_reminders.html", {"reminders": tasks})
