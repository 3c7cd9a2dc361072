from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from patron.common.models import TenantModel, organization_key


class AuditEntry(TenantModel):
    """Who did what to which record, when, and what changed. Written by services only."""

    # Both indexes below begin with the organisation, which every query names: one of its own
    # would only cost each entry (an import writes one a row) another index entry.
    organization = organization_key(db_index=False)

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("by"),
    )
    action = models.CharField(_("action"), max_length=60)  # "customer.updated"
    object_type = models.CharField(max_length=60)  # "customers.customer"
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    # {"field": [old, new]}; sensitive values are masked when shown (common.masking).
    changes = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(
                fields=["organization", "object_type", "object_id", "-created_at"],
                name="audit_object_idx",
            ),
            models.Index(fields=["organization", "-created_at"], name="audit_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr}"
