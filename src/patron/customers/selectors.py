"""Reads on customers: everything starts from `visible_to(user)`."""

import dataclasses
import datetime as dt
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import formats, timezone

from patron.accounts import permissions
from patron.common import masking, standardize
from patron.customers.models import Customer
from patron.insights import selectors as insights
from patron.insights.selectors import CLASS_ORDER
from patron.web.paging import SortKey


def customer_list(*, user: Any, filters: dict[str, Any] | None = None) -> QuerySet[Customer]:
    """The customers `user` may see, narrowed by `filters`, newest first (keyset-pageable)."""
    filters = filters or {}
    qs = Customer.objects.visible_to(user).filter(is_archived=False)
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(search_matches(q, user=user))
    if filters.get("region"):  # 浙江省 or Zhejiang finds the customers stored as 浙江
        filters = {**filters, "region": standardize.canonical_region(filters["region"])}
    for field in ("owner", "owner_team", "region", "source", "kind", "industry"):
        if value := filters.get(field):
            qs = qs.filter(**{f"{field}_id" if field in ("owner", "owner_team") else field: getattr(value, "pk", value)})
    if tag := filters.get("tag"):
        qs = qs.filter(tags=tag)
    if score := filters.get("score"):  # the current scores, e.g. {"rfm_segment": "at_risk"}
        qs = in_class(qs, **score)
    if (conditions := filters.get("conditions")) is not None:  # a saved segment's
        qs = insights.matching(qs, conditions, listed=True)
    if after := filters.get("last_ordered_after"):
        qs = qs.filter(last_ordered_at__gte=after)
    if before := filters.get("last_ordered_before"):
        qs = qs.filter(last_ordered_at__lt=before)
    return qs.select_related("owner", "owner_team").order_by("-created_at", "-id")


def in_class(queryset: QuerySet[Customer], **classes: str) -> QuerySet[Customer]:
    """The customers of `queryset` whose current snapshot is of these classes, with the
    snapshot's copies of their creation time and id, which a sort by creation reads
    (`list_sort`). The annotations reuse the filter's join to the snapshot."""
    queryset = queryset.filter(insights.in_current_class(**classes))
    if CLASS_ORDER[0] in queryset.query.annotations:  # a second class: its own join, no sort
        return queryset
    return insights.in_class_order(queryset, "scores", **classes)


def list_sort(key: SortKey, queryset: QuerySet[Customer]) -> SortKey:
    """`key` as `queryset` reads it fastest. A list of one class, newest or oldest first, is
    read in order from the class's index (run, class, organization, creation time, customer),
    through the snapshot's copies of the customer's creation time and id. Through the customer,
    PostgreSQL walked the newest customers and probed each one's snapshot: valuable classes
    are seldom among the newest, so a manager's page took 1-2 s at a million customers."""
    if key.field == "created_at" and CLASS_ORDER[0] in queryset.query.annotations:
        return dataclasses.replace(key, via=CLASS_ORDER)
    return key


def score_sort(key: str, *, descending: bool) -> SortKey:
    """The sort by a current score (`insights.selectors.SCORE_SORTS`: "clv", ...), unscored
    customers last either way, for the list page and the API. The scored customers are read
    apart from the unscored, through the snapshot's own value and customer id: for CLV, the
    current run's index by value serves them in order, so a page stops after its fifty instead
    of sorting every customer one may see (1-2.5 s at a million)."""
    annotation = insights.SCORE_SORTS[key]
    return SortKey(annotation, descending=descending, nullable=True, is_number=True, nulls_apart=True,
                   via=(annotation, insights.SCORED_CUSTOMER), least=0)


