import pytest

from patron.audit.models import AuditEntry
from patron.customers.models import Contact


@pytest.mark.parametrize(("persona", "status"), {"owner": 200, "manager": 200, "viewer": 403, "teammate": 404,
                                                 "other_team": 404}.items())
def test_it_shows_the_contact_form_only_to_editors(request, client, customer, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(f"/customers/{customer.pk}/contacts/new/").status_code == status


def test_it_adds_a_contact_with_a_standardised_phone_and_audits_it(client, customer, owner):
    client.force_login(owner)
    page = client.get(f"/customers/{customer.pk}/")
    assert f"/customers/{customer.pk}/contacts/new/".encode() in page.content
    response = client.post(f"/customers/{customer.pk}/contacts/new/",
                           {"name": "Li Wei", "title": "Buyer", "phone": "139 0000 3333", "is_primary": "on"})
    assert response.status_code == 302
    contact = Contact.objects.get(customer=customer)
    assert contact.phone == "+8613900003333" and contact.is_primary
    assert AuditEntry.objects.filter(action="contact.created", object_id=str(contact.pk)).exists()


def test_it_names_the_bad_field(client, customer, owner):
    client.force_login(owner)
    response = client.post(f"/customers/{customer.pk}/contacts/new/", {"name": "Li Wei", "phone": "12"})
    assert response.status_code == 400
    assert "phone" in response.context["form"].errors
    assert not Contact.objects.filter(customer=customer).exists()


def test_it_refuses_get_only_methods(client, customer, owner):
    client.force_login(owner)
    assert client.delete(f"/customers/{customer.pk}/contacts/new/").status_code == 405
