from django.db import models
from django.utils.translation import gettext_lazy as _

from patron.common.models import TenantModel


class Product(TenantModel):
    sku = models.CharField(_("SKU"), max_length=60)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True)
    price = models.DecimalField(_("list price"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    is_active = models.BooleanField(_("on sale"), default=True)

    permission_resource = "products"

    class Meta(TenantModel.Meta):
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(fields=["organization", "sku"], name="product_org_sku_uniq")
        ]

    def __str__(self) -> str:
        return self.name
