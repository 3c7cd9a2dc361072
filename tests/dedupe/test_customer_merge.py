"""Merging customers: every kind of row moves, richer fields are kept, undo restores exactly."""

import datetime as dt
import importlib

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from patron.accounts.permissions import PermissionDenied
from patron.activities import services as activities
from patron.activities.models import Interaction, Task
from patron.audit.models import AuditEntry
from patron.common.errors import ConflictError
from patron.customers import merge, services
from patron.customers.models import Contact, Customer, DuplicatePair, MergeRecord
from patron.orders import services as orders
from patron.orders.models import Order
from patron.sales import services as sales
from patron.sales.models import Lead, Opportunity
from tests.support import lines_out_of_step

# A month ago, on the hour: a task may not be due more than a year back.
NOW = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=30)


@pytest.fixture
def duplicate(owner):
    return services.customer_create(
        user=owner,
        data={
            "name": "王芳",
            "phone": "13912345678",
            "email": "fang@example.org",
            "company_name": "Acme",
            "city": "Shanghai",
            "notes": "met at the fair",
        },
        tags=[services.tag_get_or_create(user=owner, name="vip")],
    )


@pytest.fixture
def history(owner, duplicate, product):
    """One row of every kind that points at the duplicate."""
    lead = sales.lead_create(user=owner, data={"name": "Fang Wang"})
    Lead.objects.filter(pk=lead.pk).update(converted_customer=duplicate)
    return {
        "orders": orders.order_create(
            user=owner, customer=duplicate, ordered_at=NOW, lines=[{"product": product}]
        ),
        "opportunities": sales.opportunity_create(
            user=owner, customer=duplicate, data={"name": "Tea", "amount": "100"}
        ),
        "interactions": activities.interaction_log(
            user=owner, kind="call", customer=duplicate, occurred_at=NOW
        ),
        "tasks": activities.task_create(
            user=owner, title="Call back", due_at=NOW, customer=duplicate
        ),
        "contacts": services.contact_create(
            customer=duplicate, user=owner, data={"name": "Assistant"}
        ),
        "leads": lead,
    }


MODELS = {
    "orders": (Order, "customer_id"),
    "opportunities": (Opportunity, "customer_id"),
    "interactions": (Interaction, "customer_id"),
    "tasks": (Task, "customer_id"),
    "contacts": (Contact, "customer_id"),
    "leads": (Lead, "converted_customer_id"),
}


def owner_of(kind, row):
    model, field = MODELS[kind]
    return getattr(model.objects.get(pk=row.pk), field)


def test_it_moves_every_kind_of_row_to_the_survivor(customer, duplicate, history, owner):
    assert history["orders"].lines.get().customer_id == duplicate.pk and lines_out_of_step() == []
    record = merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    # The lines' copies of their order's customer moved with it (the value refresh reads them).
    assert history["orders"].lines.get().customer_id == customer.pk and lines_out_of_step() == []
    for kind, row in history.items():
        assert owner_of(kind, row) == customer.pk, kind
        assert record.moved[kind] == [str(row.pk)]
    assert not Customer.objects.filter(pk=duplicate.pk).exists()
    assert list(customer.tags.values_list("name", flat=True)) == ["vip"]


def test_it_keeps_the_richer_fields(customer, duplicate, history, owner):
    merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    customer.refresh_from_db()
    # blank on the survivor: filled; set on the survivor: kept
    assert (customer.company_name, customer.city, customer.notes) == (
        "Acme",
        "Shanghai",
        "met at the fair",
    )
    assert customer.phone == "+8613812341016" and customer.email == "wang.fang@example.com"
    assert customer.last_ordered_at == NOW and customer.last_contacted_at == NOW
    assert "acme" in customer.search_text


def test_it_audits_the_merge(customer, duplicate, owner):
    record = merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    entry = AuditEntry.objects.get(action="customer.merged")
    assert entry.object_id == str(customer.pk) and entry.actor == owner
    assert entry.data["duplicate"] == str(duplicate.pk) and entry.data["merge"] == str(record.pk)
    assert entry.changes["company_name"] == ["", "Acme"]


def test_it_closes_the_reviewed_pair_and_drops_the_duplicates_other_pairs(
    org, customer, duplicate, owner
):
    third = services.customer_create(user=owner, data={"name": "Third"})
    reviewed = DuplicatePair.objects.create(organization=org, a=customer, b=duplicate, score=0.9)
    DuplicatePair.objects.create(
        organization=org, a=duplicate, b=third, score=0.7, reasons=["same_email"]
    )
    record = merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    reviewed.refresh_from_db()
    assert (reviewed.status, reviewed.merge, reviewed.b_id) == ("merged", record, None)
    assert DuplicatePair.objects.count() == 1


def test_it_refuses_to_merge_a_customer_into_itself(customer, owner):
    with pytest.raises(ValidationError):
        merge.customer_merge(survivor=customer, duplicate=customer, user=owner)


