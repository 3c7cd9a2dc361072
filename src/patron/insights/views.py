"""Insight pages: dashboards, the at-risk list, segments, playbooks, refresh and the value panel.

Views parse with a form, authorise, call a selector or a service and render; htmx requests get a
partial of the same template. Dashboards, playbooks and the refresh are for managers (customers
view scope of a subtree or more); segments for anyone who can view customers.
"""

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from patron.accounts import permissions
from patron.accounts.capabilities import Scope
from patron.common.errors import ConflictError
from patron.customers.models import Customer
from patron.customers.selectors import score_sort
from patron.insights import actions, forms, labels, selectors, services
from patron.insights.models import Playbook, ScoreRun, Segment
from patron.web.paging import keyset_page

SEGMENT_PAGE = 50


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _partial(request: HttpRequest, template: str, name: str) -> str:
    return f"{template}#{name}" if request.htmx and not request.htmx.boosted else template


def _get(queryset: Any, pk: Any) -> Any:
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValidationError, ValueError) as error:
        raise Http404 from error


# --- Dashboard, refresh, at-risk list ---------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def dashboard(request: HttpRequest) -> HttpResponse:
    _require(selectors.is_manager(request.user))
    context = selectors.dashboard(run=selectors.current_run())
    context.update(
        active=selectors.active_run(),
        may_manage=selectors.may_manage(request.user),
        whole_org=request.user.scope_for("customers.view") >= Scope.ORGANIZATION,
        **_chart_series(),
    )
    if context.get("ready"):
        context["funnel_tables"] = [
            (_("By source"), context["funnel"]["by_source"]),
            (_("By sales rep"), context["funnel"]["by_rep"]),
        ]
    return render(request, _partial(request, "insights/dashboard.html", "panels"), context)


def _chart_series() -> dict:
    return {
        "chart_series_sales": [
            ("revenue", _("Revenue")),
            ("orders", _("Orders")),
            ("active", _("Active customers")),
        ],
        "chart_series_behaviour": [
            ("aov", _("Average order value")),
            ("per_customer", _("Orders per active customer")),
        ],
        "chart_series_forecast": [
            ("predicted_purchases", _("Forecast purchases")),
            ("actual_orders", _("Actual orders")),
        ],
    }


@login_required
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    _require(selectors.may_manage(request.user))
    run = services.refresh_request(organization=request.user.organization, user=request.user)
    if request.htmx:
        return render(request, "insights/dashboard.html#progress", {"active": run})
    messages.info(request, _("The value refresh has started."))
    return redirect("insights:dashboard")


@login_required
@require_GET
def refresh_progress(request: HttpRequest, pk: Any) -> HttpResponse:
    _require(selectors.is_manager(request.user))
    run = _get(ScoreRun.objects.all(), pk)
    return render(request, "insights/dashboard.html#progress", {"active": run})


# The at-risk list shows the customers with most value at risk; the rest are reached through
# a segment (churn risk at least ..., exportable) rather than pages of a ranking.
AT_RISK_ROWS = 100


@login_required
@require_GET
@vary_on_headers("HX-Request")
def churn_list(request: HttpRequest) -> HttpResponse:
    # Everyone who sees customers: a rep, their own at risk (the selector keeps to what the
    # user may see); a manager, their teams'.
    _require(request.user.scope_for("customers.view") > Scope.NONE)
    form = forms.RiskFilterForm(request.GET)
    status = 200 if form.is_valid() else 400
    limit = AT_RISK_ROWS
    rows = []
    if status == 200:  # one more than shown, to know whether there are more
        rows = selectors.at_risk(user=request.user, threshold=form.threshold_value(), limit=limit + 1)
    return render(
        request,
        _partial(request, "insights/churn_list.html", "results"),
        {"form": form, "rows": rows[:limit], "limit": limit, "more": len(rows) > limit,
         "is_manager": selectors.is_manager(request.user), "may_manage": selectors.may_manage(request.user),
         "may_change": request.user.scope_for("customers.change") > Scope.NONE,
         "whole_org": request.user.scope_for("customers.view") >= Scope.ORGANIZATION},
        status=status,
    )


# --- The customer page's value panel ----------------------------------------------------------


