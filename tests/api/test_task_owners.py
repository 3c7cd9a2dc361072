"""Whom a task may be given to: within the reach of the giver's right to add tasks (a security
probe: a rep gave tasks to another team's rep, which the rep could not see afterwards)."""

import datetime as dt

import pytest
from django.utils import timezone

from patron.activities.models import Task


def _task(api, user, owner):
    due = (timezone.now() + dt.timedelta(days=2)).isoformat()
    return api(user).post("/api/tasks/", {"title": "回访", "due_at": due, "owner": str(owner.pk)}, format="json")


@pytest.mark.parametrize(("giver", "taker", "allowed"), [
    ("owner", "owner", True),
    ("owner", "teammate", False),  # a rep's reach is their own records
    ("owner", "other_team", False),
    ("manager", "owner", True),  # a manager's is their teams'
    ("admin", "other_team", True),
])
def test_a_task_goes_only_to_whom_its_giver_may_give_it(api, org, request, giver, taker, allowed):
    giver, taker = request.getfixturevalue(giver), request.getfixturevalue(taker)
    response = _task(api, giver, taker)
    if allowed:
        assert response.status_code == 201, response.content
        assert Task.objects.get().owner == taker
    else:
        assert response.status_code == 400 and list(response.json()) == ["owner"], response.content
        assert not Task.objects.exists()
