"""The home page: my tasks due, my open opportunities by stage, my customers' activity."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from patron.activities import services as activities
from patron.sales import services as sales
from tests.support import current_run


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hashing each persona's password with the production hasher costs seconds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_it_lists_my_due_and_overdue_tasks_only(client, owner, teammate, customer):
    now = timezone.now()
    activities.task_create(
        user=owner, title="Overdue call", due_at=now - dt.timedelta(days=2), customer=customer
    )
    activities.task_create(user=owner, title="Next week", due_at=now + dt.timedelta(days=7))
    activities.task_create(user=teammate, title="Not mine", due_at=now - dt.timedelta(hours=1))
    done = activities.task_create(
        user=owner, title="Done already", due_at=now - dt.timedelta(hours=1)
    )
    activities.task_complete(task=done, user=owner)
    client.force_login(owner)
    html = client.get(reverse("web:home")).content.decode()
    assert "Overdue call" in html and 'class="overdue"' in html
    assert "Next week" not in html and "Not mine" not in html and "Done already" not in html


def test_it_sums_my_open_opportunities_by_stage(client, owner, customer):
    sales.opportunity_create(user=owner, customer=customer, data={"name": "A", "amount": "1000"})
    sales.opportunity_create(user=owner, customer=customer, data={"name": "B", "amount": "2500.50"})
    client.force_login(owner)
    response = client.get(reverse("web:home"))
    stages = response.context["stages"]
    assert len(stages) == 1
    assert stages[0]["count"] == 2
    assert float(stages[0]["amount"]) == pytest.approx(3500.50)
    assert "3,500.50" in response.content.decode()


def test_it_shows_the_newest_ten_interactions_with_my_customers(client, owner, customer):
    start = timezone.now() - dt.timedelta(days=20)
    for i in range(12):
        activities.interaction_log(
            user=owner,
            kind="call",
            customer=customer,
            subject=f"Call {i:02d}",
            occurred_at=start + dt.timedelta(days=i),
        )
    client.force_login(owner)
    html = client.get(reverse("web:home")).content.decode()
    assert "Call 11" in html and "Call 02" in html
    assert "Call 01" not in html and "Call 00" not in html


def test_it_shows_a_manager_nothing_of_others_on_their_own_home(client, manager, owner, customer):
    activities.interaction_log(user=owner, kind="call", customer=customer, subject="Owner's call")
    client.force_login(manager)
    response = client.get(reverse("web:home"))
    assert response.status_code == 200
    assert "Owner&#x27;s call" not in response.content.decode()
    assert list(response.context["tasks"]) == []


def test_it_says_so_when_no_customer_is_at_risk(client, owner):
    client.force_login(owner)
    response = client.get(reverse("web:home"))
    assert response.context["at_risk"] == []
    assert 'id="customers-at-risk"' in response.content.decode()


def test_it_lists_my_customers_at_risk_with_the_reason_and_not_others(client, owner, other_team, customer):
    from patron.insights.models import CustomerScore

    CustomerScore.objects.create(
        organization_id=customer.organization_id, customer=customer, as_of="2026-11-01",
        run=current_run(customer.organization_id),
        churn_risk=0.8, clv=1200.0, lifecycle="loyal",
        churn_reasons=[{"key": "gap_vs_usual", "ratio": 3.1}],
    )
    client.force_login(owner)
    response = client.get(reverse("web:home"))
    assert [item["customer"] for item in response.context["at_risk"]] == [customer]
    assert "3.1x longer than usual" in response.content.decode()
    assert 'href="/insights/at-risk/"' in response.content.decode()  # the whole list, theirs
    client.force_login(other_team)
    assert client.get(reverse("web:home")).context["at_risk"] == []


def test_it_refuses_post_on_home(client, owner):
    client.force_login(owner)
    assert client.post(reverse("web:home")).status_code == 405
