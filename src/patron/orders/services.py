"""Recording purchases: the history the value science reads."""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from patron.accounts import permissions
from patron.audit import services as audit
from patron.catalog.models import Product
from patron.common import bounds
from patron.customers.models import Customer
from patron.orders.models import Order, OrderLine
from patron.organizations.models import Counter


@transaction.atomic
def order_create(
    *, user: Any, customer: Customer, ordered_at: dt.datetime, lines: list[dict[str, Any]],
    channel: str = Order.SalesChannel.DIRECT, status: str = Order.Status.PAID, external_ref: str = "",
) -> Order:
    """Record an order with its lines; the total is the sum of the lines."""
    if not permissions.can_create(user, "orders") or not permissions.can(user, "view", customer):
        raise permissions.PermissionDenied("orders.add")
    if not lines:
        raise ValidationError({"lines": _("An order needs at least one line.")})
    order_time_check(ordered_at)
    built = []
    for i, line in enumerate(lines, start=1):
        product = line["product"]
        if not isinstance(product, Product):
            raise ValidationError({"lines": _("Line %(n)s: unknown product.") % {"n": i}})
        quantity = Decimal(str(line.get("quantity", 1)))
        unit_price = Decimal(str(line.get("unit_price", product.price)))
        if quantity <= 0 or unit_price < 0:
            raise ValidationError({"lines": _("Line %(n)s: quantity must be positive and price not negative.") % {"n": i}})
        amount = (quantity * unit_price).quantize(Decimal("0.01"))
        order_line_check(n=i, quantity=quantity, unit_price=unit_price, amount=amount)
        built.append(OrderLine(organization_id=user.organization_id, product=product, quantity=quantity,
                               unit_price=unit_price, amount=amount))
    total = sum((line.amount for line in built), Decimal(0))
    order_total_check(total)
    order = Order.objects.create(
        organization_id=user.organization_id, owner=user, owner_team_id=user.team_id,
        number=f"S{Counter.take(user.organization_id, 'order'):08d}", customer=customer,
        ordered_at=ordered_at, channel=channel, status=status, external_ref=external_ref,
        total=total, currency=user.organization.currency,
    )
    for line in built:
        line.order, line.customer, line.ordered_at = order, customer, ordered_at
    OrderLine.objects.bulk_create(built)
    Customer.objects.filter(pk=customer.pk).filter(
        Q(last_ordered_at__isnull=True) | Q(last_ordered_at__lt=ordered_at)
    ).update(last_ordered_at=ordered_at)
    audit.record("order.created", obj=order, user=user, data={"customer": customer.pk, "total": order.total})
    # A new order is a trigger: rescore this customer without waiting for the full refresh.
    from patron.insights import tasks

    tasks.rescore_on_commit(customer)
    return order


def order_line_check(*, n: int, quantity: Decimal, unit_price: Decimal, amount: Decimal) -> None:
    """Refuse a line whose numbers its columns cannot hold (each may fit its input field while
    their product does not)."""
    for name, value in (("quantity", quantity), ("unit_price", unit_price), ("amount", amount)):
        if abs(value) >= bounds.decimal_limit(OrderLine, name):
            field = OrderLine._meta.get_field(name).verbose_name
            raise ValidationError({"lines": _("Line %(n)s: the %(field)s %(value)s is larger than an order can hold.")
                                   % {"n": n, "field": field, "value": value}})


def order_total_check(total: Decimal) -> None:
    """Refuse a total the order's column cannot hold: stored anyway by SQLite (which keeps any
    number), it broke every page and refresh that read it; PostgreSQL refused it with a 500."""
    if abs(total) >= bounds.decimal_limit(Order, "total"):
        raise ValidationError({"total": _("The order total %(total)s is larger than an order can hold.")
                               % {"total": total}})


def order_time_check(ordered_at: dt.datetime, *, now: dt.datetime | None = None) -> None:
    """An order is a purchase that happened: not before 1900, not in the future."""
    bounds.check_happened(ordered_at, field="ordered_at", now=now, too_early=_("An order cannot be dated before 1900."),
                          too_late=_("An order cannot be in the future."))


def order_lines_follow(*, order_ids: Iterable[Any]) -> int:
    """Give the lines of these orders their order's customer and time again (the copies the
    value refresh reads, see `OrderLine.customer`), after a write that changed either: a merge
    or its undo, an import updating orders. Returns the number of lines."""
    order = Order.objects.filter(pk=OuterRef("order_id"))
    ids, done = list(order_ids), 0
    for start in range(0, len(ids), 10_000):  # within any database's limit of parameters
        done += OrderLine.objects.filter(order_id__in=ids[start:start + 10_000]).update(
            customer_id=Subquery(order.values("customer_id")[:1]), ordered_at=Subquery(order.values("ordered_at")[:1]))
    return done
