"""The duplicate review queue: list the likely pairs, compare two customers, merge or dismiss,
and undo a merge. A pair is visible when its customers are; merging needs "change" on both."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from patron.accounts import permissions
from patron.accounts.capabilities import Scope
from patron.common import masking
from patron.common.errors import ConflictError
from patron.customers import dedupe, merge, services, tasks
from patron.customers.models import Customer, DuplicatePair, MergeRecord

PAGE_SIZE = 50
COMPARED = (
    "number",
    "kind",
    "name",
    "company_name",
    "phone",
    "email",
    "wechat",
    "id_number",
    "birthday",
    "address",
    "region",
    "city",
    "industry",
    "source",
    "last_contacted_at",
    "last_ordered_at",
    "created_at",
)
COUNT_LABELS = {
    "orders": gettext_lazy("Orders"),
    "opportunities": gettext_lazy("Opportunities"),
    "interactions": gettext_lazy("Interactions"),
    "tasks": gettext_lazy("Tasks"),
    "contacts": gettext_lazy("Contacts"),
    "leads": gettext_lazy("Converted leads"),
}
REASON_LABELS = {
    "same_phone": gettext_lazy("Same phone"),
    "same_email": gettext_lazy("Same e-mail"),
    "similar_name+same_company": gettext_lazy("Similar name, same company"),
    "similar_name+same_region": gettext_lazy("Similar name, same region"),
    "different_name": gettext_lazy("Names differ"),
}


class DuplicateFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any")), *DuplicatePair.Status.choices],
    )
    min_score = forms.FloatField(
        label=gettext_lazy("Minimum score"), required=False, min_value=0, max_value=1
    )
    reason = forms.ChoiceField(
        label=gettext_lazy("Reason"),
        required=False,
        choices=[("", gettext_lazy("Any")), *REASON_LABELS.items()],
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class MergeForm(forms.Form):
    survivor = forms.ChoiceField(
        label=gettext_lazy("Keep"), choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect
    )
    a_version = forms.IntegerField(widget=forms.HiddenInput)
    b_version = forms.IntegerField(widget=forms.HiddenInput)


def _get_pair(user: Any, pk: Any) -> DuplicatePair:
    try:
        return dedupe.duplicate_get(user=user, pk=pk)
    except (DuplicatePair.DoesNotExist, ValidationError, ValueError) as error:
        raise Http404 from error


@login_required
@require_GET
@vary_on_headers("HX-Request")
def duplicate_list(request: HttpRequest) -> HttpResponse:
    data = request.GET if request.GET else {"status": DuplicatePair.Status.OPEN}
    form = DuplicateFilterForm(data)
    if not form.is_valid():
        return render(
            request, "customers/duplicate_list.html", {"form": form, "page": None}, status=400
        )
    pairs = dedupe.duplicate_list(
        user=request.user,
        status=form.cleaned_data["status"],
        min_score=form.cleaned_data["min_score"],
        reason=form.cleaned_data["reason"],
    )
    page = Paginator(pairs, PAGE_SIZE).get_page(form.cleaned_data["page"] or 1)
    for pair in page:
        pair.reason_labels = [REASON_LABELS.get(r, r) for r in pair.reasons]
    template = "customers/duplicate_list.html" + ("#results" if request.htmx else "")
    return render(request, template, {"form": form, "page": page, "may_scan": may_scan(request.user)})


def may_scan(user: Any) -> bool:
    """Looking for new duplicates across the organisation: a manager's (or an admin's) call."""
    return user.scope_for("customers.change") >= Scope.SUBTREE


@login_required
@require_POST
def duplicate_scan(request: HttpRequest) -> HttpResponse:
    if not may_scan(request.user):
        raise PermissionDenied("customers.change")
    if dedupe.scan_claim(organization_id=request.user.organization_id):
        organization_id = str(request.user.organization_id)
        transaction.on_commit(lambda: tasks.duplicate_scan_run.enqueue(organization_id))
        messages.success(request, _("Looking for duplicates in the background: new pairs appear here in a minute "
                                    "or two."))
    else:
        messages.info(request, _("A look for duplicates is already under way; its pairs appear here when it ends."))
    return redirect("dedupe:duplicate-list")


def _differ(a: Customer | None, b: Customer | None, name: str) -> bool:
    """Both customers have a value of the field, and not the same one."""
    if a is None or b is None:
        return False
    left, right = getattr(a, name), getattr(b, name)
    return left not in (None, "") and right not in (None, "") and left != right


def _in_clear(user: Any, customer: Customer | None, other: Customer | None) -> set[str]:
    """The sensitive fields of `customer` shown in clear on the compare page: those the merge
    asks to choose between (set on both sides, different), when `user` may see this customer's
    sensitive fields in clear. The others stay masked: the choice does not need them."""
    if customer is None or other is None or not masking.may_reveal(user, customer):
        return set()
    return {n for n in merge.CHOOSABLE if masking.is_sensitive(customer, n) and _differ(customer, other, n)}


def _shown(user: Any, customer: Customer, name: str, *, clear: bool = False, audited: bool = False) -> Any:
    """A compared value as the customer page shows it: masked where it must be, in clear where
    `clear` asks it and the user may see it (audited as a reveal when the page shows it), a
    choice by its label (a company, not "company")."""
    if clear and audited:
        value = services.customer_reveal(customer=customer, user=user, field=name)
    else:
        value = masking.present(user, customer, name, reveal=clear)
    if Customer._meta.get_field(name).choices and value == getattr(customer, name):
        return getattr(customer, f"get_{name}_display")()
    return value


def _values(
    user: Any, customer: Customer | None, other: Customer | None, *, audited: bool = False
) -> dict[str, Any] | None:
    """The compared values of `customer` as `user` is shown them beside `other`; `audited` when
    they leave the server (the page), not when only compared (a merge's picks)."""
    if customer is None:
        return None
    clear = _in_clear(user, customer, other)
    return {name: _shown(user, customer, name, clear=name in clear, audited=audited) for name in COMPARED}


def _side(user: Any, customer: Customer | None, other: Customer | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    return {
        "customer": customer,
        "values": _values(user, customer, other, audited=True),
        "counts": {
            kind: model.objects.filter(**{field: customer}).count()
            for kind, model, field in merge.MOVED_KINDS
            if kind != "merges"
        },
        "can_change": permissions.can(user, "change", customer),
    }


def _suggested_survivor(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    """"a" or "b": the customer with more orders, then opportunities, interactions and contacts
    (tasks leave out: the cleaning job gives them to both), then more fields filled, then the
    older one: the record the team has been working with, whose number people already know."""
    if a is None or b is None:
        return "a" if a else "b"

    def weight(side: dict[str, Any]) -> tuple:
        history = tuple(side["counts"].get(kind, 0) for kind in ("orders", "opportunities", "interactions", "contacts"))
        filled = sum(1 for value in side["values"].values() if value not in ("", None))
        return (*history, filled, -side["customer"].created_at.timestamp())

    return "a" if weight(a) >= weight(b) else "b"


def _differs_as_seen(user: Any, pair: DuplicatePair, name: str, a: dict | None, b: dict | None) -> bool:
    """Whether the page marks the field as different: by the values themselves for who may see
    both customers' values in clear (two e-mails of one letter and domain read alike masked), by
    the values as shown for anyone else (whether two masked ID numbers match is not theirs to learn)."""
    if pair.a is not None and pair.b is not None and masking.may_reveal(user, pair.a) and \
            masking.may_reveal(user, pair.b):
        return _differ(pair.a, pair.b, name)
    left, right = (side["values"][name] if side else "" for side in (a, b))
    return bool(left and right and left != right)


def _choosable(name: str, a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether the merge may take either customer's value of a field, given the values as the
    page shows them (`_values`): both have one, and they differ as shown. Two masked values that
    read alike are no choice to offer: who may not see them in clear has no ground to pick one
    (the page says that they differ, and the kept customer's stays)."""
    if name not in merge.CHOOSABLE or a is None or b is None:
        return False
    left, right = a[name], b[name]
    return left not in (None, "") and right not in (None, "") and left != right


def _taken(request: HttpRequest, pair: DuplicatePair, duplicate_side: str) -> list[str]:
    """The fields whose value the user picked on the duplicate's side ("take-<field>": "a" or
    "b"; a field left unpicked keeps the kept customer's value), of those the page offered."""
    picked = [name for name in merge.CHOOSABLE if request.POST.get(f"take-{name}") == duplicate_side]
    if not picked:
        return []
    a, b = _values(request.user, pair.a, pair.b), _values(request.user, pair.b, pair.a)
    return [name for name in picked if _choosable(name, a, b)]


def _detail(
    request: HttpRequest,
    pair: DuplicatePair,
    *,
    form: MergeForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    a, b = _side(request.user, pair.a, pair.b), _side(request.user, pair.b, pair.a)
    rows = [
        (
            n,
            Customer._meta.get_field(n).verbose_name,
            *(side["values"][n] if side else "" for side in (a, b)),
            _choosable(n, a and a["values"], b and b["values"]),
            request.POST.get(f"take-{n}"),  # the pick of a form sent back
            _differs_as_seen(request.user, pair, n, a, b),
        )
        for n in COMPARED
    ]
    counts = [
        (kind, *(side["counts"][kind] if side else "" for side in (a, b))) for kind in COUNT_LABELS
    ]
    can_merge = bool(
        a and b and a["can_change"] and b["can_change"] and pair.status == DuplicatePair.Status.OPEN
    )
    record = pair.merge
    context = {
        "pair": pair,
        "a": a,
        "b": b,
        "rows": rows,
        "counts": [(COUNT_LABELS[kind], x, y) for kind, x, y in counts],
        "can_merge": can_merge,
        "error": error,
        "form": form
        or MergeForm(
            initial={
                "survivor": _suggested_survivor(a, b),
                "a_version": pair.a and pair.a.version,
                "b_version": pair.b and pair.b.version,
            }
        ),
        "record": record,
        "reason_labels": [REASON_LABELS.get(r, r) for r in pair.reasons],
        "can_undo": bool(
            record
            and record.undone_at is None
            and permissions.can(request.user, "change", record.survivor)
        ),
    }
    template = "customers/duplicate_detail.html" + ("#compare" if request.htmx else "")
    return render(request, template, context, status=status)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def duplicate_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    return _detail(request, _get_pair(request.user, pk))


@login_required
@require_POST
def duplicate_merge(request: HttpRequest, pk: Any) -> HttpResponse:
    pair = _get_pair(request.user, pk)
    form = MergeForm(request.POST)
    if pair.a is None or pair.b is None or pair.status != DuplicatePair.Status.OPEN:
        return _detail(request, pair, error=_("This pair is no longer open."), status=400)
    if not form.is_valid():
        return _detail(request, pair, form=form, status=400)
    keep_a = form.cleaned_data["survivor"] == "a"
    survivor, duplicate = (pair.a, pair.b) if keep_a else (pair.b, pair.a)
    versions = (form.cleaned_data["a_version"], form.cleaned_data["b_version"])
    try:
        merge.customer_merge(
            survivor=survivor,
            duplicate=duplicate,
            user=request.user,
            expected_versions=versions if keep_a else versions[::-1],
            take=_taken(request, pair, "b" if keep_a else "a"),
        )
    except permissions.PermissionDenied as error:
        raise PermissionDenied from error
    except ConflictError:
        message = _(
            "One of these customers was changed since you opened this page. Review them again."
        )
        pair = _get_pair(request.user, pk)
        # As they are now, with the user's choices kept to review and send again.
        again = MergeForm(initial={"survivor": form.cleaned_data["survivor"], "a_version": pair.a and pair.a.version,
                                   "b_version": pair.b and pair.b.version})
        return _detail(request, pair, form=again, error=message, status=409)
    messages.success(request, _("Customers merged. You can undo the merge from this page."))
    return redirect("dedupe:duplicate-detail", pk=pair.pk)


@login_required
@require_POST
def duplicate_dismiss(request: HttpRequest, pk: Any) -> HttpResponse:
    pair = _get_pair(request.user, pk)
    if pair.status != DuplicatePair.Status.OPEN:
        return _detail(request, pair, error=_("This pair is no longer open."), status=400)
    try:
        merge.duplicate_dismiss(pair=pair, user=request.user)
    except permissions.PermissionDenied as error:
        raise PermissionDenied from error
    messages.success(request, _("Marked as not a duplicate."))
    return redirect("dedupe:duplicate-list")


@login_required
@require_POST
def merge_undo(request: HttpRequest, pk: Any) -> HttpResponse:
    try:
        record = MergeRecord.objects.select_related("survivor").get(pk=pk)
    except (MergeRecord.DoesNotExist, ValidationError, ValueError) as error:
        raise Http404 from error
    if not permissions.can(request.user, "view", record.survivor):
        raise Http404
    pair = DuplicatePair.objects.filter(merge=record).first()
    try:
        merge.customer_merge_undo(record=record, user=request.user)
    except permissions.PermissionDenied as error:
        raise PermissionDenied from error
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("dedupe:duplicate-list")
    messages.success(request, _("Merge undone."))
    if pair is not None:
        return redirect("dedupe:duplicate-detail", pk=pair.pk)
    return redirect("customers:customer-detail", pk=record.survivor_id)
