"""Pages for leads and opportunities: parse with a form, authorise, call a service, render."""

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from patron.accounts import permissions
from patron.activities import services as activity_services
from patron.common import masking
from patron.customers import selectors as customer_selectors
from patron.customers import services as customer_services
from patron.customers.models import Customer
from patron.sales import forms, selectors, services
from patron.sales.models import Lead, Opportunity
from patron.web.forms import submit, submit_returning

GET_POST = require_http_methods(["GET", "POST"])


def guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in required; a refused service call is a 403, a record out of sight a 404."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except permissions.PermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        except (Lead.DoesNotExist, Opportunity.DoesNotExist, Customer.DoesNotExist) as exc:
            raise Http404 from exc

    return login_required(wrapper)


def changeable(request: HttpRequest, obj: Any) -> Any:
    """A record the user sees but may not change is a 403 (one they cannot see was a 404)."""
    if not permissions.can(request.user, "change", obj):
        raise PermissionDenied(f"{obj.permission_resource}.change")
    return obj


def partial(request: HttpRequest, template: str, name: str) -> str:
    return f"{template}#{name}" if request.htmx else template


def safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- Leads -------------------------------------------------------------------------------


def _present_lead(user: Any, lead: Lead) -> Lead:
    for name in Lead.sensitive_fields:
        setattr(lead, f"{name}_shown", masking.present(user, lead, name))
    return lead


@require_GET
@guarded
@vary_on_headers("HX-Request")
def lead_list(request: HttpRequest) -> HttpResponse:
    form = forms.LeadFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Invalid filters."))
    leads = selectors.lead_list(user=request.user, filters=form.cleaned_data)
    page = selectors.keyset_page(leads, cursor=form.cleaned_data["cursor"])
    page.items = [_present_lead(request.user, lead) for lead in page.items]
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        partial(request, "sales/lead_list.html", "results"),
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_add": permissions.can_create(request.user, "leads"),
        },
    )


def _lead_detail(request: HttpRequest, lead: Lead, status: int = 200, **extra: Any) -> HttpResponse:
    user = request.user
    # A converted lead links to its customer instead: the duplicates check found that very
    # customer (same phone and e-mail) and warned of it.
    converted = lead.status == Lead.Status.CONVERTED
    context = {
        "lead": _present_lead(user, lead),
        "can_change": permissions.can(user, "change", lead),
        "can_reveal": masking.may_reveal(user, lead),
        "interactions": selectors.interactions_of_lead(user=user, lead=lead),
        "interaction_form": forms.InteractionForm(),
        "disqualify_form": forms.LeadDisqualifyForm(),
        "duplicates": [] if converted else customer_selectors.customer_duplicates(
            user=user, phone=lead.phone, email=lead.email
        ),
        "converted_customer": selectors.lead_converted_customer(user=user, lead=lead) if converted else None,
        "errors": [],
        **extra,
    }
    return render(request, "sales/lead_detail.html", context, status=status)


@require_GET
@guarded
def lead_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    return _lead_detail(request, selectors.lead_get(user=request.user, pk=pk))


@GET_POST
@guarded
def lead_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_create(request.user, "leads"):
        raise PermissionDenied("leads.add")
    form = forms.LeadForm(request.POST or None, user=request.user)
    status = 200
    if form.is_bound:
        lead, status = submit_returning(
            form, lambda: services.lead_create(user=request.user, data=form.to_data())
        )
        if status is None:
            return redirect("sales:lead-detail", pk=lead.pk)
    return render(request, "sales/lead_form.html", {"form": form}, status=status)


@GET_POST
@guarded
def lead_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    lead = changeable(request, selectors.lead_get(user=request.user, pk=pk))
    form = forms.LeadForm(request.POST or None, lead=lead, user=request.user)
    status = 200
    if request.method == "POST":
        status = submit(form, lambda: services.lead_update(
            lead=lead, user=request.user, data=form.to_data(),
            expected_version=form.cleaned_data["expected_version"],
        ))
        if status is None:
            return redirect("sales:lead-detail", pk=lead.pk)
    return render(request, "sales/lead_form.html", {"form": form, "lead": lead}, status=status)


@require_GET
@guarded
@vary_on_headers("HX-Request")
def lead_duplicates(request: HttpRequest) -> HttpResponse:
    """What already exists with the phone, e-mail or name being typed (polled by the form)."""
    form = forms.LeadDuplicateForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Invalid input."))
    data = form.cleaned_data
    customers = customer_selectors.customer_duplicates(
        user=request.user,
        phone=data["phone"],
        email=data["email"],
        name=data["company_name"] or data["name"],
    )
    leads = selectors.lead_duplicates(
        user=request.user, phone=data["phone"], email=data["email"], exclude=data["lead"]
    )
    return render(
        request, "sales/lead_form.html#duplicates", {"customers": customers, "leads": leads}
    )