def search_matches(term: str, *, user: Any, model: type[models.Model] = Customer) -> Q:
    """Substring match on the indexed search text (trigram GIN on PostgreSQL) of customers or
    leads (`model`), as `user` may search them.

    A term of digits also matches phone numbers written with spaces or dashes, because the
    search text holds the phone's digits only. Where `user` sees a record's phone and e-mail
    masked, a part of the term matches only its number, name or company, and its phone or
    e-mail only when given whole (a caller's number finds its customer): a search for one digit
    more at a time spelled a masked number out.
    """
    needle = term.lower()
    digits = standardize.phone_digits(term)
    anywhere = Q(search_text__contains=needle)
    if digits and len(digits) >= 3 and digits != needle:
        anywhere |= Q(search_text__contains=digits)
    resource = model.permission_resource
    if user.scope_for(f"{resource}.view_sensitive") >= user.scope_for(f"{resource}.view"):
        return anywhere  # every record the user sees, they may see in clear
    in_clear = Q(search_text__contains=needle) & (
        Q(number__icontains=term) | Q(name__icontains=term) | Q(company_name__icontains=term))
    # The e-mail through the search text too, whose trigram index serves it (a lead's e-mail has
    # no index of its own: PostgreSQL would read every lead for the OR).
    whole = Q(search_text__contains=needle, email=needle.strip()) if "@" in needle else Q(pk__in=[])
    try:
        phone = standardize.normalize_phone(term, region=user.organization.phone_region)
    except ValidationError:
        phone = ""
    if phone:
        whole |= Q(phone=phone)
    revealed = permissions.reach(user, f"{resource}.view_sensitive")
    return (revealed & anywhere if revealed is not None else anywhere) | in_clear | whole


def customer_get(*, user: Any, pk: Any) -> Customer:
    """One visible customer, or Customer.DoesNotExist (a 404, not a 403: no existence leak)."""
    return Customer.objects.visible_to(user).select_related("owner", "owner_team").get(pk=pk)


def customer_duplicates(*, user: Any, phone: str = "", email: str = "", name: str = "", limit: int = 5) -> list[dict]:
    """Likely existing customers for what is being typed (查重), across the organisation.

    Reps must learn that a customer exists and who owns it even when they cannot see it, so
    this searches the whole organisation but returns only the number, the match reason and the
    owner, never the record's details: the name in clear only to those who may see the record
    (otherwise typing a phone number would tell whose it is).
    """
    conditions = Q()
    region = user.organization.phone_region
    try:
        phone_e164 = standardize.normalize_phone(phone, region=region) if phone else ""
    except Exception:
        phone_e164 = ""
    if phone_e164:
        conditions |= Q(phone=phone_e164)
    if email and "@" in email:
        conditions |= Q(email=email.strip().lower())
    if len(name.strip()) >= 2:
        conditions |= Q(name__iexact=name.strip()) | Q(company_name__iexact=name.strip())
    if not conditions:
        return []
    matches = Customer.objects.filter(conditions).select_related("owner")[:limit]
    return [
        {
            "id": c.pk,
            "number": c.number,
            "name": c.name if permissions.can(user, "view", c) else masking.mask_name(c.name),
            "owner": str(c.owner) if c.owner else None,
            "reasons": [r for r, hit in (
                ("phone", phone_e164 and c.phone == phone_e164),
                ("email", email and c.email == email.strip().lower()),
                ("name", name and name.strip().lower() in (c.name.lower(), c.company_name.lower())),
            ) if hit],
        }
        for c in matches
    ]


# --- The customer's page (issue 4) ----------------------------------------------------------

TIMELINE_LIMIT = 50


def customer_purchase_summary(*, user: Any, customer: Customer) -> dict[str, Any]:
    """Orders count, total spend, first/last purchase and average order (cancelled and
    refunded orders excluded), over the orders `user` may see."""
    from django.db.models import Count, Max, Min, Sum

    from patron.orders.models import Order

    totals = (
        Order.objects.visible_to(user)
        .filter(customer=customer)
        .exclude(status__in=[Order.Status.CANCELLED, Order.Status.REFUNDED])
        .aggregate(
            count=Count("id"), spend=Sum("total"), first=Min("ordered_at"), last=Max("ordered_at")
        )
    )
    count = totals["count"] or 0
    totals["average"] = (totals["spend"] / count) if count else None
    return totals


def _audit_items(customer: Customer, limit: int) -> list[dict[str, Any]]:
    from patron.audit.models import AuditEntry
    from patron.common import masking

    entries = (
        AuditEntry.objects.filter(
            object_type=Customer._meta.label_lower, object_id=str(customer.pk)
        )
        .select_related("actor")
        .order_by("-created_at")[:limit]
    )
    items = []
    for entry in entries:
        changes = []
        for name, (old, new) in entry.changes.items():
            try:
                label = Customer._meta.get_field(name).verbose_name
            except Exception:  # a field removed since the entry was written
                label = name
            changes.append({
                "field": label,
                "old": _as_shown(name, masking.mask_change(Customer, name, old)),
                "new": _as_shown(name, masking.mask_change(Customer, name, new)),
            })
        items.append({"at": entry.created_at, "kind": "audit", "object": entry, "changes": changes,
                      "field": _field_label(entry.data.get("field")) if isinstance(entry.data, dict) else ""})
    return items


