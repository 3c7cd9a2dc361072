"""Customer pages: the list, the customer's 360 page, create/edit, transfer and delete.

Views parse with a form, authorise, call a selector or a service, and render; htmx requests
get a partial of the same template. A customer the user may not see is a 404.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from patron.accounts import permissions
from patron.activities import services as activities
from patron.common import masking
from patron.common.errors import ConflictError
from patron.customers import selectors, services
from patron.customers.forms import (
    ContactForm,
    CustomerFilterForm,
    CustomerForm,
    InteractionForm,
    RevealForm,
    SavedViewForm,
    TaskForm,
    TransferForm,
)
from patron.customers.models import Customer, SavedView
from patron.web.forms import submit, submit_returning
from patron.web.paging import InvalidCursor, keyset_page

PAGE_SIZE = 50
PAGING_KEYS = ("after", "before")


def _get_customer(user: Any, pk: Any) -> Customer:
    try:
        return selectors.customer_get(user=user, pk=pk)
    except (Customer.DoesNotExist, ValidationError, ValueError) as error:
        raise Http404 from error


def _deny_unless(user: Any, action: str, customer: Customer) -> None:
    if not permissions.can(user, action, customer):
        raise PermissionDenied(action)


def _view_query(request: HttpRequest) -> str:
    """The list's query string without paging: what a saved view stores."""
    params = request.GET.copy()
    for key in PAGING_KEYS:
        params.pop(key, None)
    return params.urlencode()


@login_required
@require_GET
@vary_on_headers("HX-Request")
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerFilterForm(request.GET, user=request.user)
    query = _view_query(request)
    context: dict[str, Any] = {
        "form": form,
        "page": None,
        "query": query,
        "saved_views": selectors.saved_view_list(user=request.user),
        "saved_view_form": SavedViewForm(initial={"query": query}),
        "can_add": permissions.can_create(request.user, "customers"),
    }
    status = 400
    if form.is_valid():
        from patron.insights import labels
        from patron.insights import selectors as insights

        qs = insights.with_current_score(selectors.customer_list(user=request.user, filters=form.selector_filters()))
        try:
            context["page"] = keyset_page(
                qs,
                selectors.list_sort(form.sort_key(), qs),
                after=form.cleaned_data["after"],
                before=form.cleaned_data["before"],
                size=PAGE_SIZE,
            )
            for row in context["page"].rows:
                row.value_class = labels.class8_label(row.score_class8) if row.score_class8 else ""
            status = 200
        except InvalidCursor:
            form.add_error(None, _("This page link is no longer valid; start from the first page."))
    template = "customers/customer_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context, status=status)


@login_required
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the view a name."))
        return redirect("customers:customer-list")
    query = QueryDict(form.cleaned_data["query"]).copy()
    for key in PAGING_KEYS:
        query.pop(key, None)
    try:
        with transaction.atomic():  # a clash must not break the request's transaction
            SavedView.objects.create(
                organization_id=request.user.organization_id,
                owner=request.user,
                name=form.cleaned_data["name"],
                query=query.urlencode(),
            )
    except IntegrityError:
        messages.error(request, _("You already have a view with this name."))
    else:
        messages.success(request, _("View saved."))
    return redirect(f"{reverse('customers:customer-list')}?{query.urlencode()}")


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, pk: Any) -> HttpResponse:
    deleted, _count = SavedView.objects.filter(owner=request.user, pk=pk).delete()
    if not deleted:
        raise Http404
    messages.success(request, _("View deleted."))
    return redirect("customers:customer-list")


def detail_context(request: HttpRequest, customer: Customer, **extra: Any) -> dict[str, Any]:
    user = request.user
    can_change = permissions.can(user, "change", customer)
    sensitive = [
        {
            "name": f,
            "label": Customer._meta.get_field(f).verbose_name,
            "value": masking.present(user, customer, f),
        }
        for f in Customer.sensitive_fields
    ]
    context = {
        "customer": customer,
        "sensitive": sensitive,
        "contacts": customer.contacts.order_by("-is_primary", "name"),
        "tags": customer.tags.order_by("name"),
        "summary": selectors.customer_purchase_summary(user=user, customer=customer),
        "timeline": selectors.customer_timeline(user=user, customer=customer),
        "may_reveal": masking.may_reveal(user, customer),
        "can_change": can_change,
        "can_transfer": permissions.can(user, "transfer", customer),
        "can_delete": permissions.can(user, "delete", customer),
        "can_log": permissions.can_create(user, "interactions"),
        "can_add_task": permissions.can_create(user, "tasks"),
        "interaction_form": InteractionForm(initial={"kind": "call"}),
        "task_form": TaskForm(),
        "revealed": {},
    }
    context.update(extra)
    return context


