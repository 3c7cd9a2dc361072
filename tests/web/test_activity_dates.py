"""Dates of tasks and interactions a sales team could mean, on every page and the API; year 1 in
the organisation's zone (Asia/Shanghai, ahead of UTC) is a 4xx naming the field, never a 500."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from patron.activities.models import Interaction, Task


def _customer_url(customer, name):
    return reverse(f"customers:{name}", args=[customer.pk])


@pytest.mark.parametrize("due", ["0001-01-01 00:00", "1899-12-31 10:00", "9999-12-31 10:00"])
def test_it_refuses_a_task_due_when_no_one_plans(client, owner, due):
    client.force_login(owner)
    response = client.post(reverse("activities:task-create"), {"title": "QA", "due_at": due})
    assert response.status_code == 400 and response.context["form"].errors["due_at"]
    assert not Task.objects.exists()


def test_it_refuses_a_reminder_after_the_due_time(client, owner):
    client.force_login(owner)
    due = timezone.localtime() + dt.timedelta(days=1)
    response = client.post(reverse("activities:task-create"), {
        "title": "QA", "due_at": f"{due:%Y-%m-%d %H:%M}", "remind_at": f"{due + dt.timedelta(hours=1):%Y-%m-%d %H:%M}"})
    assert response.status_code == 400 and response.context["form"].errors["remind_at"]
    assert not Task.objects.exists()


def test_it_refuses_year_one_on_the_customer_page(client, owner, customer):
    client.force_login(owner)
    task = client.post(_customer_url(customer, "task-create"), {"title": "QA", "due_at": "0001-01-01 00:00"},
                       headers={"HX-Request": "true"})
    interaction = client.post(_customer_url(customer, "interaction-create"),
                              {"kind": "call", "direction": "out", "occurred_at": "0001-01-01 00:00"},
                              headers={"HX-Request": "true"})
    assert task.status_code == 400 and interaction.status_code == 400
    assert not Task.objects.exists() and not Interaction.objects.exists()


def test_it_refuses_an_interaction_in_the_future_on_the_lead_page(client, owner):
    from patron.sales import services as sales

    lead = sales.lead_create(user=owner, data={"name": "Zhao Lei", "phone": "13900001111"})
    client.force_login(owner)
    page = client.post(reverse("sales:lead-interaction", args=[lead.pk]),
                       {"kind": "call", "direction": "out", "occurred_at": "2999-01-01 10:00"})
    assert page.status_code == 400 and not Interaction.objects.exists()


def test_it_refuses_to_reschedule_a_task_to_year_one(client, owner):
    from patron.activities import services

    task = services.task_create(user=owner, title="Call", due_at=timezone.now() + dt.timedelta(days=1))
    client.force_login(owner)
    page = client.post(reverse("activities:task-reschedule", args=[task.pk]), {"due_at": "0001-01-01T00:00"},
                       headers={"HX-Request": "true"})
    assert page.status_code == 400
    task.refresh_from_db()
    assert task.due_at > timezone.now()


def test_a_rescheduled_task_keeps_its_reminders_lead(owner):
    from patron.activities import services

    due = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
    task = services.task_create(user=owner, title="Call", due_at=due, remind_at=due - dt.timedelta(hours=1))
    services.task_reschedule(task=task, user=owner, due_at=due - dt.timedelta(days=2))
    task.refresh_from_db()
    assert task.remind_at == due - dt.timedelta(days=2, hours=1) and task.remind_at < task.due_at