def test_it_refuses_a_stale_comparison(customer, duplicate, owner):
    services.customer_update(customer=duplicate, user=owner, data={"city": "Hangzhou"})
    with pytest.raises(ConflictError):
        merge.customer_merge(
            survivor=customer, duplicate=duplicate, user=owner, expected_versions=(1, 1)
        )
    assert Customer.objects.filter(pk=duplicate.pk).exists()


def snapshot(customer):
    fields = {f.attname: getattr(customer, f.attname) for f in Customer._meta.concrete_fields}
    return fields, sorted(customer.tags.values_list("name", flat=True))


def test_it_undoes_a_merge_exactly(org, customer, duplicate, history, owner):
    pair = DuplicatePair.objects.create(organization=org, a=customer, b=duplicate, score=0.9)
    before_dup, before_surv = (
        snapshot(Customer.objects.get(pk=duplicate.pk)),
        snapshot(Customer.objects.get(pk=customer.pk)),
    )
    record = merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    restored = merge.customer_merge_undo(record=record, user=owner)
    assert snapshot(Customer.objects.get(pk=restored.pk)) == before_dup
    after_surv = snapshot(Customer.objects.get(pk=customer.pk))
    skip = {"version", "updated_at"}
    assert {k: v for k, v in after_surv[0].items() if k not in skip} == {
        k: v for k, v in before_surv[0].items() if k not in skip
    }
    for kind, row in history.items():
        assert owner_of(kind, row) == duplicate.pk, kind
    assert history["orders"].lines.get().customer_id == duplicate.pk and lines_out_of_step() == []
    pair.refresh_from_db()
    assert (pair.status, pair.b_id, pair.merge) == ("open", duplicate.pk, None)
    record.refresh_from_db()
    assert record.undone_at is not None and record.undone_by == owner
    assert AuditEntry.objects.filter(action="customer.merge_undone").count() == 1


def test_it_moves_back_only_the_rows_that_moved(customer, duplicate, owner):
    own_task = activities.task_create(
        user=owner, title="Survivor's own", due_at=NOW, customer=customer
    )
    moved_task = activities.task_create(
        user=owner, title="Duplicate's", due_at=NOW, customer=duplicate
    )
    record = merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    new_task = activities.task_create(
        user=owner, title="After the merge", due_at=NOW, customer=customer
    )
    merge.customer_merge_undo(record=record, user=owner)
    assert Task.objects.get(pk=own_task.pk).customer_id == customer.pk
    assert Task.objects.get(pk=new_task.pk).customer_id == customer.pk
    assert Task.objects.get(pk=moved_task.pk).customer_id == duplicate.pk


def test_it_keeps_a_filled_field_someone_changed_since(customer, duplicate, owner):
    record = merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    customer.refresh_from_db()
    services.customer_update(customer=customer, user=owner, data={"city": "Suzhou"})
    merge.customer_merge_undo(record=record, user=owner)
    customer.refresh_from_db()
    assert customer.city == "Suzhou" and customer.company_name == ""


def test_it_keeps_earlier_merges_undoable(customer, duplicate, owner):
    third = services.customer_create(user=owner, data={"name": "Third", "wechat": "third"})
    first = merge.customer_merge(survivor=duplicate, duplicate=third, user=owner)
    merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    first.refresh_from_db()
    assert first.survivor_id == customer.pk
    assert merge.customer_merge_undo(record=first, user=owner).pk == third.pk


def test_it_refuses_to_undo_twice(customer, duplicate, owner):
    record = merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    merge.customer_merge_undo(record=record, user=owner)
    with pytest.raises(ValidationError):
        merge.customer_merge_undo(record=record, user=owner)


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("owner", True),
        ("manager", True),
        ("admin", True),
        ("teammate", False),
        ("subrep", False),
        ("other_team", False),
        ("viewer", False),
    ],
)
def test_it_checks_change_permission_on_both_records(
    request, customer, duplicate, persona, allowed
):
    user = request.getfixturevalue(persona)
    if allowed:
        record = merge.customer_merge(survivor=customer, duplicate=duplicate, user=user)
        merge.customer_merge_undo(record=record, user=user)
        assert Customer.objects.filter(pk=duplicate.pk).exists()
    else:
        with pytest.raises(PermissionDenied):
            merge.customer_merge(survivor=customer, duplicate=duplicate, user=user)
        assert MergeRecord.objects.count() == 0


def test_it_needs_change_on_the_duplicate_too(customer, teammate, owner):
    theirs = services.customer_create(user=teammate, data={"name": "Theirs"})
    with pytest.raises(PermissionDenied):
        merge.customer_merge(survivor=customer, duplicate=theirs, user=owner)
    with pytest.raises(PermissionDenied):
        merge.customer_merge(survivor=theirs, duplicate=customer, user=owner)


def test_it_checks_permission_on_undo(customer, duplicate, owner, teammate):
    record = merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    with pytest.raises(PermissionDenied):
        merge.customer_merge_undo(record=record, user=teammate)


