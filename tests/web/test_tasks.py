"""The task pages: mine and my team's by due date, complete and reschedule in place, reminders."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from patron.activities import services
from patron.activities.models import Task


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def tasks(owner, now):
    make = lambda title, delta, **kw: services.task_create(  # noqa: E731
        user=owner, title=title, due_at=now + delta, **kw
    )
    return {
        "overdue": make("Call back Mr Li", dt.timedelta(days=-2)),
        "upcoming": make("Send the catalogue", dt.timedelta(days=3)),
        "reminded": make(
            "Prepare the quote", dt.timedelta(days=5), remind_at=now - dt.timedelta(minutes=5)
        ),
        "later": make("Visit the fair", dt.timedelta(days=6), remind_at=now + dt.timedelta(days=1)),
    }


def _html(response) -> str:
    return response.content.decode()


def test_it_sorts_my_tasks_into_overdue_and_upcoming(client, owner, tasks):
    client.force_login(owner)
    buckets = client.get(reverse("activities:task-list")).context["buckets"]
    assert buckets.overdue == [tasks["overdue"]]
    assert buckets.upcoming == [tasks["upcoming"], tasks["reminded"], tasks["later"]]


def test_it_puts_a_task_due_later_today_under_today(client, owner, now):
    start_of_tomorrow = now.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(
        hour=0, minute=0, second=0, microsecond=0
    ) + dt.timedelta(days=1)
    if start_of_tomorrow - now < dt.timedelta(minutes=2):
        pytest.skip("too close to midnight in Shanghai to have 'later today'")
    task = services.task_create(
        user=owner, title="Today", due_at=now + (start_of_tomorrow - now) / 2
    )
    client.force_login(owner)
    assert client.get(reverse("activities:task-list")).context["buckets"].today == [task]


@pytest.mark.parametrize(
    ("persona", "sees"), [("owner", True), ("teammate", False), ("other_team", False)]
)
def test_it_shows_my_tasks_only_to_me(client, request, tasks, persona, sees):
    client.force_login(request.getfixturevalue(persona))
    html = _html(client.get(reverse("activities:task-list")))
    assert ("Call back Mr Li" in html) is sees


@pytest.mark.parametrize(
    ("persona", "status", "sees"),
    [("manager", 200, True), ("viewer", 200, True), ("owner", 403, False)],
)
def test_it_shows_the_team_view_to_managers_only(client, request, tasks, persona, status, sees):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("activities:task-list"), {"whose": "team"})
    assert response.status_code == status
    assert ("Call back Mr Li" in _html(response)) is sees


def test_it_serves_the_buckets_fragment_to_htmx(client, manager, tasks):
    client.force_login(manager)
    response = client.get(
        reverse("activities:task-list"), {"whose": "team"}, headers={"HX-Request": "true"}
    )
    html = _html(response)
    assert 'id="buckets"' in html and "<html" not in html and "Owner" in html


def test_it_rejects_an_unknown_view(client, owner):
    client.force_login(owner)
    assert client.get(reverse("activities:task-list"), {"whose": "everyone"}).status_code == 400


def test_it_completes_a_task_in_place(client, owner, tasks):
    client.force_login(owner)
    task = tasks["overdue"]
    response = client.post(
        reverse("activities:task-complete", args=[task.pk]), headers={"HX-Request": "true"}
    )
    html = _html(response)
    task.refresh_from_db()
    assert response.status_code == 200 and task.status == Task.Status.DONE
    assert html.strip().startswith(f'<tr id="task-{task.pk}"') and "task-done" in html


def test_it_completes_without_javascript_and_redirects(client, owner, tasks):
    client.force_login(owner)
    response = client.post(reverse("activities:task-complete", args=[tasks["upcoming"].pk]))
    assert response.status_code == 302 and response["Location"] == reverse("activities:task-list")


def test_it_refuses_completing_twice(client, owner, tasks):
    client.force_login(owner)
    url = reverse("activities:task-complete", args=[tasks["overdue"].pk])
    client.post(url)
    response = client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 400 and "not open" in _html(response)


@pytest.mark.parametrize(
    ("persona", "status"), [("teammate", 404), ("viewer", 403), ("manager", 200)]
)
def test_it_lets_only_those_who_may_change_complete(client, request, tasks, persona, status):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(
        reverse("activities:task-complete", args=[tasks["overdue"].pk]),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == status


def test_it_reschedules_in_place(client, owner, tasks):
    client.force_login(owner)
    task = tasks["overdue"]
    response = client.post(
        reverse("activities:task-reschedule", args=[task.pk]),
        {"due_at": "2030-01-15T09:30", "expected_version": task.version},
        headers={"HX-Request": "true"},
    )
    task.refresh_from_db()
    assert response.status_code == 200 and f'id="task-{task.pk}"' in _html(response)
    # Read in the active time zone (UTC or the organisation's), so allow for the offset.
    assert abs(task.due_at - dt.datetime(2030, 1, 15, 9, 30, tzinfo=dt.UTC)) <= dt.timedelta(
        hours=14
    )


def test_it_rejects_a_bad_date_and_a_stale_version(client, owner, tasks):
    client.force_login(owner)
    url = reverse("activities:task-reschedule", args=[tasks["overdue"].pk])
    assert (
        client.post(url, {"due_at": "tomorrowish"}, headers={"HX-Request": "true"}).status_code
        == 400
    )
    response = client.post(
        url, {"due_at": "2030-01-15T09:30", "expected_version": 99}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 409


def test_it_refuses_wrong_methods(client, owner, tasks):
    client.force_login(owner)
    assert (
        client.get(reverse("activities:task-complete", args=[tasks["overdue"].pk])).status_code
        == 405
    )
    assert (
        client.get(reverse("activities:task-reschedule", args=[tasks["overdue"].pk])).status_code
        == 405
    )
    assert client.post(reverse("activities:task-reminders")).status_code == 405
    assert client.post(reverse("activities:task-list")).status_code == 405


def test_it_lists_the_reminders_that_are_due(client, owner, tasks):
    client.force_login(owner)
    response = client.get(reverse("activities:task-reminders"), headers={"HX-Request": "true"})
    html = _html(response)
    assert response.status_code == 200 and 'hx-trigger="every 60s"' in html
    assert "Prepare the quote" in html and "Visit the fair" not in html and "Call back" not in html


def test_it_shows_no_one_else_my_reminders(client, manager, tasks):
    client.force_login(manager)
    assert "Prepare the quote" not in _html(client.get(reverse("activities:task-reminders")))


def test_it_drops_a_reminder_once_the_task_is_done(client, owner, tasks):
    services.task_complete(task=tasks["reminded"], user=owner)
    client.force_login(owner)
    assert "Prepare the quote" not in _html(client.get(reverse("activities:task-reminders")))


def test_it_creates_a_task(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("activities:task-create"), {"title": "Follow up", "due_at": "2030-02-01T10:00"}
    )
    assert response.status_code == 302 and Task.objects.get(title="Follow up").owner == owner
    response = client.post(reverse("activities:task-create"), {"title": "", "due_at": "x"})
    assert response.status_code == 400


def test_it_stops_the_reminder_poll_once_signed_out(client, db):
    response = client.get(reverse("activities:task-reminders"), headers={"HX-Request": "true"})
    assert response.status_code == 286 and response.content == b""


def test_a_task_shows_why_it_was_made_and_links_its_customer(client, owner, customer, now):
    services.task_create(user=owner, title="Churn risk 82%: 王芳", customer=customer, due_at=now,
                         notes="Why: no purchase for 80 days. Value at stake (12-month CLV): 6500.")
    client.force_login(owner)
    html = _html(client.get(reverse("activities:task-list")))
    assert "Why: no purchase for 80 days" in html
    assert reverse("customers:customer-detail", args=[customer.pk]) in html
