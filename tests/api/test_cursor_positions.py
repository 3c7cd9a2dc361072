"""A cursor is text the client sends back: one whose position is not a value of the column the
page is keyed on is answered as a malformed cursor (404 "Invalid cursor"), never a 500."""

import base64
from urllib.parse import quote

import pytest

from patron.customers import services


def _cursor(position, **extra):
    params = "&".join([f"p={quote(position)}", *(f"{k}={v}" for k, v in extra.items())])
    return quote(base64.b64encode(params.encode()).decode())


@pytest.mark.parametrize("ordering", ["", "clv", "-churn_risk"])
@pytest.mark.parametrize("position", ["abc", "9999-99-99", "\x00", "0001-01-01 00:00:00+14:00", "1e999x"])
def test_a_cursor_with_a_position_of_the_wrong_kind_is_invalid(api, manager, customer, ordering, position):
    response = api(manager).get(f"/api/customers/?cursor={_cursor(position)}&ordering={ordering}")
    assert response.status_code == 404 and response.json() == {"detail": "Invalid cursor"}


def test_the_cursors_the_api_gives_still_page(api, manager, owner, customer):
    services.customer_create(user=owner, data={"name": "Li Na"})
    client = api(manager)
    for ordering in ("", "clv", "-churn_risk"):
        first = client.get(f"/api/customers/?page_size=1&ordering={ordering}").json()
        second = client.get(first["next"])
        assert second.status_code == 200, second.content
        assert len(second.json()["results"]) == 1
        assert second.json()["results"][0]["id"] != first["results"][0]["id"]
    # A cursor keyed on a score past any: what follows every score (the unscored), not an error.
    past = base64.urlsafe_b64encode(f'{{"v":1e300,"id":"{customer.pk}"}}'.encode()).decode().rstrip("=")
    response = client.get(f"/api/customers/?cursor=a.{past}&ordering=clv")
    assert response.status_code == 200
    assert {r["name"] for r in response.json()["results"]} == {customer.name, "Li Na"}  # neither is scored


@pytest.mark.parametrize("cursor", ["a.", "b", "x.eyJ2IjoxLCJpZCI6IjEifQ", "a.eyJ2IjoxLCJpZCI6IjEifQ",
                                    "a.eyJ2IjoiMSIsImlkIjoiMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwIn0"])
def test_a_score_sorts_cursor_that_it_did_not_give_is_invalid(api, manager, customer, cursor):
    """A score sort pages with the list page's keyset ("a." or "b." and its token): anything
    else, a value that is no number or an id that is no UUID, is a malformed cursor."""
    response = api(manager).get(f"/api/customers/?cursor={cursor}&ordering=-clv")
    assert response.status_code == 404 and response.json() == {"detail": "Invalid cursor"}


def test_a_position_out_of_an_integer_columns_range_is_invalid(api, owner):
    from django.core.files.base import ContentFile

    from patron.imports import services as imports

    job = imports.import_create(user=owner, file=ContentFile(b"Name\nAlice\n", name="a.csv"), name="a.csv",
                                kind="customers")
    client = api(owner)
    for position in ("abc", str(10**30)):
        response = client.get(f"/api/imports/{job.pk}/rejected/?cursor={_cursor(position)}")
        assert response.status_code == 404, response.content
    assert client.get(f"/api/imports/{job.pk}/rejected/?cursor={_cursor('3')}").status_code == 200
