"""Merging duplicate customers, undoing a merge, and dismissing a suspected pair.

A merge folds the duplicate into the survivor: every order, opportunity, interaction, task,
contact and converted lead of the duplicate is re-pointed to the survivor, the survivor's blank
fields are filled from the duplicate ("keeps the richer fields"), the fields the user chose take
the duplicate's value over the survivor's own, a phone, e-mail or WeChat ID the survivor does
not end up with is kept as a contact, and the duplicate is deleted
after a full snapshot is kept in a `MergeRecord`. The record lists exactly which rows moved,
so an undo restores the duplicate and moves back those rows and no others.
"""

from collections.abc import Collection
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.accounts import permissions
from patron.activities.models import Interaction, Task
from patron.audit import services as audit
from patron.common.errors import ConflictError
from patron.customers.models import Contact, Customer, DuplicatePair, MergeRecord
from patron.insights import tasks as insights_tasks
from patron.orders import services as order_services
from patron.orders.models import Order
from patron.sales.models import Lead, Opportunity

# (kind in MergeRecord.moved, model, the field pointing at the customer)
MOVED_KINDS: tuple[tuple[str, type[models.Model], str], ...] = (
    ("orders", Order, "customer"),
    ("opportunities", Opportunity, "customer"),
    ("interactions", Interaction, "customer"),
    ("tasks", Task, "customer"),
    ("contacts", Contact, "customer"),
    ("leads", Lead, "converted_customer"),
    # Earlier merges into the duplicate stay undoable: their survivor becomes ours.
    ("merges", MergeRecord, "survivor"),
)
# Fields filled from the duplicate when the survivor's are blank.
FILLABLE = (
    "company_name",
    "title",
    "phone",
    "email",
    "wechat",
    "id_number",
    "birthday",
    "address",
    "region",
    "city",
    "industry",
    "notes",
)
# Fields where the user may take the duplicate's value over the survivor's own (the compare
# page offers the choice where both are set and differ).
CHOOSABLE = ("name", "company_name", "phone", "email", "wechat", "id_number", "birthday", "address", "region",
             "city", "industry")
# Activity dates: the merged customer was last contacted / ordered at the later of the two.
LATEST = ("last_contacted_at", "last_ordered_at")


def _check_version(customer: Customer, expected: int | None) -> None:
    if expected is not None and expected != customer.version:
        raise ConflictError()


def _richer_values(survivor: Customer, duplicate: Customer, take: Collection[str] = ()) -> dict[str, tuple[Any, Any]]:
    """(old, new) of each survivor field the merge changes: blank ones filled, the ones in
    `take` given the duplicate's value (a blank one never replaces a value), activity dates."""
    changes = {}
    for name in dict.fromkeys((*FILLABLE, *take)):
        old, new = getattr(survivor, name), getattr(duplicate, name)
        if new not in (None, "") and new != old and (old in (None, "") or name in take):
            changes[name] = (old, new)
    for name in LATEST:
        old, new = getattr(survivor, name), getattr(duplicate, name)
        if new is not None and (old is None or new > old):
            changes[name] = (old, new)
    return changes


def _write_fields(customer: Customer, values: dict[str, Any]) -> None:
    """Set fields with the version-checked conditional UPDATE every service write uses."""
    if not values:
        return
    for name, value in values.items():
        setattr(customer, name, value)
    values = {**values, **Customer.build_search_text(customer)}
    now = timezone.now()
    updated = Customer.objects.filter(pk=customer.pk, version=customer.version).update(
        **values, version=F("version") + 1, updated_at=now
    )
    if updated == 0:
        raise ConflictError()
    customer.version += 1
    customer.updated_at = now


def _snapshot(duplicate: Customer, survivor: Customer) -> dict[str, Any]:
    pairs = DuplicatePair.objects.filter(models.Q(a=duplicate) | models.Q(b=duplicate))
    return {
        "fields": {
            f.attname: audit.jsonable(getattr(duplicate, f.attname))
            for f in Customer._meta.concrete_fields
        },
        "tags": [str(pk) for pk in duplicate.tags.values_list("pk", flat=True)],
        "pairs": [
            {
                "id": str(p.pk),
                "a": str(p.a_id),
                "b": str(p.b_id),
                "score": p.score,
                "reasons": p.reasons,
                "status": p.status,
            }
            for p in pairs
            if {p.a_id, p.b_id} != {survivor.pk, duplicate.pk}
        ],
    }


