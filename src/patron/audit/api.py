"""The audit trail over the REST API: entries about records the caller may see."""

from typing import Any

from rest_framework import mixins, serializers

from patron.accounts.capabilities import Scope
from patron.api.base import ScopedViewSet, UserRefField
from patron.audit.models import AuditEntry
from patron.common import masking


class AuditEntryOut(serializers.ModelSerializer):
    actor = UserRefField()
    changes = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = ["id", "action", "object_type", "object_id", "object_repr", "changes", "data", "actor", "created_at"]

    def get_changes(self, entry: AuditEntry) -> dict:
        from django.apps import apps

        try:
            model = apps.get_model(entry.object_type)
        except (LookupError, ValueError):
            model = None
        return {f: [masking.mask_change(model, f, old), masking.mask_change(model, f, new)]
                for f, (old, new) in entry.changes.items()}


class AuditEntryViewSet(mixins.ListModelMixin, ScopedViewSet):
    """Organisation-wide audit entries for holders of audit.view at organisation scope."""

    model = AuditEntry
    serializer_class = AuditEntryOut
    filterset_fields = ["action", "object_type", "object_id"]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        if self.request.user.scope_for("audit.view") < Scope.ORGANIZATION:
            return AuditEntry.objects.none()
        return AuditEntry.objects.select_related("actor")