def _field_label(name: Any) -> Any:
    """The name a page gives a field an entry names (a reveal's "phone": "Phone", "手机")."""
    if not name:
        return ""
    try:
        return Customer._meta.get_field(str(name)).verbose_name
    except Exception:  # a field removed since the entry was written
        return name


def customer_timeline(
    *, user: Any, customer: Customer, limit: int = TIMELINE_LIMIT
) -> list[dict[str, Any]]:
    """The customer's history, newest first: interactions, orders, tasks, opportunities and
    (for those who may change the customer or read the audit log) its audit entries.

    Each item is {"at": datetime, "kind": "interaction" | "order" | "task" | "opportunity" |
    "audit", "object": the row, "changes": [...] for audit entries}. Every source is read
    through `visible_to(user)`; sensitive values in audit changes are masked.
    """
    from patron.accounts import permissions
    from patron.accounts.capabilities import Scope
    from patron.activities.models import Interaction, Task
    from patron.orders.models import Order
    from patron.sales.models import Opportunity

    sources = [
        ("interaction", "occurred_at", Interaction.objects.visible_to(user)),
        ("order", "ordered_at", Order.objects.visible_to(user)),
        ("task", "created_at", Task.objects.visible_to(user)),
        ("opportunity", "created_at", Opportunity.objects.visible_to(user).select_related("stage")),
    ]
    items: list[dict[str, Any]] = []
    for kind, at, qs in sources:
        rows = qs.filter(customer=customer).select_related("owner").order_by(f"-{at}")[:limit]
        for row in rows:
            items.append({"at": getattr(row, at), "kind": kind, "object": row, "changes": []})
    if permissions.can(user, "change", customer) or user.scope_for("audit.view") > Scope.NONE:
        items.extend(_audit_items(customer, limit))
    items.sort(key=lambda item: item["at"], reverse=True)
    return items[:limit]


def saved_view_list(*, user: Any) -> QuerySet:
    """The user's own saved views of the customer list, by name."""
    from patron.customers.models import SavedView

    return SavedView.objects.filter(owner=user).order_by("name")


def merged_into(*, user: Any, pk: Any) -> Customer | None:
    """The customer that customer `pk` was merged into (and not undone), if `user` sees it."""
    from patron.customers.models import MergeRecord

    try:
        record = MergeRecord.objects.filter(duplicate_id=pk, undone_at__isnull=True).order_by("-created_at").first()
    except (ValidationError, ValueError):
        return None
    if record is None:
        return None
    # Only for who could see the customer merged away (as it was when merged): to anyone
    # else its address says nothing, as before the merge.
    fields = record.snapshot.get("fields", {})
    as_was = {name: uuid.UUID(str(fields[name])) if fields.get(name) else None
              for name in ("owner_id", "owner_team_id")}
    gone = Customer(organization_id=record.organization_id, **as_was)
    if not permissions.can(user, "view", gone):
        return None
    return Customer.objects.visible_to(user).filter(pk=record.survivor_id).first()


def _as_shown(name: str, value: Any) -> Any:
    """A changed value as the customer page shows the field: a time on the team's clock, a
    date as a date, a choice by its label ("2025-02-02T20:09:49+00:00" and "company" were
    shown as stored). A masked value stays as it is."""
    try:
        field = Customer._meta.get_field(name)
    except Exception:  # a field removed since the entry was written
        return value
    if not isinstance(value, str) or not value:
        return value
    try:  # written as the rest of the pages write them (2025-02-03 04:09), not "Feb. 3, 2025, 4:09 a.m."
        if isinstance(field, models.DateTimeField):
            return formats.date_format(timezone.localtime(dt.datetime.fromisoformat(value)), "SHORT_DATETIME_FORMAT")
        if isinstance(field, models.DateField):
            return formats.date_format(dt.date.fromisoformat(value), "SHORT_DATE_FORMAT")
    except ValueError:  # masked, or not a date
        return value
    return dict(field.choices).get(value, value) if field.choices else value
