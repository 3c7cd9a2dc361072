"""Leads, opportunities and pipelines over the REST API."""

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from patron.api.base import MaskedField, ScopedViewSet, UserRefField, VisibleRelatedField, valid
from patron.api.filters import ScopedFilterSet
from patron.customers import selectors as customer_selectors
from patron.customers.api import RegionFilter
from patron.customers.models import Customer, Source
from patron.sales import services
from patron.sales.models import Lead, Opportunity, Pipeline, Stage
from patron.sales.services import NOT_NEGATIVE


class LeadOut(serializers.ModelSerializer):
    phone = MaskedField()
    email = MaskedField()
    wechat = MaskedField()
    owner = UserRefField()

    class Meta:
        model = Lead
        fields = [
            "id", "number", "name", "company_name", "title", "phone", "email", "wechat", "region",
            "industry", "source", "status", "disqualify_reason", "estimated_value", "notes",
            "converted_customer", "converted_opportunity", "converted_at", "owner",
            "last_contacted_at", "created_at", "updated_at", "version",
        ]


class LeadIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    wechat = serializers.CharField(max_length=64, required=False, allow_blank=True)
    region = serializers.CharField(max_length=60, required=False, allow_blank=True)
    industry = serializers.CharField(max_length=60, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    estimated_value = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0,
        error_messages={"min_value": NOT_NEGATIVE["estimated_value"]},
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    version = serializers.IntegerField(required=False)


class DisqualifyIn(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class ConvertIn(serializers.Serializer):
    customer = VisibleRelatedField(Customer, required=False, allow_null=True,
                                   help_text="attach to this existing customer")
    create_opportunity = serializers.BooleanField(default=True)
    opportunity_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0,
                                      error_messages={"min_value": NOT_NEGATIVE["amount"]})


class LeadFilter(ScopedFilterSet):
    q = django_filters.CharFilter(method="search")
    owner = django_filters.UUIDFilter(field_name="owner_id")
    region = RegionFilter()

    class Meta:
        model = Lead
        fields = ["status", "source"]

    def search(self, queryset: Any, name: str, value: str) -> Any:
        if not value.strip():
            return queryset
        return queryset.filter(customer_selectors.search_matches(value, user=self.user, model=Lead))


class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, ScopedViewSet):
    model = Lead
    serializer_class = LeadOut
    filterset_class = LeadFilter

    def get_queryset(self) -> Any:
        return super().get_queryset().select_related("owner")

    @extend_schema(request=LeadIn, responses={201: LeadOut})
    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        data = valid(LeadIn, request)
        data.pop("version", None)
        lead = services.lead_create(user=request.user, data=data)
        return Response(LeadOut(lead, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LeadIn, responses={200: LeadOut})
    def update(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        lead = self.get_object()
        data = valid(LeadIn, request, partial=kwargs.get("partial", False))
        version = data.pop("version", None)
        services.lead_update(lead=lead, user=request.user, data=data, expected_version=version)
        return Response(LeadOut(lead, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={200: LeadOut})
    @action(detail=True, methods=["post"])
    def qualify(self, request: Any, pk: Any = None) -> Response:
        lead = services.lead_qualify(lead=self.get_object(), user=request.user)
        return Response(LeadOut(lead, context=self.get_serializer_context()).data)

    @extend_schema(request=DisqualifyIn, responses={200: LeadOut})
    @action(detail=True, methods=["post"])
    def disqualify(self, request: Any, pk: Any = None) -> Response:
        lead = self.get_object()
        lead = services.lead_disqualify(lead=lead, user=request.user, reason=valid(DisqualifyIn, request)["reason"])
        return Response(LeadOut(lead, context=self.get_serializer_context()).data)

    @extend_schema(request=ConvertIn, responses={200: LeadOut})
    @action(detail=True, methods=["post"])
    def convert(self, request: Any, pk: Any = None) -> Response:
        lead = self.get_object()
        data = valid(ConvertIn, request, context=self.get_serializer_context())
        services.lead_convert(lead=lead, user=request.user, **data)
        lead.refresh_from_db()
        return Response(LeadOut(lead, context=self.get_serializer_context()).data)


class StageOut(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "name", "position", "probability", "outcome"]


class PipelineOut(serializers.ModelSerializer):
    stages = StageOut(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "is_default", "position", "stages"]


class PipelineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Pipelines and their stages: readable by every member of the organisation."""

    model = Pipeline
    serializer_class = PipelineOut

    def get_queryset(self) -> Any:
        return Pipeline.objects.prefetch_related("stages").order_by("position", "name")

    pagination_class = None


class OpportunityOut(serializers.ModelSerializer):
    owner = UserRefField()
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)

    class Meta:
        model = Opportunity
        fields = [
            "id", "number", "name", "customer", "customer_name", "pipeline", "stage", "stage_name",
            "amount", "currency", "expected_close", "probability", "outcome", "lost_reason",
            "closed_at", "stage_changed_at", "source", "competitor", "owner", "created_at",
            "updated_at", "version",
        ]


class OpportunityIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    customer = VisibleRelatedField(Customer)
    pipeline = VisibleRelatedField(Pipeline, required=False)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False,
                                      error_messages={"min_value": NOT_NEGATIVE["amount"]})
    expected_close = serializers.DateField(required=False, allow_null=True)
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    competitor = serializers.CharField(max_length=120, required=False, allow_blank=True)
    version = serializers.IntegerField(required=False)


class OpportunityChangeIn(OpportunityIn):
    """A change: its customer and pipeline stay (a deal moves between stages, `move`). A PUT
    gives the whole record, so its name is required as on creation; a PATCH what changes."""

    customer = None
    pipeline = None


class MoveIn(serializers.Serializer):
    stage = VisibleRelatedField(Stage)
    lost_reason = serializers.CharField(required=False, allow_blank=True, default="")
    version = serializers.IntegerField(required=False)


class OpportunityFilter(ScopedFilterSet):
    owner = django_filters.UUIDFilter(field_name="owner_id")

    class Meta:
        model = Opportunity
        fields = ["pipeline", "stage", "outcome", "customer", "source"]


class OpportunityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                         mixins.UpdateModelMixin, ScopedViewSet):
    model = Opportunity
    serializer_class = OpportunityOut
    filterset_class = OpportunityFilter

    def get_queryset(self) -> Any:
        return super().get_queryset().select_related("owner", "customer", "stage")

    @extend_schema(request=OpportunityIn, responses={201: OpportunityOut})
    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        data = valid(OpportunityIn, request, context=self.get_serializer_context())
        data.pop("version", None)
        customer, pipeline = data.pop("customer"), data.pop("pipeline", None)
        opp = services.opportunity_create(user=request.user, customer=customer, pipeline=pipeline, data=data)
        return Response(self._out(opp), status=status.HTTP_201_CREATED)

    @extend_schema(request=OpportunityChangeIn, responses={200: OpportunityOut})
    def update(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        opp = self.get_object()
        data = valid(OpportunityChangeIn, request, partial=kwargs.get("partial", False),
                     context=self.get_serializer_context())
        version = data.pop("version", None)
        services.opportunity_update(opportunity=opp, user=request.user, data=data, expected_version=version)
        return Response(self._out(opp))

    @extend_schema(request=MoveIn, responses={200: OpportunityOut})
    @action(detail=True, methods=["post"])
    def move(self, request: Any, pk: Any = None) -> Response:
        """Move to another stage of the pipeline; Won/Lost stages close the deal."""
        opp = self.get_object()
        data = valid(MoveIn, request, context=self.get_serializer_context())
        services.opportunity_move(opportunity=opp, user=request.user, stage=data["stage"],
                                  lost_reason=data["lost_reason"], expected_version=data.get("version"))
        return Response(self._out(opp))

    def _out(self, opp: Opportunity) -> dict:
        opp = Opportunity.objects.select_related("owner", "customer", "stage").get(pk=opp.pk)
        return OpportunityOut(opp, context=self.get_serializer_context()).data