@login_required
@require_GET
def customer_value(request: HttpRequest, pk: Any) -> HttpResponse:
    customer = _get(Customer.objects.visible_to(request.user), pk)
    score = selectors.current_score(user=request.user, customer=customer)
    history = selectors.score_history(user=request.user, customer=customer)
    context: dict[str, Any] = {"customer": customer, "score": score, "history": history}
    if score is not None:
        context.update(
            reasons=actions.reason_texts(score.churn_reasons),
            p_alive_explained=labels.p_alive_explained(score),
            measures_explained=labels.measures_explained(score),
            at_risk=score.churn_risk is not None and score.churn_risk >= actions.CHURN_RISK_THRESHOLD,
            classes=[labels.class10_label(k) for k in score.classes],
            explained=labels.SEGMENT_EXPLAINED.get(score.rfm_segment, ""),
            segment_label=labels.segment_label(score.rfm_segment),
            class8_label=labels.class8_label(score.class8),
            class8_explained=labels.class8_explained(score.class8),
            lifecycle_label=labels.lifecycle_label(score.lifecycle),
            lifecycle_explained=labels.lifecycle_explained(score),
            purchases_text=labels.purchases_text(score),
            churned_of_value=labels.churned_of_value(score),
            cluster_text=labels.cluster_text(score.cluster_label),
            history_rows=[
                {
                    "date": h.as_of.isoformat(),
                    "risk": round(100 * (h.churn_risk or 0), 1),
                    "clv": h.clv or 0,
                }
                for h in history
            ],
            trend_series=[("risk", _("Churn risk (%)")), ("clv", _("12-month CLV"))],
        )
    return render(request, "insights/_customer_value.html", context)


# --- Segments ---------------------------------------------------------------------------------


def _may_segment(user: Any) -> bool:
    return user.scope_for("customers.view") > Scope.NONE


@login_required
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    _require(_may_segment(request.user))
    return render(
        request,
        "insights/segment_list.html",
        {"rows": [(segment, selectors.stored_count_shown(user=request.user, segment=segment))
                  for segment in selectors.segment_list(user=request.user)]},
    )


def _builder(request: HttpRequest, segment: Segment | None) -> tuple[Any, Any, list | None]:
    """The bound name form and condition rows, and the valid conditions (None when invalid)."""
    form = forms.SegmentForm(request.POST)
    rows = forms.condition_formset(request.POST)
    ok = rows.is_valid()
    return form, rows, forms.conditions_of(rows) if ok else None


