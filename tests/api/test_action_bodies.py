"""The bodies of the API's actions (reveal, transfer, disqualify) are read by input serializers:
a body that is not an object, or a value of the wrong type, is a 400 naming the field, never a
500, and nothing is written."""

import pytest

from patron.audit.models import AuditEntry
from patron.sales import services as sales
from patron.sales.models import Lead

NOT_OBJECTS = [[], ["phone"], "phone", 123, True, None]


@pytest.mark.parametrize("body", NOT_OBJECTS)
def test_reveal_refuses_a_body_that_is_not_an_object(api, owner, customer, body):
    response = api(owner).post(f"/api/customers/{customer.pk}/reveal/", body, format="json")
    assert response.status_code == 400, response.content
    assert not AuditEntry.objects.filter(action="customer.sensitive_revealed").exists()


@pytest.mark.parametrize("field", [["phone"], {"phone": 1}, "name", ""])
def test_reveal_names_the_field_it_cannot_reveal(api, owner, customer, field):
    response = api(owner).post(f"/api/customers/{customer.pk}/reveal/", {"field": field}, format="json")
    assert response.status_code == 400 and "field" in response.json()


@pytest.mark.parametrize("body", [*NOT_OBJECTS, {"owner": ["x"]}, {"owner": None}, {"owner": "not-a-uuid"}])
def test_transfer_refuses_a_malformed_body_by_its_field(api, manager, customer, owner, body):
    response = api(manager).post(f"/api/customers/{customer.pk}/transfer/", body, format="json")
    assert response.status_code == 400, response.content
    customer.refresh_from_db()
    assert customer.owner_id == owner.pk


def test_transfer_to_someone_outside_the_organisation_names_the_owner(api, manager, customer, outsider):
    response = api(manager).post(f"/api/customers/{customer.pk}/transfer/", {"owner": str(outsider.pk)},
                                 format="json")
    assert response.status_code == 400 and "owner" in response.json()


@pytest.fixture
def lead(owner):
    return sales.lead_create(user=owner, data={"name": "Zhao Lei"})


@pytest.mark.parametrize("body", [*NOT_OBJECTS, {"reason": {"a": 1}}, {"reason": ["too dear"]}, {"reason": "  "},
                                  {"reason": "x" * 201}])
def test_disqualify_refuses_a_reason_that_is_not_text_by_its_name(api, owner, lead, body):
    response = api(owner).post(f"/api/leads/{lead.pk}/disqualify/", body, format="json")
    assert response.status_code == 400, response.content
    if isinstance(body, dict):
        assert "reason" in response.json()
    lead.refresh_from_db()
    assert lead.status != Lead.Status.DISQUALIFIED and lead.disqualify_reason == ""


def test_disqualify_takes_a_reason(api, owner, lead):
    response = api(owner).post(f"/api/leads/{lead.pk}/disqualify/", {"reason": "Too dear"}, format="json")
    assert response.status_code == 200 and response.json()["disqualify_reason"] == "Too dear"
