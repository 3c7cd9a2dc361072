"""`common.bulk`: rows written in bulk read back as the ORM would have written them, on SQLite
and PostgreSQL alike (the suite runs on both), and keys made for them are time-ordered."""

import datetime as dt
import uuid

from django.utils import timezone

from patron.audit.models import AuditEntry
from patron.common import bulk
from patron.customers.models import Customer

AWKWARD = "tab\there, a new\nline, a back\\slash, \\N, a return\r and 中文"


def test_it_writes_awkward_text_dates_and_nulls_as_the_orm_reads_them(org, owner):
    before = timezone.now()
    rows = [
        {
            "organization_id": org.pk,
            "number": "C000001",
            "name": AWKWARD,
            "phone": "+8613800138000",
            "birthday": dt.date(1990, 1, 2),
            "owner_id": owner.pk,
            "owner_team_id": owner.team_id,
        },
        {"organization_id": org.pk, "number": "C000002", "name": "\\", "owner_id": None},
    ]
    assert bulk.insert_rows(Customer, rows) == 2
    first = Customer.objects.get(number="C000001")
    assert first.pk == rows[0]["id"]  # the key made for the row is written back into it
    assert (first.name, first.phone, first.birthday) == (AWKWARD, "+8613800138000", rows[0]["birthday"])
    assert (first.owner_id, first.owner_team_id) == (owner.pk, owner.team_id)
    # Fields the row leaves out take their defaults, as `bulk_create` would give them.
    assert (first.kind, first.source, first.version, first.email, first.notes) == (
        "person", "other", 1, "", "",
    )
    assert (first.consent_phone, first.consent_email, first.pooled_at) == (True, False, None)
    assert first.created_at == first.updated_at and first.created_at >= before
    second = Customer.objects.get(number="C000002")
    assert (second.name, second.owner_id, second.birthday) == ("\\", None, None)


def test_it_writes_json_values_as_the_orm_reads_them(org, owner):
    payload = {"import": str(uuid.uuid4()), "note": AWKWARD, "n": [1, 2.5, None, True]}
    rows = [
        {"organization_id": org.pk, "actor_id": owner.pk, "action": "customer.imported",
         "object_type": "customers.customer", "object_id": str(i), "changes": {}, "data": payload}
        for i in range(3)
    ] + [{"organization_id": org.pk, "action": "x.y", "object_type": "a.b", "changes": {"f": [AWKWARD, None]}}]
    bulk.insert_rows(AuditEntry, rows)
    entries = {e.object_id: e for e in AuditEntry.objects.filter(action__in=["customer.imported", "x.y"])}
    assert [entries[str(i)].data for i in range(3)] == [payload] * 3
    assert entries["0"].changes == {} and entries["0"].actor_id == owner.pk
    assert entries[""].changes == {"f": [AWKWARD, None]} and entries[""].data == {}


def test_it_makes_time_ordered_version_7_keys():
    keys = bulk.ordered_uuids(5000) + bulk.ordered_uuids(3) + [bulk.ordered_uuid()]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert {key.version for key in keys} == {7} and {key.variant for key in keys} == {uuid.RFC_4122}
    assert keys[0].int >> 80 >= (timezone.now().timestamp() - 60) * 1000  # milliseconds first


def test_it_gives_rows_without_a_key_time_ordered_ones(org):
    rows = [{"organization_id": org.pk, "action": "x.y", "object_type": "a.b"} for _ in range(1200)]
    bulk.insert_rows(AuditEntry, rows, batch=500)
    keys = [row["id"] for row in rows]
    assert keys == sorted(keys) and {key.version for key in keys} == {7}
    assert AuditEntry.objects.filter(pk__in=keys).count() == 1200


def test_a_layout_made_ahead_writes_what_insert_rows_writes(org, owner):
    """The import makes rows' heads in another process and adds their tails at the write."""
    import pytest

    with pytest.raises(ValueError, match="created_at"):  # its time is the write's, not now
        bulk.RowLayout(Customer, ("number",))
    layout = bulk.RowLayout(Customer, ("number", "created_at", "updated_at"))
    now = timezone.now()
    head = layout.head({"id": uuid.uuid4(), "organization_id": org.pk, "name": AWKWARD, "owner_id": owner.pk,
                        "birthday": dt.date(1990, 1, 2)})
    assert bulk.insert_encoded(layout, [head + layout.tail(("C000009", now, now))]) == 1
    made = Customer.objects.get(number="C000009")
    assert (made.name, made.birthday, made.owner_id, made.created_at) == (AWKWARD, dt.date(1990, 1, 2), owner.pk, now)
    assert (made.kind, made.consent_phone, made.version) == ("person", True, 1)  # defaults
