"""The customer's page (360 view): profile, reveal, timeline, summary, in-place logging."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from patron.activities import services as activities
from patron.activities.models import Interaction, Task
from patron.audit.models import AuditEntry
from patron.customers import services
from patron.orders.models import Order


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hashing each persona's password with the production hasher costs seconds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _url(customer, name="customer-detail"):
    return reverse(f"customers:{name}", args=[customer.pk])


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("owner", 200),
        ("teammate", 404),
        ("manager", 200),
        ("other_team", 404),
        ("viewer", 200),
        ("outsider", 404),
    ],
)
def test_it_shows_the_page_only_to_those_who_see_the_customer(
    client, request, customer, persona, status
):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(_url(customer)).status_code == status


def test_it_masks_sensitive_fields_and_offers_reveal_to_the_owner_only(
    client, owner, viewer, customer
):
    client.force_login(owner)
    html = client.get(_url(customer)).content.decode()
    assert "138****1016" in html and "3101**********0021" in html
    assert "13812341016" not in html and "1988-05-12" not in html
    assert _url(customer, "customer-reveal") in html
    client.force_login(viewer)
    html = client.get(_url(customer)).content.decode()
    assert "138****1016" in html
    assert _url(customer, "customer-reveal") not in html


def test_it_reveals_one_field_by_htmx_and_audits_it(client, owner, customer):
    client.force_login(owner)
    response = client.post(
        _url(customer, "customer-reveal"), {"field": "phone"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "+8613812341016" in html and "<html" not in html
    assert "1988-05-12" not in html
    entry = AuditEntry.objects.get(action="customer.sensitive_revealed")
    assert entry.actor == owner and entry.data == {"field": "phone"}


def test_it_reveals_without_javascript_on_the_full_page(client, owner, customer):
    client.force_login(owner)
    html = client.post(_url(customer, "customer-reveal"), {"field": "birthday"}).content.decode()
    assert "1988-05-12" in html and "<html" in html
    assert "13812341016" not in html


def test_it_refuses_reveal_to_those_not_allowed(client, viewer, teammate, owner, customer):
    client.force_login(viewer)
    assert client.post(_url(customer, "customer-reveal"), {"field": "phone"}).status_code == 403
    client.force_login(teammate)
    assert client.post(_url(customer, "customer-reveal"), {"field": "phone"}).status_code == 404
    client.force_login(owner)
    assert client.post(_url(customer, "customer-reveal"), {"field": "notes"}).status_code == 400
    assert client.get(_url(customer, "customer-reveal")).status_code == 405
    assert not AuditEntry.objects.filter(action="customer.sensitive_revealed").exists()


def test_it_merges_the_timeline_newest_first(client, owner, customer, product):
    from patron.orders import services as orders
    from patron.sales import services as sales

    now = timezone.now()
    orders.order_create(
        user=owner,
        customer=customer,
        ordered_at=now - dt.timedelta(days=30),
        lines=[{"product": product, "quantity": 2}],
    )
    activities.interaction_log(
        user=owner,
        kind="call",
        customer=customer,
        subject="Intro call",
        occurred_at=now - dt.timedelta(days=10),
    )
    sales.opportunity_create(
        user=owner, customer=customer, data={"name": "Office tea", "amount": "5000"}
    )
    client.force_login(owner)
    response = client.get(_url(customer))
    kinds = [item["kind"] for item in response.context["timeline"]]
    assert {"interaction", "order", "opportunity", "audit"} <= set(kinds)
    times = [item["at"] for item in response.context["timeline"]]
    assert times == sorted(times, reverse=True)
    assert "Intro call" in response.content.decode()


def test_it_masks_sensitive_changes_in_the_timeline(client, owner, customer):
    services.customer_update(
        customer=customer, user=owner, data={"phone": "13912345678", "city": "Suzhou"}
    )
    client.force_login(owner)
    html = client.get(_url(customer)).content.decode()
    assert "139****5678" in html and "Suzhou" in html
    assert "13912345678" not in html and "13812341016" not in html


def test_the_timeline_names_every_kind_of_change_in_the_readers_language(client, owner, customer):
    from patron.audit import services as audit

    audit.record_many("customer.imported", objs=[customer], user=owner, data={})
    client.force_login(owner)
    html = client.get(_url(customer), headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "已导入" in html and "Imported" not in html


def test_it_hides_the_audit_history_from_read_only_viewers(client, viewer, customer):
    client.force_login(viewer)
    timeline = client.get(_url(customer)).context["timeline"]
    assert all(item["kind"] != "audit" for item in timeline)


def test_it_summarises_purchases_without_cancelled_orders(client, owner, customer, product):
    from patron.orders import services as orders

    now = timezone.now()
    first = orders.order_create(
        user=owner,
        customer=customer,
        ordered_at=now - dt.timedelta(days=60),
        lines=[{"product": product, "quantity": 1}],
    )
    orders.order_create(
        user=owner,
        customer=customer,
        ordered_at=now - dt.timedelta(days=5),
        lines=[{"product": product, "quantity": 3}],
    )
    cancelled = orders.order_create(
        user=owner, customer=customer, ordered_at=now, lines=[{"product": product, "quantity": 9}]
    )
    Order.objects.filter(pk=cancelled.pk).update(status=Order.Status.CANCELLED)
    client.force_login(owner)
    summary = client.get(_url(customer)).context["summary"]
    assert summary["count"] == 2
    assert summary["spend"] == Decimal("352.00")
    assert summary["average"] == Decimal("176.00")
    assert summary["first"] == first.ordered_at


def test_it_logs_a_call_in_place_and_returns_the_timeline(client, owner, customer):
    client.force_login(owner)
    response = client.post(
        _url(customer, "interaction-create"),
        {"kind": "call", "direction": "out", "subject": "Asked about tea"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="timeline">') and "Asked about tea" in html
    assert Interaction.objects.get().owner == owner


def test_it_logs_a_call_without_javascript(client, owner, customer):
    client.force_login(owner)
    response = client.post(
        _url(customer, "interaction-create"), {"kind": "visit", "direction": "out"}
    )
    assert response.status_code == 302 and response["Location"] == _url(customer)
    assert Interaction.objects.get().kind == "visit"


def test_it_records_a_complaint_and_shows_it_on_the_timeline(client, owner, customer):
    client.force_login(owner)
    response = client.post(
        _url(customer, "interaction-create"),
        {"kind": "wechat", "direction": "in", "outcome": "complaint", "subject": "Late delivery"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert Interaction.objects.get().outcome == Interaction.Outcome.COMPLAINT
    assert 'badge badge-danger">Complaint' in response.content.decode()
    bad = client.post(_url(customer, "interaction-create"), {"kind": "call", "direction": "out", "outcome": "angry"})
    assert bad.status_code == 400 and Interaction.objects.count() == 1


def test_it_shows_field_errors_for_a_bad_interaction(client, owner, customer):
    client.force_login(owner)
    future = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        _url(customer, "interaction-create"),
        {"kind": "fax", "direction": "out", "occurred_at": future},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#interaction-form"
    assert b'id="interaction-form"' in response.content and b"errorlist" in response.content
    plain = client.post(_url(customer, "interaction-create"), {"kind": "fax"})
    assert plain.status_code == 400 and b"<html" in plain.content
    assert not Interaction.objects.exists()


def test_it_adds_a_task_in_place(client, owner, customer):
    client.force_login(owner)
    due = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        _url(customer, "task-create"),
        {"title": "Send samples", "due_at": due},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and b"Send samples" in response.content
    task = Task.objects.get()
    assert task.customer == customer and task.owner == owner
    assert client.post(_url(customer, "task-create"), {"title": ""}).status_code == 400


def test_times_are_read_and_shown_on_the_organisations_clock(client, owner, customer):
    """The server keeps UTC; a rep in Shanghai types and reads Shanghai times."""
    import zoneinfo

    assert owner.organization.time_zone == "Asia/Shanghai"
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    tomorrow = (timezone.now().astimezone(shanghai) + dt.timedelta(days=1)).replace(
        hour=9, minute=30, second=0, microsecond=0)
    client.force_login(owner)
    response = client.post(_url(customer, "task-create"),
                           {"title": "Morning call", "due_at": tomorrow.strftime("%Y-%m-%dT%H:%M")},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    task = Task.objects.get()
    assert task.due_at == tomorrow and task.due_at.astimezone(dt.UTC).hour == 1  # 09:30 in Shanghai
    page = client.get(reverse("activities:task-list")).content.decode()
    assert f'value="{tomorrow:%Y-%m-%d}T09:30"' in page and f"{tomorrow:%Y-%m-%d}T09:30:00+08:00" in page


def test_it_does_not_let_others_log_on_a_customer_they_cannot_see(
    client, teammate, viewer, customer
):
    client.force_login(teammate)
    assert (
        client.post(
            _url(customer, "interaction-create"), {"kind": "call", "direction": "out"}
        ).status_code
        == 404
    )
    client.force_login(viewer)
    html = client.get(_url(customer)).content.decode()
    assert _url(customer, "interaction-create") not in html
    assert (
        client.post(
            _url(customer, "interaction-create"), {"kind": "call", "direction": "out"}
        ).status_code
        == 403
    )


def test_it_serves_the_timeline_fragment_to_htmx(client, owner, customer):
    activities.interaction_log(user=owner, kind="call", customer=customer, subject="Fragment call")
    client.force_login(owner)
    response = client.get(_url(customer), {"fragment": "timeline"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="timeline">') and "Fragment call" in html
    assert "HX-Request" in response["Vary"]


def test_the_timeline_shows_changed_times_and_choices_as_the_page_does(client, owner, customer):
    from patron.audit import services as audit

    audit.record("customer.updated", obj=customer, user=owner, changes={
        "last_contacted_at": (None, dt.datetime(2025, 2, 2, 20, 9, 49, tzinfo=dt.UTC)),
        "kind": ("person", "company"),
    })
    client.force_login(owner)
    html = client.get(_url(customer)).content.decode()
    assert "2025-02-02T20:09:49" not in html and ">company<" not in html and "→ company" not in html
    assert "Company" in html
    assert "2025-02-03 04:09" in html  # 20:09 UTC is 04:09 the next day in Shanghai, as the pages write times


def test_a_reveal_on_the_timeline_names_the_field_as_the_page_does(client, owner, customer):
    client.force_login(owner)
    client.post(_url(customer, "customer-reveal"), {"field": "phone"})
    html = client.get(_url(customer)).content.decode()
    assert "Field: Phone" in html and "Field: phone" not in html
