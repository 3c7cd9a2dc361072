"""Writes on leads and opportunities: qualification, conversion, stage moves, closing."""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patron.accounts import permissions
from patron.activities.models import Interaction, Task
from patron.audit import services as audit
from patron.common import bounds
from patron.common.services import model_update
from patron.customers import services as customer_services
from patron.customers.models import Customer
from patron.organizations.models import Counter
from patron.sales.models import Lead, Opportunity, Pipeline, Stage

LEAD_FIELDS = [
    "name", "company_name", "title", "phone", "email", "wechat", "region", "industry",
    "source", "estimated_value", "notes",
]
OPPORTUNITY_FIELDS = ["name", "amount", "currency", "expected_close", "probability", "source", "competitor"]
# A value or amount is what the deal brings; a refund or a discount is no deal. The pages, the
# API, the conversion and the leads file refuse a negative one with these words.
NOT_NEGATIVE = {
    "estimated_value": gettext_lazy("The estimated value cannot be negative."),
    "amount": gettext_lazy("The amount cannot be negative."),
}


def check_amounts(data: dict[str, Any]) -> None:
    """Refuse, on its field, an estimated value or amount in `data` below zero."""
    for field, message in NOT_NEGATIVE.items():
        bounds.check_not_negative(data.get(field), field=field, message=str(message))


@transaction.atomic
def lead_create(*, user: Any, data: dict[str, Any], owner: Any = None) -> Lead:
    if not permissions.can_create(user, "leads"):
        raise permissions.PermissionDenied("leads.add")
    clean = customer_services._standardize(
        {k: v for k, v in data.items() if k in LEAD_FIELDS}, region=customer_services._region_of(user)
    )
    check_amounts(clean)
    owner = owner or user
    lead = Lead(
        organization_id=user.organization_id, owner=owner, owner_team_id=owner.team_id,
        number=f"L{Counter.take(user.organization_id, 'lead'):06d}", **clean,
    )
    lead.full_clean(exclude=["organization", "owner", "owner_team"])
    lead.search_text = Lead.build_search_text(lead)["search_text"]
    lead.save()
    audit.record("lead.created", obj=lead, user=user)
    return lead


@transaction.atomic
def lead_update(*, lead: Lead, user: Any, data: dict[str, Any], expected_version: int | None = None) -> dict:
    permissions.require(user, "change", lead)
    clean = customer_services._standardize(
        {k: v for k, v in data.items() if k in LEAD_FIELDS}, region=customer_services._region_of(user)
    )
    check_amounts(clean)
    return model_update(
        instance=lead, data=clean, fields=LEAD_FIELDS, user=user,
        expected_version=expected_version, action="lead.updated",
    )


def _require_open(lead: Lead) -> None:
    # A sentence for each: a status label put in a sentence read "This lead is already Converted."
    if lead.status == Lead.Status.CONVERTED:
        raise ValidationError({"status": _("This lead has already been converted.")})
    if lead.status == Lead.Status.DISQUALIFIED:
        raise ValidationError({"status": _("This lead has already been disqualified.")})


@transaction.atomic
def lead_qualify(*, lead: Lead, user: Any) -> Lead:
    permissions.require(user, "change", lead)
    _require_open(lead)
    model_update(instance=lead, data={"status": Lead.Status.QUALIFIED}, fields=["status"], user=user, action="lead.qualified")
    return lead


@transaction.atomic
def lead_disqualify(*, lead: Lead, user: Any, reason: str) -> Lead:
    permissions.require(user, "change", lead)
    _require_open(lead)
    if not reason.strip():
        raise ValidationError({"disqualify_reason": _("Say why the lead is disqualified.")})
    model_update(
        instance=lead, data={"status": Lead.Status.DISQUALIFIED, "disqualify_reason": reason.strip()},
        fields=["status", "disqualify_reason"], user=user, action="lead.disqualified",
    )
    return lead


