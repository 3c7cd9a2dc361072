"""Deleting a customer over the API: one that orders or opportunities keep is a conflict (409),
as on the page, and nothing is deleted or audited."""

from patron.audit.models import AuditEntry
from patron.customers.models import Customer


def test_deleting_a_customer_with_orders_or_opportunities_is_a_conflict(api, admin, records):
    customer = records["customers"]
    response = api(admin).delete(f"/api/customers/{customer.pk}/")
    assert response.status_code == 409 and "cannot be deleted" in response.json()["detail"]
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not AuditEntry.objects.filter(action="customer.deleted").exists()


def test_deleting_a_customer_with_nothing_attached_works(api, admin, customer):
    assert api(admin).delete(f"/api/customers/{customer.pk}/").status_code == 204
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert AuditEntry.objects.filter(action="customer.deleted", object_id=str(customer.pk)).exists()
