"""What the schema promises is what the API answers: OPTIONS describes every endpoint (it was a
500 where a view had no serializer), and a masked date that is unknown is documented as null."""

import pytest
from drf_spectacular.generators import SchemaGenerator

LISTS = ["/api/customers/", "/api/contacts/", "/api/leads/", "/api/opportunities/", "/api/pipelines/",
         "/api/products/", "/api/orders/", "/api/interactions/", "/api/tasks/", "/api/audit/", "/api/imports/",
         "/api/imports/export/customers/"]


@pytest.mark.parametrize("path", LISTS)
def test_options_answers_on_every_list(api, manager, path):
    assert api(manager).options(path).status_code == 200


def test_a_customer_without_a_birthday_matches_its_schema(api, owner):
    from patron.customers import services

    customer = services.customer_create(user=owner, data={"name": "No Birthday"})
    body = api(owner).get(f"/api/customers/{customer.pk}/").json()
    assert body["birthday"] is None
    revealed = api(owner).post(f"/api/customers/{customer.pk}/reveal/", {"field": "birthday"}, format="json").json()
    assert revealed["value"] is None
    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    assert components["CustomerOut"]["properties"]["birthday"].get("nullable") is True
    # A customer nobody owns (imported so, or its owner's team deleted) has no team either.
    assert components["CustomerOut"]["properties"]["owner_team"].get("nullable") is True
    assert components["RevealOut"]["properties"]["value"].get("nullable") is True