@login_required
@require_GET
@vary_on_headers("HX-Request")
def customer_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    try:
        customer = _get_customer(request.user, pk)
    except Http404:
        # A customer merged away: its old address (bookmarked, in a task or an e-mail) leads
        # to the customer it was merged into, if this user may see that one.
        survivor = selectors.merged_into(user=request.user, pk=pk)
        if survivor is None:
            raise
        messages.info(request, _("This customer was merged into %(name)s.") % {"name": survivor.name})
        return redirect("customers:customer-detail", survivor.pk)
    template = "customers/customer_detail.html"
    if request.htmx and request.GET.get("fragment") == "timeline":
        template += "#timeline"
    return render(request, template, detail_context(request, customer))


@login_required
@require_POST
@vary_on_headers("HX-Request")
def customer_reveal(request: HttpRequest, pk: Any) -> HttpResponse:
    customer = _get_customer(request.user, pk)
    form = RevealForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Unknown field."), status=400)
    field = form.cleaned_data["field"]
    try:
        value = services.customer_reveal(customer=customer, user=request.user, field=field)
    except permissions.PermissionDenied as error:
        raise PermissionDenied from error
    if request.htmx:
        return render(
            request,
            "customers/customer_detail.html#revealed-value",
            {"value": value, "field": field},
        )
    context = detail_context(request, customer, revealed={field: value})
    for item in context["sensitive"]:
        if item["name"] == field:
            item["value"], item["revealed"] = value, True
    return render(request, "customers/customer_detail.html", context)


def _timeline_response(request: HttpRequest, customer: Customer) -> HttpResponse:
    """After a write: the fresh timeline for htmx, a redirect to the page otherwise."""
    if request.htmx:
        context = {
            "customer": customer,
            "timeline": selectors.customer_timeline(user=request.user, customer=customer),
        }
        response = render(request, "customers/customer_detail.html#timeline", context)
        response["HX-Trigger"] = "timeline-updated"
        return response
    return redirect("customers:customer-detail", pk=customer.pk)


def _form_error_response(
    request: HttpRequest, customer: Customer, name: str, form: Any
) -> HttpResponse:
    """Invalid input: the form again with its errors (the form itself for htmx)."""
    if request.htmx:
        response = render(
            request,
            f"customers/customer_detail.html#{name}",
            {"customer": customer, f"{name.replace('-', '_')}": form},
            status=400,
        )
        return reswap(retarget(response, f"#{name}"), "outerHTML")
    context = detail_context(request, customer, **{name.replace("-", "_"): form})
    return render(request, "customers/customer_detail.html", context, status=400)


def _timeline_write(
    request: HttpRequest, customer: Customer, name: str, form: Form, write: Callable[[], object]
) -> HttpResponse:
    """Run a write from one of the page's timeline forms: the fresh timeline, or the form again."""
    try:
        status = submit(form, write)
    except permissions.PermissionDenied as error:
        raise PermissionDenied from error
    if status is None:
        return _timeline_response(request, customer)
    return _form_error_response(request, customer, name, form)


@login_required
@require_POST
def interaction_log(request: HttpRequest, pk: Any) -> HttpResponse:
    customer = _get_customer(request.user, pk)
    form = InteractionForm(request.POST)
    return _timeline_write(request, customer, "interaction-form", form, lambda: (
        activities.interaction_log(user=request.user, customer=customer, **form.cleaned_data)
    ))


@login_required
@require_POST
def task_add(request: HttpRequest, pk: Any) -> HttpResponse:
    customer = _get_customer(request.user, pk)
    form = TaskForm(request.POST)
    return _timeline_write(request, customer, "task-form", form, lambda: (
        activities.task_create(user=request.user, customer=customer, **form.cleaned_data)
    ))


