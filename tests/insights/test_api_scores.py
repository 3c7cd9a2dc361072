"""The customers API filters and sorts by the current score and shows it read-only."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from patron.customers import services as customers
from patron.insights.models import CustomerScore
from tests.support import current_run


@pytest.fixture
def api():
    def as_user(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return as_user


@pytest.fixture
def three(owner):
    """Three of the owner's customers: two scored (one at risk), one not scored."""
    made = [customers.customer_create(user=owner, data={"name": n}) for n in ("A", "B", "C")]
    for c, seg, clv, risk in [(made[0], "champions", 9000.0, 0.1), (made[1], "at_risk", 3000.0, 0.9)]:
        CustomerScore.objects.create(
            organization_id=c.organization_id,
            run=current_run(c.organization_id),
            customer=c,
            as_of=dt.date(2026, 2, 1),
            rfm_segment=seg,
            class8="important_value",
            lifecycle="loyal",
            value_tier="high",
            clv=clv,
            churn_risk=risk,
        )
    return made


def _names(response):
    assert response.status_code == 200, response.content
    return [r["name"] for r in response.json()["results"]]


def test_it_filters_by_segment_value_and_risk(api, owner, three):
    client = api(owner)
    assert _names(client.get("/api/customers/", {"segment": "at_risk"})) == ["B"]
    assert _names(client.get("/api/customers/", {"clv_min": "5000"})) == ["A"]
    assert sorted(_names(client.get("/api/customers/", {"clv_max": "9000", "class8": "important_value"}))) == ["A", "B"]
    assert _names(client.get("/api/customers/", {"churn_risk_min": "0.5", "lifecycle": "loyal"})) == ["B"]
    assert client.get("/api/customers/", {"segment": "best"}).status_code == 400


def test_a_class_is_paged_newest_first_and_with_a_second_class_or_a_value_sort(api, owner, three):
    from patron.customers.models import Customer

    for day, customer in enumerate(three, start=1):
        Customer.objects.filter(pk=customer.pk).update(created_at=dt.datetime(2026, 1, day, tzinfo=dt.UTC))
    CustomerScore.objects.filter(customer__in=three).update(customer_created_at=None)
    for score in CustomerScore.objects.filter(customer__in=three):
        score.save()  # takes its customer's new creation time
    client = api(owner)
    page = client.get("/api/customers/", {"class8": "important_value", "page_size": 1}).json()
    assert [r["name"] for r in page["results"]] == ["B"]
    assert [r["name"] for r in client.get(page["next"]).json()["results"]] == ["A"]
    assert _names(client.get("/api/customers/", {"class8": "important_value", "segment": "champions"})) == ["A"]
    assert _names(client.get("/api/customers/", {"class8": "important_value", "ordering": "churn_risk"})) == ["A", "B"]


def test_it_sorts_by_clv_and_risk_with_unscored_customers_last(api, owner, three):
    client = api(owner)
    assert _names(client.get("/api/customers/", {"ordering": "-clv"})) == ["A", "B", "C"]
    assert _names(client.get("/api/customers/", {"ordering": "-churn_risk"})) == ["B", "A", "C"]
    page = client.get("/api/customers/", {"ordering": "-clv", "page_size": 1}).json()
    assert [r["name"] for r in client.get(page["next"]).json()["results"]] == ["B"]


def test_it_shows_the_current_score_read_only(api, owner, teammate, three):
    body = api(owner).get(f"/api/customers/{three[1].pk}/").json()
    assert body["scores"]["rfm_segment"] == "at_risk" and body["scores"]["clv"] == 3000.0
    assert api(owner).get(f"/api/customers/{three[2].pk}/").json()["scores"] is None
    listed = {r["name"]: r["scores"] for r in api(owner).get("/api/customers/").json()["results"]}
    assert listed["A"]["churn_risk"] == 0.1 and listed["C"] is None
    assert api(teammate).get(f"/api/customers/{three[1].pk}/").status_code == 404


@pytest.mark.parametrize(("ordering", "expected"), [
    ("clv", ["B", "A", "C"]), ("churn_risk", ["A", "B", "C"]), ("-p_alive", ["A", "B", "C"]),
    ("p_alive", ["B", "A", "C"]), ("-total_spend", ["B", "A", "C"]), ("total_spend", ["A", "B", "C"]),
    ("-n_purchases", ["A", "B", "C"]), ("n_purchases", ["B", "A", "C"]),
])
def test_it_sorts_by_every_score_either_way_with_unscored_customers_last(api, owner, three, ordering, expected):
    CustomerScore.objects.filter(customer=three[0]).update(p_alive=0.8, total_spend=100.0, n_purchases=9)
    CustomerScore.objects.filter(customer=three[1]).update(p_alive=0.3, total_spend=700.0, n_purchases=2)
    client = api(owner)
    assert _names(client.get("/api/customers/", {"ordering": ordering})) == expected
    first = client.get("/api/customers/", {"ordering": ordering, "page_size": 2}).json()
    assert [r["name"] for r in client.get(first["next"]).json()["results"]] == expected[2:]


@pytest.mark.parametrize("ordering", ["-clv", "clv", "-churn_risk"])
def test_a_score_sort_pages_forward_and_back_across_the_unscored(api, owner, three, ordering):
    """The scored customers and the unscored are read apart: the pages go from one to the
    other and back without a gap or a repeat."""
    client = api(owner)
    expected = _names(client.get("/api/customers/", {"ordering": ordering}))
    forward, pages = [], [client.get("/api/customers/", {"ordering": ordering, "page_size": 1}).json()]
    while True:
        forward += [r["name"] for r in pages[-1]["results"]]
        if not pages[-1]["next"]:
            break
        pages.append(client.get(pages[-1]["next"]).json())
    assert forward == expected and len(forward) == 3
    backward, page = [r["name"] for r in pages[-1]["results"]], pages[-1]
    while page["previous"]:
        page = client.get(page["previous"]).json()
        backward = [r["name"] for r in page["results"]] + backward
    assert backward == expected


@pytest.mark.parametrize("field", ["phone", "-birthday", "id_number", "name", "created_at"])
def test_it_will_not_sort_by_a_customers_own_field(api, owner, three, field):
    """A sort by a masked field would tell its order (who was born first) without showing it."""
    response = api(owner).get("/api/customers/", {"ordering": field})
    assert response.status_code == 400 and "ordering" in response.json()