def test_it_dismisses_a_pair(org, customer, duplicate, owner, viewer):
    pair = DuplicatePair.objects.create(organization=org, a=customer, b=duplicate, score=0.9)
    with pytest.raises(PermissionDenied):
        merge.duplicate_dismiss(pair=pair, user=viewer)
    merge.duplicate_dismiss(pair=pair, user=owner)
    assert DuplicatePair.objects.get().status == "dismissed"
    assert AuditEntry.objects.filter(action="duplicate.dismissed").count() == 1
    assert timezone.now() >= DuplicatePair.objects.get().resolved_at


def test_it_keeps_the_duplicates_other_phone_and_e_mail_as_a_contact_until_undone(customer, duplicate, owner):
    record = merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    kept = Contact.objects.get(customer=customer, name="王芳")
    assert (kept.phone, kept.email) == ("+8613912345678", "fang@example.org")
    assert (kept.kept_from, kept.title) == (duplicate.number, "")  # said in each reader's language
    merge.customer_merge_undo(record=record, user=owner)
    assert not Contact.objects.filter(pk=kept.pk).exists()


def test_a_kept_contact_reads_in_each_readers_language(client, customer, duplicate, owner):
    merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    url = reverse("customers:customer-detail", args=[customer.pk])
    client.force_login(owner)
    for language, said in (("en", "from"), ("zh-hans", "来自")):
        page = client.get(url, headers={"Accept-Language": language}).content.decode()
        assert f"王芳</strong> · {said} {duplicate.number}" in page


def test_the_migration_moves_kept_contacts_out_of_their_job_titles(customer, owner):
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    name = "0008_contact_kept_from"
    apps = MigrationLoader(connection).project_state(("customers", name)).apps  # the models as then
    migration = importlib.import_module(f"patron.customers.migrations.{name}")
    made = {title: Contact.objects.create(organization=customer.organization, customer=customer, name="王芳",
                                          title=title)
            for title in ("from C000458", "来自 C000459", "Buyer", "来自北京")}
    migration.move_titles(apps, None)
    found = {title: (c.kept_from, c.title) for title, c in
             ((t, Contact.objects.get(pk=c.pk)) for t, c in made.items())}
    assert found == {"from C000458": ("C000458", ""), "来自 C000459": ("C000459", ""),
                     "Buyer": ("", "Buyer"), "来自北京": ("", "来自北京")}
    migration.move_back(apps, None)
    assert Contact.objects.get(pk=made["来自 C000459"].pk).title == "from C000459"
    assert Contact.objects.get(pk=made["Buyer"].pk).title == "Buyer"


def test_the_scores_of_merged_and_unmerged_customers_follow(monkeypatch, customer, duplicate, owner,
                                                            django_capture_on_commit_callbacks):
    from patron.insights import tasks

    asked = []
    import types

    monkeypatch.setattr(tasks, "customer_rescore_run", types.SimpleNamespace(enqueue=lambda c, o: asked.append(c)))
    with django_capture_on_commit_callbacks(execute=True):
        record = merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner)
    assert asked == [str(customer.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        merge.customer_merge_undo(record=record, user=owner)
    assert asked[1:] == [str(customer.pk), str(duplicate.pk)]


def test_the_user_may_take_the_duplicates_value_where_both_have_one_and_undo_it(customer, duplicate, owner):
    services.customer_update(customer=duplicate, user=owner, data={"name": "王芳(上海)"})
    duplicate.refresh_from_db()
    record = merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner, take=["phone", "name", "city"])
    customer.refresh_from_db()
    # Taken: the duplicate's phone and name; the city was blank on the survivor, filled anyway.
    assert (customer.name, customer.phone, customer.city) == ("王芳(上海)", "+8613912345678", "Shanghai")
    assert customer.email == "wang.fang@example.com"  # not taken: the survivor's own
    assert "王芳(上海)" in customer.search_text
    # The details the survivor no longer has are kept as contacts, each named as the customer it came from.
    kept = {c.name: (c.phone, c.email) for c in Contact.objects.filter(pk__in=record.moved["kept_contact"])}
    assert kept == {"王芳": ("+8613812341016", ""), "王芳(上海)": ("", "fang@example.org")}
    assert AuditEntry.objects.get(action="customer.merged").changes["phone"] == ["+8613812341016", "+8613912345678"]
    merge.customer_merge_undo(record=record, user=owner)
    customer.refresh_from_db()
    assert (customer.name, customer.phone, customer.city) == ("王芳", "+8613812341016", "")
    assert not Contact.objects.filter(pk__in=record.moved["kept_contact"]).exists()


def test_a_field_the_merge_may_not_take_is_refused_and_a_blank_never_replaces_a_value(customer, duplicate, owner):
    with pytest.raises(ValidationError):
        merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner, take=["notes"])
    assert Customer.objects.filter(pk=duplicate.pk).exists()
    merge.customer_merge(survivor=customer, duplicate=duplicate, user=owner, take=["id_number", "birthday"])
    customer.refresh_from_db()
    assert (customer.id_number, customer.birthday) == ("310101198805120021", dt.date(1988, 5, 12))