@transaction.atomic
def lead_convert(
    *, lead: Lead, user: Any, customer: Customer | None = None, create_opportunity: bool = True,
    opportunity_name: str = "", amount: Decimal | None = None, pipeline: Pipeline | None = None,
) -> tuple[Customer, Opportunity | None]:
    """Turn a lead into a customer (new, or an existing one) and optionally an opportunity.

    The lead stays, marked converted and linked to what it became; its interactions and tasks
    are attached to the customer too, so the customer's timeline keeps the lead's history.
    """
    permissions.require(user, "change", lead)
    _require_open(lead)
    if customer is None:
        customer = customer_services.customer_create(
            user=user, owner=lead.owner or user,
            data={
                "kind": Customer.Kind.COMPANY if lead.company_name else Customer.Kind.PERSON,
                # A company is named by its company, as the forms, imports and demo make it:
                # without company_name its profile and the list's Company column were blank.
                "name": lead.company_name or lead.name, "company_name": lead.company_name,
                "phone": lead.phone, "email": lead.email,
                "wechat": lead.wechat, "region": lead.region, "industry": lead.industry,
                "source": lead.source, "notes": lead.notes,
                # A person's job title is their own; a company's goes to its contact below.
                "title": "" if lead.company_name else lead.title,
            },
        )
        if lead.company_name:
            customer_services.contact_create(
                customer=customer, user=user,
                data={"name": lead.name, "title": lead.title, "phone": lead.phone, "email": lead.email, "is_primary": True},
            )
    else:
        permissions.require(user, "change", customer)
    opportunity = None
    if create_opportunity:
        opportunity = opportunity_create(
            user=user, customer=customer, pipeline=pipeline, owner=lead.owner or user,
            data={"name": opportunity_name or lead.company_name or lead.name,
                  "amount": amount if amount is not None else lead.estimated_value or Decimal(0),
                  "source": lead.source},
            lead=lead,
        )
    Interaction.objects.filter(lead=lead, customer__isnull=True).update(customer=customer)
    Task.objects.filter(lead=lead, customer__isnull=True).update(customer=customer)
    model_update(
        instance=lead,
        data={"status": Lead.Status.CONVERTED, "converted_customer": customer.pk,
              "converted_opportunity": opportunity.pk if opportunity else None,
              "converted_at": timezone.now()},
        fields=["status", "converted_customer", "converted_opportunity", "converted_at"],
        user=user, action="lead.converted",
    )
    return customer, opportunity


def _first_open_stage(pipeline: Pipeline) -> Stage:
    return pipeline.stages.filter(outcome=Stage.Outcome.OPEN).order_by("position").first()


@transaction.atomic
def opportunity_create(
    *, user: Any, customer: Customer, data: dict[str, Any], pipeline: Pipeline | None = None,
    stage: Stage | None = None, owner: Any = None, lead: Lead | None = None,
) -> Opportunity:
    if not permissions.can_create(user, "opportunities"):
        raise permissions.PermissionDenied("opportunities.add")
    if not permissions.can(user, "view", customer):
        raise permissions.PermissionDenied("customers.view")
    pipeline = pipeline or Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()
    stage = stage or _first_open_stage(pipeline)
    if stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": _("This stage belongs to another pipeline.")})
    check_amounts(data)
    owner = owner or user
    opp = Opportunity(
        organization_id=user.organization_id, owner=owner, owner_team_id=owner.team_id,
        number=f"O{Counter.take(user.organization_id, 'opportunity'):06d}",
        customer=customer, pipeline=pipeline, stage=stage, probability=stage.probability,
        outcome=stage.outcome, stage_changed_at=timezone.now(), created_by=user, lead=lead,
        currency=user.organization.currency,
        **{k: v for k, v in data.items() if k in OPPORTUNITY_FIELDS and v is not None},
    )
    opp.full_clean(exclude=["organization", "owner", "owner_team", "customer", "pipeline", "stage", "lead", "created_by"])
    opp.save()
    audit.record("opportunity.created", obj=opp, user=user, data={"customer": customer.pk})
    return opp


@transaction.atomic
def opportunity_update(*, opportunity: Opportunity, user: Any, data: dict[str, Any], expected_version: int | None = None) -> dict:
    permissions.require(user, "change", opportunity)
    check_amounts(data)
    return model_update(
        instance=opportunity, data=data, fields=OPPORTUNITY_FIELDS, user=user,
        expected_version=expected_version, action="opportunity.updated",
    )


@transaction.atomic
def opportunity_move(
    *, opportunity: Opportunity, user: Any, stage: Stage, lost_reason: str = "",
    expected_version: int | None = None,
) -> Opportunity:
    """Move a deal to another stage of its pipeline; a won or lost stage closes it."""
    permissions.require(user, "change", opportunity)
    if stage.pipeline_id != opportunity.pipeline_id:
        raise ValidationError({"stage": _("This stage belongs to another pipeline.")})
    if stage.outcome == Stage.Outcome.LOST and not lost_reason.strip():
        raise ValidationError({"lost_reason": _("Say why the deal was lost.")})
    closing = stage.outcome != Stage.Outcome.OPEN
    now = timezone.now()
    model_update(
        instance=opportunity,
        data={"stage": stage.pk, "probability": stage.probability, "outcome": stage.outcome,
              "lost_reason": lost_reason.strip() if stage.outcome == Stage.Outcome.LOST else "",
              "closed_at": now if closing else None, "stage_changed_at": now},
        fields=["stage", "probability", "outcome", "lost_reason", "closed_at", "stage_changed_at"],
        user=user, expected_version=expected_version,
        action={"won": "opportunity.won", "lost": "opportunity.lost"}.get(stage.outcome, "opportunity.stage_changed"),
    )
    return opportunity