def _region(user: Any) -> str:
    return user.organization.phone_region if user.organization_id else "CN"


@login_required
@require_http_methods(["GET", "POST"])
def customer_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_create(request.user, "customers"):
        raise PermissionDenied("customers.add")
    form = CustomerForm(request.POST or None, region=_region(request.user))
    status = 200
    if request.method == "POST":
        customer, status = submit_returning(form, lambda: services.customer_create(
            user=request.user, data=form.service_data(), tags=list(form.cleaned_data["tags"])
        ))
        if status is None:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("customers:customer-detail", pk=customer.pk)
    return render(
        request, "customers/customer_form.html", {"form": form, "customer": None}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    customer = _get_customer(request.user, pk)
    _deny_unless(request.user, "change", customer)
    region = _region(request.user)
    if request.method == "GET":
        form = CustomerForm(initial=CustomerForm.initial_for(customer), region=region, customer=customer,
                            user=request.user)
        return render(request, "customers/customer_form.html", {"form": form, "customer": customer})
    form = CustomerForm(request.POST, region=region, customer=customer, user=request.user)

    def save() -> None:
        services.customer_update(
            customer=customer,
            user=request.user,
            data=form.service_data(),
            expected_version=form.cleaned_data["version"],
        )
        services.customer_tags_set(
            customer=customer, user=request.user, tags=list(form.cleaned_data["tags"])
        )

    status = submit(form, save)
    if status is None:
        messages.success(request, _("Changes saved."))
        return redirect("customers:customer-detail", pk=customer.pk)
    return render(
        request, "customers/customer_form.html", {"form": form, "customer": customer}, status=status
    )


@login_required
@require_GET
def customer_duplicates(request: HttpRequest) -> HttpResponse:
    """Likely existing customers for what is being typed in the form (查重)."""
    get = request.GET
    name = get.get("company_name", "").strip() or get.get("name", "")
    matches = selectors.customer_duplicates(
        user=request.user,
        phone=get.get("phone", "")[:40],
        email=get.get("email", "")[:254],
        name=name[:200],
    )
    matches = [m for m in matches if str(m["id"]) != get.get("exclude", "")]
    return render(request, "customers/customer_form.html#duplicates", {"duplicates": matches})


@login_required
@require_http_methods(["GET", "POST"])
def customer_transfer(request: HttpRequest, pk: Any) -> HttpResponse:
    customer = _get_customer(request.user, pk)
    _deny_unless(request.user, "transfer", customer)
    form = TransferForm(
        request.POST or None, user=request.user, initial={"new_owner": customer.owner}
    )
    if request.method == "POST" and form.is_valid():
        new_owner = form.cleaned_data["new_owner"]
        try:
            services.customer_transfer(customer=customer, user=request.user, new_owner=new_owner)
        except permissions.PermissionDenied as error:
            raise PermissionDenied from error
        messages.success(request, _("Customer transferred to %(owner)s.") % {"owner": new_owner})
        if permissions.can(request.user, "view", customer):
            return redirect("customers:customer-detail", pk=customer.pk)
        return redirect("customers:customer-list")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "customers/customer_transfer.html",
        {"form": form, "customer": customer},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_delete(request: HttpRequest, pk: Any) -> HttpResponse:
    customer = _get_customer(request.user, pk)
    _deny_unless(request.user, "delete", customer)
    error = None
    if request.method == "POST":
        try:
            services.customer_delete(customer=customer, user=request.user)
        except ConflictError as exc:
            error = str(exc)
        else:
            messages.success(request, _("Customer %(name)s deleted.") % {"name": customer.name})
            return redirect("customers:customer-list")
    return render(
        request,
        "customers/customer_confirm_delete.html",
        {"customer": customer, "error": error},
        status=409 if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest, pk: Any) -> HttpResponse:
    customer = _get_customer(request.user, pk)
    _deny_unless(request.user, "change", customer)
    form = ContactForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = submit(form, lambda: services.contact_create(
            customer=customer, user=request.user, data=form.cleaned_data
        ))
        if status is None:
            messages.success(request, _("Contact added."))
            return redirect("customers:customer-detail", pk=customer.pk)
    return render(request, "customers/contact_form.html", {"customer": customer, "form": form}, status=status)
