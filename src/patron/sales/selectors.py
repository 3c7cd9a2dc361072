"""Reads on leads, opportunities and pipelines: everything starts from `visible_to(user)`."""

import base64
import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet, Sum

from patron.accounts import permissions
from patron.common import bounds, masking, standardize
from patron.customers.selectors import search_matches
from patron.sales.models import Lead, Opportunity, Pipeline, Stage

PAGE_SIZE = 25


@dataclass
class Page:
    """One page of a keyset-paginated list, and the cursor of the next one (None at the end)."""

    items: list
    next_cursor: str | None


def cursor_encode(obj: Any) -> str:
    raw = f"{obj.created_at.isoformat()}|{obj.pk.hex}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """The (created_at, id) a cursor points after; ValueError when it was tampered with."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, pk = raw.partition("|")
        created = dt.datetime.fromisoformat(stamp)
        bounds.check_storable(created, value=stamp)  # a forged year 1 east of UTC: no 500
        return created, uuid.UUID(hex=pk)
    except (ValueError, UnicodeDecodeError, ValidationError) as exc:
        raise ValueError("bad cursor") from exc


def keyset_page(qs: QuerySet, *, cursor: str | None, size: int = PAGE_SIZE) -> Page:
    """The page of `qs` (ordered newest first by created_at, id) after `cursor`.

    Keyset rather than OFFSET paging: each page is one indexed range scan however deep the
    reader goes, and rows added meanwhile never shift what the next page shows.
    """
    if cursor:
        created, pk = cursor_decode(cursor)
        qs = qs.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=pk))
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(items=rows, next_cursor=cursor_encode(rows[-1]) if more and rows else None)


def lead_list(*, user: Any, filters: dict[str, Any] | None = None) -> QuerySet[Lead]:
    """The leads `user` may see, narrowed by `filters` {q, status}, newest first."""
    filters = filters or {}
    qs = Lead.objects.visible_to(user)
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(search_matches(q, user=user, model=Lead))
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    return qs.select_related("owner").order_by("-created_at", "-id")


def lead_get(*, user: Any, pk: Any, action: str = "view") -> Lead:
    """One lead `user` may `action`, or Lead.DoesNotExist (a 404: no existence leak)."""
    return Lead.objects.visible_to(user, action).select_related("owner", "owner_team").get(pk=pk)


def lead_converted_customer(*, user: Any, lead: Lead) -> Any:
    """The customer `lead` was converted into, if `user` may see it (else None)."""
    from patron.customers.models import Customer

    if lead.converted_customer_id is None:
        return None
    return Customer.objects.visible_to(user).filter(pk=lead.converted_customer_id).first()


def lead_duplicates(
    *, user: Any, phone: str = "", email: str = "", exclude: Any = None, limit: int = 5
) -> list[dict]:
    """Existing leads with the same phone or e-mail across the organisation (查重).

    Like `customer_duplicates`, it tells the rep that someone already works the lead and who,
    without showing the record's contact details, nor its name unless the rep may see the lead.
    """
    try:
        phone_e164 = standardize.normalize_phone(phone, region=user.organization.phone_region)
    except Exception:
        phone_e164 = ""
    email = email.strip().lower() if "@" in email else ""
    conditions = Q()
    if phone_e164:
        conditions |= Q(phone=phone_e164)
    if email:
        conditions |= Q(email=email)
    if not conditions:
        return []
    matches = Lead.objects.filter(conditions).exclude(pk=getattr(exclude, "pk", exclude))
    return [
        {
            "id": lead.pk,
            "number": lead.number,
            "name": lead.name if permissions.can(user, "view", lead) else masking.mask_name(lead.name),
            "owner": str(lead.owner) if lead.owner else None,
            "status": lead.get_status_display(),
            "reasons": [
                r
                for r, hit in (
                    ("phone", phone_e164 and lead.phone == phone_e164),
                    ("email", email and lead.email == email),
                )
                if hit
            ],
        }
        for lead in matches.select_related("owner")[:limit]
    ]


def interactions_of_lead(*, user: Any, lead: Lead, limit: int = 50) -> QuerySet:
    from patron.activities.models import Interaction

    return (
        Interaction.objects.visible_to(user)
        .filter(lead=lead)
        .select_related("owner")
        .order_by("-occurred_at")[:limit]
    )


def pipeline_list() -> QuerySet[Pipeline]:
    return Pipeline.objects.order_by("position", "name")


def pipeline_default() -> Pipeline | None:
    return pipeline_list().filter(is_default=True).first() or pipeline_list().first()


def opportunity_list(*, user: Any, filters: dict[str, Any] | None = None) -> QuerySet[Opportunity]:
    """The deals `user` may see, narrowed by `filters` {q, pipeline, outcome}, newest first."""
    filters = filters or {}
    qs = Opportunity.objects.visible_to(user)
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(
            Q(name__icontains=q) | Q(number__icontains=q) | Q(customer__name__icontains=q)
        )
    if pipeline := filters.get("pipeline"):
        qs = qs.filter(pipeline=pipeline)
    if outcome := filters.get("outcome"):
        qs = qs.filter(outcome=outcome)
    return qs.select_related("owner", "customer", "stage", "pipeline").order_by(
        "-created_at", "-id"
    )


def opportunity_get(*, user: Any, pk: Any, action: str = "view") -> Opportunity:
    return (
        Opportunity.objects.visible_to(user, action)
        .select_related("owner", "customer", "stage", "pipeline")
        .get(pk=pk)
    )


@dataclass
class Column:
    stage: Stage
    cards: list = field(default_factory=list)
    count: int = 0
    total: Decimal = Decimal(0)


def opportunity_board(*, user: Any, pipeline: Pipeline, card_limit: int = 100) -> list[Column]:
    """One column per stage of `pipeline` with its visible deals, their count and total amount.

    Count and total cover every visible deal in the stage, even past the cards shown.
    """
    stages = list(pipeline.stages.order_by("position"))
    columns = {stage.pk: Column(stage=stage) for stage in stages}
    visible = Opportunity.objects.visible_to(user).filter(pipeline=pipeline)
    for row in visible.values("stage_id").annotate(n=Count("id"), total=Sum("amount")):
        column = columns[row["stage_id"]]
        column.count, column.total = row["n"], row["total"] or Decimal(0)
    cards = visible.select_related("owner", "customer").order_by("expected_close", "-created_at")
    for column in columns.values():
        # One bounded query per stage: a column of a thousand lost deals never loads them all.
        if column.count:
            column.cards = list(cards.filter(stage=column.stage)[:card_limit])
    return list(columns.values())
