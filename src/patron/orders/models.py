from django.db import models
from django.utils.translation import gettext_lazy as _

from patron.common.models import OwnedModel, TenantModel
from patron.common.tenancy import OwnedManager


class Order(OwnedModel):
    """A purchase: what the value science reads (customer, time, amount, channel).

    Visible to whoever sees the customer; `owner` is the rep credited with the sale.
    """

    class Status(models.TextChoices):
        PLACED = "placed", _("Placed")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    class SalesChannel(models.TextChoices):
        DIRECT = "direct", _("Direct sales")
        ONLINE = "online", _("Online shop")
        STORE = "store", _("Store")
        PHONE = "phone", _("Phone")
        PARTNER = "partner", _("Partner")

    permission_resource = "orders"
    visibility_paths = ("customer",)

    number = models.CharField(_("number"), max_length=24, editable=False)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="orders",
        verbose_name=_("customer"),
    )
    ordered_at = models.DateTimeField(_("ordered"))
    channel = models.CharField(
        _("channel"), max_length=10, choices=SalesChannel.choices, default=SalesChannel.DIRECT
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PAID)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    opportunity = models.ForeignKey(
        "sales.Opportunity", on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    # The key of the source system's order, for idempotent imports.
    external_ref = models.CharField(_("external reference"), max_length=80, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="order_org_number_uniq")
        ]
        indexes = [
            models.Index(
                fields=["organization", "customer", "-ordered_at"], name="order_customer_idx"
            ),
            models.Index(fields=["organization", "-ordered_at"], name="order_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(TenantModel):
    permission_resource = "orders"
    visibility_paths = ("order__customer",)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    # Copies of the order's customer and time, kept equal to the order's by every write that
    # sets them (`orders.services.order_lines_follow`): the value refresh reads a year of
    # basket lines as one scan instead of joining millions of lines to their orders (a million
    # customers, 11M lines on PostgreSQL: 4-6 s and 7-9 s of CPU against 11-12 s and 15 s). No
    # index or constraint of their own: the order's already hold.
    customer = models.ForeignKey("customers.Customer", on_delete=models.DO_NOTHING, related_name="+",
                                 db_constraint=False, db_index=False, null=True, editable=False)
    ordered_at = models.DateTimeField(null=True, editable=False)

    objects = OwnedManager()

    class Meta(TenantModel.Meta):
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        indexes = [models.Index(fields=["organization", "order"], name="orderline_order_idx")]
