"""Dates of tasks and interactions over the API: year 1 in the organisation's zone (Asia/Shanghai,
ahead of UTC), the future for what happened, a reminder after its task: a 400 naming the field."""

import datetime as dt

from django.utils import timezone

from patron.activities.models import Interaction, Task


def test_it_refuses_an_interaction_in_the_future_or_in_year_one(api, owner, customer):
    for occurred_at in ("2999-01-01T10:00:00", "0001-01-01T00:00:00"):
        response = api(owner).post("/api/interactions/", {"kind": "call", "customer": str(customer.pk),
                                                          "occurred_at": occurred_at}, format="json")
        assert response.status_code == 400 and "occurred_at" in response.json()
    assert not Interaction.objects.exists()


def test_it_refuses_bad_task_times(api, owner):
    client = api(owner)
    due = timezone.now() + dt.timedelta(days=1)
    late_reminder = (due + dt.timedelta(hours=1)).isoformat()
    for body, field in (({"due_at": "0001-01-01T00:00:00"}, "due_at"),
                        ({"due_at": due.isoformat(), "remind_at": late_reminder}, "remind_at")):
        response = client.post("/api/tasks/", {"title": "QA", **body}, format="json")
        assert response.status_code == 400 and field in response.json()
    assert not Task.objects.exists()


def test_it_refuses_to_reschedule_a_task_to_year_one(api, owner):
    from patron.activities import services

    task = services.task_create(user=owner, title="Call", due_at=timezone.now() + dt.timedelta(days=1))
    response = api(owner).post(f"/api/tasks/{task.pk}/reschedule/", {"due_at": "0001-01-01T00:00:00"}, format="json")
    assert response.status_code == 400 and "due_at" in response.json()
    task.refresh_from_db()
    assert task.due_at > timezone.now()
