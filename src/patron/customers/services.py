"""Writes on customers and contacts; each one audited, each edit version-checked."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.accounts import permissions
from patron.audit import services as audit
from patron.common import masking, standardize
from patron.common.errors import ConflictError
from patron.common.services import model_update
from patron.customers.models import Contact, Customer, Tag
from patron.organizations.models import Counter

EDITABLE_FIELDS = [
    "kind", "name", "company_name", "title", "phone", "email", "wechat", "id_number", "birthday",
    "address", "region", "city", "industry", "source", "preferred_channel", "consent_email",
    "consent_sms", "consent_phone", "notes",
]
CONSENT_FIELDS = {"consent_email", "consent_sms", "consent_phone"}


def _standardize(data: dict[str, Any], *, region: str, stored_birthday: Any = None) -> dict[str, Any]:
    """`data` standardised; ValidationError naming each field that cannot be. A birthday is
    checked only when it changes: a record imported with an odd one stays editable."""
    data = dict(data)
    for field in ("name", "company_name", "title", "region", "city", "industry"):
        if field in data and data[field] is not None:
            data[field] = standardize.clean_name(data[field])
    if data.get("region"):  # as the importer writes it, so that one filter finds both
        data["region"] = standardize.canonical_region(data["region"])[:60]
    errors: dict[str, list[str]] = {}
    for field, normalize in (
        ("phone", lambda v: standardize.normalize_phone(v, region=region)),
        ("email", standardize.normalize_email),
    ):
        if data.get(field):
            try:
                data[field] = normalize(data[field])
            except ValidationError as exc:
                errors[field] = exc.messages
    if data.get("birthday"):
        try:
            if isinstance(data["birthday"], str):  # as a script or the admin may pass it
                data["birthday"] = standardize.parse_date(data["birthday"])
            if data["birthday"] != stored_birthday:
                standardize.check_birthday(data["birthday"], today=timezone.localdate())
        except ValidationError as exc:
            errors["birthday"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return data


def _region_of(user: Any) -> str:
    return user.organization.phone_region if user.organization_id else "CN"


@transaction.atomic
def customer_create(*, user: Any, data: dict[str, Any], owner: Any = None, tags: list[Tag] | None = None) -> Customer:
    if not permissions.can_create(user, "customers"):
        raise permissions.PermissionDenied("customers.add")
    clean = _standardize({k: v for k, v in data.items() if k in EDITABLE_FIELDS}, region=_region_of(user))
    owner = owner or user
    number = Counter.take(user.organization_id, "customer")
    customer = Customer(
        organization_id=user.organization_id, owner=owner, owner_team_id=owner.team_id,
        number=f"C{number:06d}", **clean,
    )
    if CONSENT_FIELDS & clean.keys():
        customer.consent_updated_at = timezone.now()
    customer.full_clean(exclude=["organization", "owner", "owner_team"])
    customer.search_text = Customer.build_search_text(customer)["search_text"]
    customer.save()
    if tags:
        customer.tags.set(tags)
    audit.record("customer.created", obj=customer, user=user)
    return customer


@transaction.atomic
def customer_update(
    *, customer: Customer, user: Any, data: dict[str, Any], expected_version: int | None = None
) -> dict:
    permissions.require(user, "change", customer)
    clean = _standardize({k: v for k, v in data.items() if k in EDITABLE_FIELDS}, region=_region_of(user),
                         stored_birthday=customer.birthday)
    if CONSENT_FIELDS & {k for k in clean if clean[k] != getattr(customer, k)}:
        clean["consent_updated_at"] = timezone.now()
    return model_update(
        instance=customer, data=clean, fields=[*EDITABLE_FIELDS, "consent_updated_at"],
        user=user, expected_version=expected_version, action="customer.updated",
    )


@transaction.atomic
def customer_transfer(*, customer: Customer, user: Any, new_owner: Any) -> Customer:
    """Hand a customer to another rep; their team follows the new owner."""
    permissions.require(user, "transfer", customer)
    if new_owner.organization_id != customer.organization_id:
        raise permissions.PermissionDenied("customers.transfer")
    model_update(
        instance=customer, data={"owner": new_owner.pk, "owner_team": new_owner.team_id},
        fields=["owner", "owner_team"], user=user, action="customer.transferred",
    )
    return customer


@transaction.atomic
def customer_delete(*, customer: Customer, user: Any) -> None:
    """Delete a customer; ConflictError while orders or opportunities keep it (their foreign
    keys protect it), so that the pages and the API refuse it alike (the API answered a 500)."""
    permissions.require(user, "delete", customer)
    audit.record("customer.deleted", obj=customer, user=user, data={"number": customer.number})
    try:
        customer.delete()
    except ProtectedError:
        raise ConflictError(_(
            "This customer has orders or opportunities, so it cannot be deleted. "
            "Archive or transfer it instead."
        )) from None


def customer_reveal(*, customer: Customer | Contact, user: Any, field: str) -> Any:
    """Show one sensitive value in clear to a user allowed to see it, and audit that they did."""
    if not masking.is_sensitive(customer, field) or not masking.may_reveal(user, customer):
        raise permissions.PermissionDenied(f"{customer.permission_resource}.view_sensitive")
    audit.record(
        f"{customer._meta.model_name}.sensitive_revealed", obj=customer, user=user,
        data={"field": field},
    )
    return masking.present(user, customer, field, reveal=True)


@transaction.atomic
def contact_create(*, customer: Customer, user: Any, data: dict[str, Any]) -> Contact:
    permissions.require(user, "change", customer)
    clean = _standardize(
        {k: v for k, v in data.items() if k in {"name", "title", "phone", "email", "wechat", "is_primary"}},
        region=_region_of(user),
    )
    contact = Contact(organization_id=customer.organization_id, customer=customer, **clean)
    contact.full_clean(exclude=["organization", "customer"])
    contact.save()
    audit.record("contact.created", obj=contact, user=user, data={"customer": customer.pk})
    return contact


def tag_get_or_create(*, user: Any, name: str) -> Tag:
    tag, _ = Tag.objects.get_or_create(organization_id=user.organization_id, name=standardize.clean_name(name))
    return tag


@transaction.atomic
def customer_tags_set(*, customer: Customer, user: Any, tags: list[Tag]) -> bool:
    """Replace the customer's tags; audit and return True when they changed."""
    permissions.require(user, "change", customer)
    before = {t.name for t in customer.tags.all()}
    after = {t.name for t in tags}
    if before == after:
        return False
    customer.tags.set(tags)
    audit.record("customer.tags_changed", obj=customer, user=user,
                 changes={"tags": (sorted(before), sorted(after))})
    return True
