"""Interactions and tasks over the REST API."""

from typing import Any

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from patron.activities import services
from patron.activities.models import Interaction, Task
from patron.api.base import MomentField, ScopedViewSet, UserRefField, VisibleRelatedField, active_member, valid
from patron.api.filters import MomentFilter, ScopedFilterSet
from patron.customers.models import Customer
from patron.sales.models import Lead, Opportunity


class InteractionOut(serializers.ModelSerializer):
    owner = UserRefField()

    class Meta:
        model = Interaction
        fields = ["id", "kind", "direction", "outcome", "subject", "body", "occurred_at", "customer", "lead",
                  "opportunity", "owner", "created_at"]


class InteractionIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Interaction.Kind.choices)
    direction = serializers.ChoiceField(choices=Interaction.Direction.choices, required=False,
                                        default=Interaction.Direction.OUTBOUND)
    outcome = serializers.ChoiceField(choices=Interaction.Outcome.choices, required=False, default="",
                                      help_text="complaint or lost_contact rescore the customer at once")
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    body = serializers.CharField(required=False, allow_blank=True, default="")
    occurred_at = MomentField(required=False)
    customer = VisibleRelatedField(Customer, required=False, allow_null=True)
    lead = VisibleRelatedField(Lead, required=False, allow_null=True)
    opportunity = VisibleRelatedField(Opportunity, required=False, allow_null=True)

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("customer") and not attrs.get("lead"):
            raise serializers.ValidationError({"customer": [_("Give a customer or a lead.")]})
        return attrs


class InteractionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet):
    model = Interaction
    serializer_class = InteractionOut
    filterset_fields = ["customer", "lead", "kind", "outcome", "opportunity"]

    def get_queryset(self) -> Any:
        return super().get_queryset().select_related("owner")

    @extend_schema(request=InteractionIn, responses={201: InteractionOut})
    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        data = valid(InteractionIn, request, context=self.get_serializer_context())
        interaction = services.interaction_log(user=request.user, **data)
        return Response(InteractionOut(interaction, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)


class TaskOut(serializers.ModelSerializer):
    owner = UserRefField()

    class Meta:
        model = Task
        fields = ["id", "title", "notes", "due_at", "remind_at", "status", "completed_at", "channel",
                  "customer", "lead", "opportunity", "owner", "created_at", "updated_at", "version"]


class TaskIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    due_at = MomentField()
    remind_at = MomentField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    channel = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    owner = serializers.UUIDField(required=False, help_text="assignee; yourself by default")
    customer = VisibleRelatedField(Customer, required=False, allow_null=True)
    lead = VisibleRelatedField(Lead, required=False, allow_null=True)
    opportunity = VisibleRelatedField(Opportunity, required=False, allow_null=True)


class RescheduleIn(serializers.Serializer):
    due_at = MomentField()
    version = serializers.IntegerField(required=False)


class TaskFilter(ScopedFilterSet):
    owner = django_filters.UUIDFilter(field_name="owner_id")
    due_before = MomentFilter(field_name="due_at", lookup_expr="lt")
    due_after = MomentFilter(field_name="due_at", lookup_expr="gte")

    class Meta:
        model = Task
        fields = ["status", "customer", "lead", "opportunity"]


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet):
    model = Task
    serializer_class = TaskOut
    filterset_class = TaskFilter

    def get_queryset(self) -> Any:
        return super().get_queryset().select_related("owner")

    @extend_schema(request=TaskIn, responses={201: TaskOut})
    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        data = valid(TaskIn, request, context=self.get_serializer_context())
        owner_id = data.pop("owner", None)
        owner = request.user if owner_id is None else active_member(request.user, owner_id, "owner")
        task = services.task_create(user=request.user, owner=owner, **data)
        return Response(TaskOut(task, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: TaskOut})
    @action(detail=True, methods=["post"])
    def complete(self, request: Any, pk: Any = None) -> Response:
        task = services.task_complete(task=self.get_object(), user=request.user)
        return Response(TaskOut(task, context=self.get_serializer_context()).data)

    @extend_schema(request=RescheduleIn, responses={200: TaskOut})
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Any, pk: Any = None) -> Response:
        data = valid(RescheduleIn, request)
        task = services.task_reschedule(task=self.get_object(), user=request.user, due_at=data["due_at"],
                                        expected_version=data.get("version"))
        return Response(TaskOut(task, context=self.get_serializer_context()).data)
