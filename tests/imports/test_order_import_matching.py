"""An orders import matches a row to an existing order by its reference only when the row
may change that order and names the order's own customer (QA: a rep overwrote another
team's order by giving its reference with his own customer)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from patron.accounts import permissions
from patron.customers import services as customer_services
from patron.imports import services
from patron.imports.kinds import KINDS
from patron.orders.models import Order

HEADER = ["订单号", "手机", "下单时间", "金额"]


@pytest.fixture
def other_customer(other_team):
    return customer_services.customer_create(user=other_team, data={"name": "陈杰客户", "phone": "13800009992"})


@pytest.fixture
def second_customer(owner):
    return customer_services.customer_create(user=owner, data={"name": "李娜另一客户", "phone": "13800009993"})


@pytest.fixture
def import_orders(tmp_path, write_csv, make_job):
    def run(user, rows, name="o.csv"):
        path = write_csv(tmp_path / name, [HEADER, *rows])
        return services.import_run(job=make_job(user, path, kind="orders", key_field="external_ref"))

    return run


@pytest.fixture
def order(owner, customer, import_orders):
    job = import_orders(owner, [["QA-REF-1", "13812341016", "2024年3月5日", "¥1,234.50"]], name="first.csv")
    assert job.rows_created == 1
    return Order.objects.get(external_ref="QA-REF-1")


def test_it_refuses_a_row_naming_an_order_the_user_may_not_change(order, other_team, other_customer, import_orders):
    assert not permissions.can(other_team, "change", order)
    job = import_orders(other_team, [["QA-REF-1", "13800009992", "2020-01-01", "99999"]])
    assert (job.rows_created, job.rows_updated, job.rows_rejected) == (0, 0, 1)
    assert list(job.rejections.values_list("column", "reason")) == [
        ("订单号", "It matches a record you may not change.")
    ]
    order.refresh_from_db()
    assert (order.total, order.customer_id) == (Decimal("1234.50"), order.customer_id)
    assert order.ordered_at == dt.datetime(2024, 3, 5, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_it_refuses_a_reference_given_with_another_customer(owner, order, second_customer, import_orders):
    job = import_orders(owner, [["QA-REF-1", "13800009993", "2020-01-01", "99999"]])
    assert (job.rows_created, job.rows_updated, job.rows_rejected) == (0, 0, 1)
    [(column, reason)] = job.rejections.values_list("column", "reason")
    assert column == "订单号" and "another customer" in reason
    order.refresh_from_db()
    assert (order.total, order.customer.name) == (Decimal("1234.50"), "王芳")


def test_it_refuses_a_reference_a_file_gives_twice_with_two_customers(owner, customer, second_customer, import_orders):
    job = import_orders(owner, [
        ["QA-REF-2", "13812341016", "2024-03-05", "10"],
        ["QA-REF-2", "13800009993", "2024-03-06", "20"],
    ])
    assert (job.rows_created, job.rows_updated, job.rows_rejected) == (1, 0, 1)
    assert list(job.rejections.values_list("row", "column")) == [(3, "订单号")]
    assert Order.objects.values_list("customer_id", "total").get() == (customer.pk, Decimal("10.00"))


def test_it_still_updates_the_users_own_order_from_its_reference(owner, order, import_orders):
    job = import_orders(owner, [["QA-REF-1", "13812341016", "2024-03-09", "99"]])
    assert (job.rows_created, job.rows_updated, job.rows_rejected) == (0, 1, 0)
    order.refresh_from_db()
    assert order.total == 99 and order.version == 2


def test_the_preview_says_what_an_order_update_changes(owner, order, tmp_path, write_csv, make_job):
    path = write_csv(tmp_path / "again.csv", [
        HEADER,
        ["QA-REF-1", "13812341016", "2024年3月5日", "¥1,234.50"],  # as it is
        ["QA-REF-1", "13812341016", "2020-01-01", "99999"],
    ])
    job = make_job(owner, path, kind="orders", key_field="external_ref")
    rows = services.import_prepare(job=job, user=owner).rows
    assert [(r.action, r.changes) for r in rows] == [("update", []), ("update", ["下单时间", "金额"])]


@pytest.mark.parametrize("persona", ["owner", "teammate", "manager", "other_team", "viewer", "admin"])
def test_it_allows_an_order_update_exactly_when_permissions_do(persona, order, request):
    from patron.imports.services import _context

    user = request.getfixturevalue(persona)
    kind = KINDS["orders"]
    job = type("Job", (), {})()
    job.organization_id, job.pk, job.key_field, job.owner_rule, job.day_first = (
        user.organization_id, None, "external_ref", "importer", False
    )
    ctx = _context(job, user)
    kind.load_index(ctx)
    assert kind.may_update(order.pk, ctx) == permissions.can(user, "change", order)
