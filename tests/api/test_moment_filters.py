"""Date filters of the API answer a moment that cannot be stored with a 400 naming the filter."""

import pytest


@pytest.mark.parametrize("url", [
    "/api/orders/?ordered_after=0001-01-01T00:00:00",
    "/api/tasks/?due_before=0001-01-01T00:00:00",
    "/api/customers/?last_ordered_after=0001-01-01T00:00:00",
    "/api/customers/?last_ordered_before=0001-01-01T00:00:00%2B14:00",
])
def test_a_moment_before_the_calendar_in_utc_is_a_400_on_its_filter(client, owner, url):
    client.force_login(owner)
    response = client.get(url)
    name = url.split("?")[1].split("=")[0]
    assert response.status_code == 400 and name in response.json()


def test_a_far_but_storable_moment_filters_as_usual(client, owner, customer):
    client.force_login(owner)
    response = client.get("/api/customers/?last_ordered_before=9999-12-31T23:59:59")
    assert response.status_code == 200