@require_POST
@guarded
def lead_qualify(request: HttpRequest, pk: Any) -> HttpResponse:
    lead = selectors.lead_get(user=request.user, pk=pk)
    try:
        services.lead_qualify(lead=lead, user=request.user)
    except ValidationError as exc:
        return _lead_detail(request, lead, status=400, errors=exc.messages)
    return redirect("sales:lead-detail", pk=lead.pk)


@require_POST
@guarded
def lead_disqualify(request: HttpRequest, pk: Any) -> HttpResponse:
    lead = selectors.lead_get(user=request.user, pk=pk)
    form = forms.LeadDisqualifyForm(request.POST)
    # An invalid form never reaches the service, which is what checks the permission.
    if not form.is_valid() and not permissions.can(request.user, "change", lead):
        raise PermissionDenied("leads.change")
    status = submit(form, lambda: services.lead_disqualify(
        lead=lead, user=request.user, reason=form.cleaned_data["reason"]
    ))
    if status is None:
        return redirect("sales:lead-detail", pk=lead.pk)
    return _lead_detail(request, lead, status=status, disqualify_form=form)


@require_POST
@guarded
@vary_on_headers("HX-Request")
def lead_reveal(request: HttpRequest, pk: Any) -> HttpResponse:
    """Show one sensitive field in clear to a user allowed to; audited by the service."""
    lead = selectors.lead_get(user=request.user, pk=pk)
    field = request.POST.get("field", "")
    if field not in Lead.sensitive_fields:
        return HttpResponseBadRequest(_("Invalid input."))
    value = customer_services.customer_reveal(customer=lead, user=request.user, field=field)
    if request.htmx:
        return render(request, "sales/_sensitive.html#revealed", {"value": value})
    lead = _present_lead(request.user, lead)
    setattr(lead, f"{field}_shown", value)
    return _lead_detail(request, lead)


@require_POST
@guarded
@vary_on_headers("HX-Request")
def lead_interaction(request: HttpRequest, pk: Any) -> HttpResponse:
    """Log a call, visit, message ... on the lead's timeline."""
    lead = selectors.lead_get(user=request.user, pk=pk)
    form = forms.InteractionForm(request.POST)
    status = submit(form, lambda: activity_services.interaction_log(
        user=request.user, lead=lead, **form.cleaned_data
    )) or 200
    if request.htmx:
        context = {
            "lead": lead,
            "interactions": selectors.interactions_of_lead(user=request.user, lead=lead),
            "interaction_form": form if status != 200 else forms.InteractionForm(),
            "can_change": permissions.can(request.user, "change", lead),
        }
        return render(request, "sales/lead_detail.html#timeline", context, status=status)
    if status == 200:
        return redirect("sales:lead-detail", pk=lead.pk)
    return _lead_detail(request, lead, status=status, interaction_form=form)


def _convert_candidates(user: Any, lead: Lead) -> Any:
    """Existing customers the duplicate check finds for the lead, that the user may change."""
    found = customer_selectors.customer_duplicates(
        user=user, phone=lead.phone, email=lead.email, name=lead.company_name or lead.name
    )
    return Customer.objects.visible_to(user, "change").filter(pk__in=[d["id"] for d in found])


@GET_POST
@guarded
def lead_convert(request: HttpRequest, pk: Any) -> HttpResponse:
    lead = changeable(request, selectors.lead_get(user=request.user, pk=pk))
    candidates = _convert_candidates(request.user, lead)
    initial = {
        "opportunity_name": lead.company_name or lead.name,
        "amount": lead.estimated_value,
        "customer": candidates.first(),
    }
    form = forms.LeadConvertForm(request.POST or None, customers=candidates, initial=initial)

    def convert() -> Customer:
        data = form.cleaned_data
        customer, _opportunity = services.lead_convert(
            lead=lead,
            user=request.user,
            customer=data["customer"],
            create_opportunity=data["create_opportunity"],
            opportunity_name=data["opportunity_name"],
            amount=data["amount"],
            pipeline=data["pipeline"],
        )
        return customer

    status = 200
    if form.is_bound:
        customer, status = submit_returning(form, convert)
        if status is None:
            return redirect(_customer_url(customer) or reverse("sales:lead-detail", args=[lead.pk]))
    context = {"form": form, "lead": _present_lead(request.user, lead), "candidates": candidates}
    return render(request, "sales/lead_convert.html", context, status=status)


# --- Opportunities -----------------------------------------------------------------------