@transaction.atomic
def customer_merge(
    *,
    survivor: Customer,
    duplicate: Customer,
    user: Any,
    expected_versions: tuple[int, int] | None = None,
    take: Collection[str] = (),
) -> MergeRecord:
    """Fold `duplicate` into `survivor`; return the record that lets `customer_merge_undo` undo it.

    `expected_versions` are the (survivor, duplicate) versions the user compared, from the
    merge form: a customer changed since then raises ConflictError instead of being merged.
    `take`: fields (of CHOOSABLE) that take the duplicate's value where both customers have one.
    """
    if survivor.pk == duplicate.pk:
        raise ValidationError(_("A customer cannot be merged into itself."))
    unknown = sorted(set(take) - set(CHOOSABLE))
    if unknown:
        raise ValidationError(_("These fields cannot be taken from the other customer: %s") % ", ".join(unknown))
    permissions.require(user, "change", survivor)
    permissions.require(user, "change", duplicate)
    # Work on the rows as they are now (locked), not on what the caller read earlier.
    fresh = Customer.objects.select_for_update().in_bulk([survivor.pk, duplicate.pk])
    survivor, duplicate = fresh[survivor.pk], fresh[duplicate.pk]
    if expected_versions is not None:
        _check_version(survivor, expected_versions[0])
        _check_version(duplicate, expected_versions[1])
    record = MergeRecord.objects.create(
        organization_id=survivor.organization_id,
        survivor=survivor,
        duplicate_id=duplicate.pk,
        snapshot=_snapshot(duplicate, survivor),
        merged_by=user if user.pk else None,
    )
    moved: dict[str, list[str]] = {}
    for kind, model, field in MOVED_KINDS:
        rows = model.objects.filter(**{field: duplicate}).exclude(pk=record.pk)
        moved[kind] = [str(pk) for pk in rows.values_list("pk", flat=True)]
        model.objects.filter(pk__in=moved[kind]).update(**{field: survivor})
    order_services.order_lines_follow(order_ids=moved["orders"])
    had = set(survivor.tags.values_list("pk", flat=True))
    added = [pk for pk in duplicate.tags.values_list("pk", flat=True) if pk not in had]
    survivor.tags.add(*added)
    moved["tags"] = [str(pk) for pk in added]
    before = SimpleNamespace(**{name: getattr(survivor, name) for name in ("name", "number", *KEPT_DETAILS)})
    filled = _richer_values(survivor, duplicate, take)
    _write_fields(survivor, {name: new for name, (_old, new) in filled.items()})
    moved["kept_contact"] = _keep_other_details(survivor, before, duplicate)
    record.moved, record.filled = moved, {k: audit.jsonable(v) for k, v in filled.items()}
    record.save(update_fields=["moved", "filled"])
    _close_pairs(survivor, duplicate, record, user)
    audit.record(
        "customer.merged",
        obj=survivor,
        user=user,
        changes=filled,
        data={
            "duplicate": duplicate.pk,
            "number": duplicate.number,
            "merge": record.pk,
            "moved": {k: len(v) for k, v in moved.items()},
        },
    )
    duplicate.delete()
    insights_tasks.rescore_on_commit(survivor)  # orders moved: its scores follow at once
    return record


# Contact details the survivor has its own of, kept from the duplicate as a contact person.
KEPT_DETAILS = ("phone", "email", "wechat")


def _keep_other_details(survivor: Customer, before: SimpleNamespace, duplicate: Customer) -> list[str]:
    """A second phone, e-mail or WeChat ID of the same customer is worth keeping: the one the
    survivor lacks fills its field (above); one the survivor does not end up with (the
    duplicate's, or its own old one where the user took the duplicate's) becomes a contact on
    the survivor, named as the customer it came from, instead of being lost. `before`: the
    survivor's details before the merge. Returns the contacts' ids, for the undo."""
    contacts = []
    for source in (duplicate, before):
        other = {name: getattr(source, name) for name in KEPT_DETAILS
                 if getattr(source, name) and getattr(source, name) != getattr(survivor, name)}
        if other:
            contacts.append(Contact.objects.create(
                organization_id=survivor.organization_id, customer=survivor, name=source.name,
                kept_from=source.number, **other,
            ))
    return [str(contact.pk) for contact in contacts]


def _close_pairs(survivor: Customer, duplicate: Customer, record: MergeRecord, user: Any) -> None:
    """Mark the reviewed pair merged; drop the duplicate's other pairs (kept in the snapshot)."""
    DuplicatePair.objects.filter(
        models.Q(a=survivor, b=duplicate) | models.Q(a=duplicate, b=survivor)
    ).update(
        status=DuplicatePair.Status.MERGED,
        resolved_at=timezone.now(),
        resolved_by=user if user.pk else None,
        merge=record,
    )
    DuplicatePair.objects.filter(models.Q(a=duplicate) | models.Q(b=duplicate)).exclude(
        merge=record
    ).delete()


