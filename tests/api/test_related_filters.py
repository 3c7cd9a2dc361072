"""Filters by a related record (`?customer=<uuid>`): answered for whoever may list, never a 500,
and never telling a caller whether a record it may not see exists."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from patron.common import tenancy

# (list, filter): every filter by a related record of the API's lists.
FILTERS = [
    ("orders", "customer"), ("tasks", "customer"), ("tasks", "lead"), ("tasks", "opportunity"),
    ("opportunities", "customer"), ("opportunities", "pipeline"), ("opportunities", "stage"),
    ("interactions", "customer"), ("interactions", "lead"), ("interactions", "opportunity"),
    ("contacts", "customer"),
]


def _world(user, product):
    """One record of each kind for `user`, in its organisation: {list: listed record, filter: value}."""
    from patron.activities import services as activities
    from patron.customers import services as customers
    from patron.orders import services as orders
    from patron.sales import services as sales

    with tenancy.scope(user.organization_id):
        customer = customers.customer_create(user=user, data={"name": f"Client of {user}", "phone": "13900003333"})
        contact = customers.contact_create(user=user, customer=customer, data={"name": "Li Wei"})
        lead = sales.lead_create(user=user, data={"name": "Zhao Lei", "phone": "13900001111"})
        opportunity = sales.opportunity_create(user=user, customer=customer, data={"name": "Tea", "amount": "50"})
        order = orders.order_create(user=user, customer=customer, ordered_at=timezone.now() - dt.timedelta(days=1),
                                    lines=[{"product": product}])
        due = timezone.now() + dt.timedelta(days=1)
        task = activities.task_create(user=user, title="Call", due_at=due, customer=customer, lead=lead,
                                      opportunity=opportunity)
        interaction = activities.interaction_log(user=user, kind="call", customer=customer, lead=lead,
                                                 opportunity=opportunity)
    values = {"customer": customer.pk, "lead": lead.pk, "opportunity": opportunity.pk,
              "pipeline": opportunity.pipeline_id, "stage": opportunity.stage_id}
    listed = {"orders": order, "tasks": task, "opportunities": opportunity, "interactions": interaction,
              "contacts": contact}
    return listed, values


@pytest.fixture
def other_product(other_org):
    from patron.catalog.models import Product

    with tenancy.scope(other_org):
        return Product.objects.create(organization=other_org, sku="TEA-9", name="Pu'er", price="60.00")


@pytest.mark.parametrize(("resource", "name"), FILTERS)
def test_it_filters_by_a_related_record_in_each_organisation(api, owner, outsider, product, other_product,
                                                             resource, name):
    # Two organisations in one test: a filter built once, in whichever scope was current when
    # its module was imported, cannot answer both.
    for user, prod in ((owner, product), (outsider, other_product)):
        listed, values = _world(user, prod)
        response = api(user).get(f"/api/{resource}/", {name: str(values[name])})
        assert response.status_code == 200, response.content
        assert [row["id"] for row in response.json()["results"]] == [str(listed[resource].pk)]


@pytest.mark.parametrize(("resource", "name"), FILTERS)
def test_it_answers_a_hidden_record_as_a_missing_one(api, owner, other_team, product, resource, name):
    _listed, values = _world(other_team, product)
    client = api(owner)
    hidden = client.get(f"/api/{resource}/", {name: str(values[name])})
    missing = client.get(f"/api/{resource}/", {name: str(uuid.uuid4())})
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())
    assert hidden.status_code == 200 and hidden.json()["results"] == []


@pytest.mark.parametrize(("resource", "name"), FILTERS)
def test_it_refuses_a_value_that_is_not_a_key(api, owner, resource, name):
    response = api(owner).get(f"/api/{resource}/", {name: "not-a-uuid"})
    assert response.status_code == 400
    assert name in response.json()