@require_GET
@guarded
@vary_on_headers("HX-Request")
def opportunity_board(request: HttpRequest) -> HttpResponse:
    form = forms.BoardForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Invalid filters."))
    pipeline = form.cleaned_data["pipeline"] or selectors.pipeline_default()
    return render(
        request,
        partial(request, "sales/opportunity_board.html", "board"),
        _board_context(request, pipeline, form=form),
    )


def _board_context(request: HttpRequest, pipeline: Any, **extra: Any) -> dict[str, Any]:
    columns = selectors.opportunity_board(user=request.user, pipeline=pipeline) if pipeline else []
    stages = [column.stage for column in columns]
    return {
        "pipeline": pipeline,
        "columns": columns,
        "stages": stages,
        "can_add": permissions.can_create(request.user, "opportunities"),
        **extra,
    }


@require_GET
@guarded
@vary_on_headers("HX-Request")
def opportunity_list(request: HttpRequest) -> HttpResponse:
    form = forms.OpportunityFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Invalid filters."))
    opportunities = selectors.opportunity_list(user=request.user, filters=form.cleaned_data)
    page = selectors.keyset_page(opportunities, cursor=form.cleaned_data["cursor"])
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        partial(request, "sales/opportunity_list.html", "results"),
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_add": permissions.can_create(request.user, "opportunities"),
        },
    )


@require_GET
@guarded
def opportunity_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    opportunity = selectors.opportunity_get(user=request.user, pk=pk)
    return render(
        request,
        "sales/opportunity_detail.html",
        {
            "opportunity": opportunity,
            "can_change": permissions.can(request.user, "change", opportunity),
            "move_form": forms.OpportunityMoveForm(
                opportunity=opportunity, initial={"expected_version": opportunity.version}
            ),
        },
    )


@GET_POST
@guarded
def opportunity_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_create(request.user, "opportunities"):
        raise PermissionDenied("opportunities.add")
    initial = {"customer": request.GET.get("customer")} if request.GET.get("customer") else None
    form = forms.OpportunityForm(request.POST or None, user=request.user, initial=initial)
    status = 200
    if form.is_bound:
        opp, status = submit_returning(form, lambda: services.opportunity_create(
            user=request.user,
            customer=form.cleaned_data["customer"],
            pipeline=form.cleaned_data["pipeline"],
            data=form.to_data(),
        ))
        if status is None:
            return redirect("sales:opportunity-detail", pk=opp.pk)
    return render(request, "sales/opportunity_form.html", {"form": form}, status=status)


@GET_POST
@guarded
def opportunity_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    opportunity = changeable(request, selectors.opportunity_get(user=request.user, pk=pk))
    form = forms.OpportunityForm(request.POST or None, user=request.user, opportunity=opportunity)
    status = 200
    if request.method == "POST":
        status = submit(form, lambda: services.opportunity_update(
            opportunity=opportunity, user=request.user, data=form.to_data(),
            expected_version=form.cleaned_data["expected_version"],
        ))
        if status is None:
            return redirect("sales:opportunity-detail", pk=opportunity.pk)
    context = {"form": form, "opportunity": opportunity}
    return render(request, "sales/opportunity_form.html", context, status=status)


@GET_POST
@guarded
@vary_on_headers("HX-Request")
def opportunity_move(request: HttpRequest, pk: Any) -> HttpResponse:
    """Move a deal to another stage: from the board (drag and drop, htmx) or a plain form.

    The htmx answer is the whole board, because a move changes two columns' counts and totals.
    """
    opportunity = changeable(request, selectors.opportunity_get(user=request.user, pk=pk))
    form = forms.OpportunityMoveForm(
        request.POST or None,
        opportunity=opportunity,
        initial={
            "expected_version": opportunity.version,
            "stage": request.GET.get("stage") or opportunity.stage_id,
        },
    )
    status = 200
    if request.method == "POST":
        status = submit(form, lambda: services.opportunity_move(
            opportunity=opportunity,
            user=request.user,
            stage=form.cleaned_data["stage"],
            lost_reason=form.cleaned_data["lost_reason"],
            expected_version=form.cleaned_data["expected_version"],
        ))
        if status is None:
            if request.htmx:
                return render(
                    request,
                    "sales/opportunity_board.html#board",
                    _board_context(request, opportunity.pipeline),
                )
            return redirect(safe_next(request, _board_url(opportunity)))
    context = {"form": form, "opportunity": opportunity, "next": safe_next(request, "")}
    return render(
        request,
        partial(request, "sales/opportunity_move.html", "move-form"),
        context,
        status=status,
    )


def _customer_url(customer: Customer) -> str:
    try:
        return reverse("customers:customer-detail", args=[customer.pk])
    except NoReverseMatch:  # the customer pages may be absent in a trimmed install
        return ""


def _board_url(opportunity: Opportunity) -> str:
    return f"{reverse('sales:opportunity-board')}?pipeline={opportunity.pipeline_id}"