def _restore_customer(record: MergeRecord) -> Customer:
    fields = record.snapshot["fields"]
    values = {
        f.attname: f.to_python(fields[f.attname]) if fields.get(f.attname) is not None else None
        for f in Customer._meta.concrete_fields
        if f.attname in fields
    }
    duplicate = Customer(**values)
    return duplicate


@transaction.atomic
def customer_merge_undo(*, record: MergeRecord, user: Any) -> Customer:
    """Bring the retired customer back exactly as it was and move back the rows that moved.

    Fields of the survivor filled by the merge are emptied again unless someone has changed
    them since; rows that moved and were since deleted or moved elsewhere stay where they are.
    """
    if record.undone_at is not None:
        raise ValidationError(_("This merge has already been undone."))
    survivor = record.survivor
    duplicate = _restore_customer(record)
    permissions.require(user, "change", survivor)
    permissions.require(user, "change", duplicate)
    if Customer.objects.filter(pk=duplicate.pk).exists():
        raise ValidationError(_("The merged customer already exists again."))
    duplicate.save(force_insert=True)
    # auto_now(_add) stamped the insert with now(); put the original dates back.
    Customer.objects.filter(pk=duplicate.pk).update(
        created_at=Customer._meta.get_field("created_at").to_python(
            record.snapshot["fields"]["created_at"]
        ),
        updated_at=Customer._meta.get_field("updated_at").to_python(
            record.snapshot["fields"]["updated_at"]
        ),
    )
    for kind, model, field in MOVED_KINDS:
        ids = record.moved.get(kind, [])
        model.objects.filter(pk__in=ids, **{field: survivor}).update(**{field: duplicate})
    order_services.order_lines_follow(order_ids=record.moved.get("orders", []))
    survivor.tags.remove(*record.moved.get("tags", []))
    duplicate.tags.set(record.snapshot["tags"])
    _unfill(survivor, record.filled)
    Contact.objects.filter(pk__in=record.moved.get("kept_contact", []), customer=survivor).delete()
    _reopen_pairs(record, duplicate)
    record.undone_at, record.undone_by = timezone.now(), user if user.pk else None
    record.save(update_fields=["undone_at", "undone_by"])
    audit.record(
        "customer.merge_undone",
        obj=survivor,
        user=user,
        data={"duplicate": duplicate.pk, "number": duplicate.number, "merge": record.pk},
    )
    insights_tasks.rescore_on_commit(survivor, duplicate)
    return duplicate


def _unfill(survivor: Customer, filled: dict[str, list[Any]]) -> None:
    survivor.refresh_from_db()
    values = {}
    for name, (old, new) in filled.items():
        if audit.jsonable(getattr(survivor, name)) == new:
            field = Customer._meta.get_field(name)
            values[name] = field.to_python(old) if old is not None else (None if field.null else "")
    _write_fields(survivor, values)


def _reopen_pairs(record: MergeRecord, duplicate: Customer) -> None:
    pair = DuplicatePair.objects.filter(merge=record).first()
    if pair is not None:
        side = "a" if pair.a_id is None else "b"
        setattr(pair, f"{side}_id", duplicate.pk)
        pair.status, pair.resolved_at, pair.resolved_by, pair.merge = (
            DuplicatePair.Status.OPEN,
            None,
            None,
            None,
        )
        pair.save()
    DuplicatePair.objects.bulk_create(
        [
            DuplicatePair(
                organization_id=record.organization_id,
                id=p["id"],
                a_id=p["a"],
                b_id=p["b"],
                score=p["score"],
                reasons=p["reasons"],
                status=p["status"],
            )
            for p in record.snapshot.get("pairs", [])
            if Customer.objects.filter(pk__in=[p["a"], p["b"]]).count() == 2
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def duplicate_dismiss(*, pair: DuplicatePair, user: Any) -> DuplicatePair:
    """Mark a suspected pair "not a duplicate"; later scans leave it alone."""
    for customer in (pair.a, pair.b):
        if customer is None:
            raise ValidationError(_("This pair has already been merged."))
        permissions.require(user, "change", customer)
    DuplicatePair.objects.filter(pk=pair.pk).update(
        status=DuplicatePair.Status.DISMISSED,
        resolved_at=timezone.now(),
        resolved_by=user,
        version=F("version") + 1,
    )
    pair.refresh_from_db()
    audit.record("duplicate.dismissed", obj=pair, user=user, data={"a": pair.a_id, "b": pair.b_id})
    return pair
