"""An order the money columns cannot hold, or dated when no purchase happened, is a 400 naming
the field, and nothing of it is saved (on SQLite, which stores any number, and PostgreSQL)."""

import pytest

from patron.orders.models import Order, OrderLine


def _post(client, customer, product, ordered_at="2026-01-01T10:00:00", **line):
    return client.post("/api/orders/", {"customer": str(customer.pk), "ordered_at": ordered_at,
                                        "lines": [{"product": str(product.pk), **line}]}, format="json")


def test_it_refuses_a_line_whose_amount_overflows(api, manager, customer, product):
    client = api(manager)
    response = _post(client, customer, product, unit_price="999999999999.99", quantity="9999999999.99")
    assert response.status_code == 400 and "amount" in response.json()["lines"][0]
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    assert client.get("/api/orders/").status_code == 200
    # The bound is the column's: the largest amount it holds is still taken.
    largest = _post(client, customer, product, unit_price="999999999999.99", quantity="1")
    assert largest.status_code == 201 and largest.json()["total"] == "999999999999.99"


def test_it_refuses_an_order_whose_total_overflows(api, manager, customer, product):
    line = {"product": str(product.pk), "unit_price": "600000000000.00"}
    response = api(manager).post("/api/orders/", {"customer": str(customer.pk), "ordered_at": "2026-01-01T10:00:00",
                                                  "lines": [line, line]}, format="json")
    assert response.status_code == 400 and "total" in response.json()
    assert not Order.objects.exists()


@pytest.mark.parametrize("ordered_at", ["0001-01-01T00:00:00", "1899-12-31T23:00:00", "9999-12-31T00:00:00"])
def test_it_refuses_an_order_dated_when_no_purchase_happened(api, manager, customer, product, ordered_at):
    response = _post(api(manager), customer, product, ordered_at=ordered_at)
    assert response.status_code == 400 and "ordered_at" in response.json()
    assert not Order.objects.exists()
    customer.refresh_from_db()
    assert customer.last_ordered_at is None