def _form_page(
    request: HttpRequest,
    segment: Segment | None,
    form: Any,
    rows: Any,
    count: int | None,
    status: int = 200,
) -> HttpResponse:
    template = "insights/segment_form.html"
    if request.POST.get("_preview") and request.htmx:
        # A half-typed condition is normal while typing: the fragment shows the error with a
        # 200, since htmx swaps no error responses. Without htmx the page answers 400.
        template, status = template + "#preview", 200
    return render(
        request,
        template,
        {
            "segment": segment,
            "form": form,
            "rows": rows,
            "count": count,
            "fields": selectors.FIELDS,
            "choice_lists": selectors.choice_lists(),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def segment_form(request: HttpRequest, pk: Any = None) -> HttpResponse:
    """Create or edit a segment; POST with _preview counts the matches without saving."""
    _require(_may_segment(request.user))
    segment = _get(selectors.segment_list(user=request.user), pk) if pk else None
    if segment is not None and request.method == "POST" and not request.POST.get("_preview"):
        _require(permissions.can(request.user, "change", segment))
    if request.method == "GET":
        form = forms.SegmentForm(initial={"name": segment.name, "version": segment.version} if segment else None)
        rows = forms.condition_formset(conditions=segment.conditions if segment else None)
        conditions = _stored_conditions(segment) if segment else None
        count = None if conditions is None else selectors.segment_customers(user=request.user,
                                                                           conditions=conditions).count()
        return _form_page(request, segment, form, rows, count)
    form, rows, conditions = _builder(request, segment)
    if conditions is None:
        return _form_page(request, segment, form, rows, None, status=400)
    count = selectors.segment_customers(user=request.user, conditions=conditions).count()
    if request.POST.get("_preview"):
        return _form_page(request, segment, form, rows, count)
    if not form.is_valid():
        return _form_page(request, segment, form, rows, count, status=400)
    data = {
        "name": form.cleaned_data["name"],
        "conditions": forms.stored(conditions),
        "count": count,
    }
    if segment is None:
        segment = services.segment_create(user=request.user, **data)
    else:
        try:
            services.segment_update(
                segment=segment,
                user=request.user,
                expected_version=form.cleaned_data["version"],
                **data,
            )
        except ConflictError:
            form.add_error(
                None,
                _("Someone else changed this segment meanwhile. Reload it to see their version."),
            )
            return _form_page(request, segment, form, rows, count, status=409)
    messages.success(request, _("Segment saved."))
    return redirect("insights:segment-detail", pk=segment.pk)


def _stored_conditions(segment: Segment) -> list[selectors.Condition] | None:
    """A saved segment's conditions, or None when one no longer holds (a class since renamed,
    a value out of range): its pages say so instead of failing."""
    try:
        return selectors.parse_conditions(segment.conditions)
    except selectors.ConditionError:
        return None


@login_required
@require_GET
def segment_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    segment = _get(selectors.segment_list(user=request.user), pk)
    conditions = _stored_conditions(segment)
    if conditions is None:  # a condition that no longer holds: the page says so, its editor fixes it
        return render(request, "insights/segment_detail.html", {
            "segment": segment, "invalid": True, "count": 0, "customers": [], "conditions": [],
            "can_change": permissions.can(request.user, "change", segment), "can_export": False})
    customers = selectors.segment_customers(user=request.user, conditions=conditions)
    count = customers.count()
    if request.user.pk == segment.owner_id:  # the stored count is the owner's (`segment_counted`)
        services.segment_counted(segment=segment, count=count)
    # An empty segment has no rows to rank: at a million customers on SQLite, looking for them
    # would join and sort every snapshot again (seconds) to show nothing. The ranking is the
    # customer list's by CLV (unscored customers last, on PostgreSQL too, where a plain
    # descending sort put them first), read from the run's CLV index.
    rows = keyset_page(selectors.with_current_score(customers).select_related("owner"),
                       score_sort("clv", descending=True), size=SEGMENT_PAGE).rows if count else []
    return render(
        request,
        "insights/segment_detail.html",
        {
            "segment": segment,
            "count": count,
            "customers": rows,
            "conditions": [_describe(c) for c in conditions],
            "can_change": permissions.can(request.user, "change", segment),
            "can_export": selectors.may_export(request.user),
        },
    )


def _describe(cond: selectors.Condition) -> dict:
    value = selectors.choice_name(cond.field, cond.value)
    kind = selectors.FIELDS[cond.field][1]
    if kind in ("number", "percent"):  # 5,000 as the page's language groups it
        value = formats.number_format(Decimal(value), use_l10n=True, force_grouping=True)
    if kind == "percent":
        value = f"{value}%"
    return {
        "field": selectors.FIELDS[cond.field][2],
        "op": selectors.OPERATORS[cond.op],
        "value": value,
    }


@login_required
@require_POST
def segment_delete(request: HttpRequest, pk: Any) -> HttpResponse:
    segment = _get(selectors.segment_list(user=request.user), pk)
    _require(permissions.can(request.user, "delete", segment) or segment.owner_id == request.user.pk)
    services.segment_delete(segment=segment, user=request.user)
    messages.success(request, _("Segment deleted."))
    return redirect("insights:segment-list")


# --- Playbooks --------------------------------------------------------------------------------


@login_required
@require_GET
def playbook_list(request: HttpRequest) -> HttpResponse:
    _require(selectors.is_manager(request.user))
    playbooks = Playbook.objects.order_by("class_kind", "class_key", "name")
    rows = [{"playbook": p, "class_label": labels.label_for(p.class_kind, p.class_key)} for p in playbooks]
    return render(
        request,
        "insights/playbook_list.html",
        {"rows": rows, "may_manage": selectors.may_manage(request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def playbook_form(request: HttpRequest, pk: Any = None) -> HttpResponse:
    _require(selectors.may_manage(request.user))
    playbook = _get(Playbook.objects.all(), pk) if pk else None
    if request.method == "GET":
        form = forms.PlaybookForm(instance=playbook, initial={"version": playbook.version} if playbook else None)
        return render(request, "insights/playbook_form.html", {"form": form, "playbook": playbook})
    # Validated against a blank instance: the service applies the changes to the stored one.
    form = forms.PlaybookForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            with transaction.atomic():
                services.playbook_save(
                    form=form,
                    user=request.user,
                    playbook=playbook,
                    expected_version=form.cleaned_data.get("version"),
                )
            messages.success(request, _("Playbook saved."))
            return redirect("insights:playbook-list")
        except IntegrityError:
            form.add_error(None, _("A playbook with this class and follow-up already exists."))
        except ConflictError:
            form.add_error(
                None,
                _("Someone else changed this playbook meanwhile. Reload it to see their version."),
            )
            status = 409
    return render(request, "insights/playbook_form.html", {"form": form, "playbook": playbook}, status=status)


@login_required
@require_POST
def playbook_apply(request: HttpRequest, pk: Any) -> HttpResponse:
    _require(selectors.may_manage(request.user))
    playbook = _get(Playbook.objects.filter(is_active=True), pk)
    created = actions.playbook_apply(playbook=playbook, user=request.user)
    if created:
        messages.success(request, ngettext("%(n)d follow-up task created for the owners.",
                                           "%(n)d follow-up tasks created for the owners.", created) % {"n": created})
    else:
        messages.info(request, _("No new task: every customer of this class with an owner already has one from this "
                                 "playbook, still open or made this period."))
    return redirect("insights:playbook-list")
