"""Customers and contacts over the REST API: thin over the same services as the pages."""

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from patron.api.base import (
    MaskedField,
    ScopedViewSet,
    UserRefField,
    VisibleRelatedField,
    active_member,
    valid,
)
from patron.api.filters import MomentFilter, ScopedFilterSet
from patron.api.pagination import CursorPagination
from patron.common import standardize
from patron.customers import selectors, services
from patron.customers.models import Channel, Contact, Customer, Source, Tag
from patron.insights import labels
from patron.insights.models import CustomerScore
from patron.insights.selectors import SCORE_SORTS, with_current_score
from patron.web.paging import InvalidCursor, keyset_page


class CurrentScoreOut(serializers.ModelSerializer):
    """A customer's current classes and value (see patron.insights), read-only."""

    class Meta:
        model = CustomerScore
        fields = ["as_of", "rfm_segment", "r_score", "f_score", "m_score", "class8", "classes", "lifecycle",
                  "value_tier", "frequency_tier", "cluster_label", "n_purchases", "total_spend", "days_since_last",
                  "p_alive", "expected_purchases", "expected_spend", "clv", "churn_risk", "churn_reasons"]
        read_only_fields = fields


class CustomerOut(serializers.ModelSerializer):
    phone = MaskedField()
    email = MaskedField()
    wechat = MaskedField()
    id_number = MaskedField()
    birthday = MaskedField(allow_null=True)  # a date: null when unknown, not ""
    address = MaskedField()
    owner = UserRefField()
    owner_team = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)  # unowned: null
    tags = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField(help_text="The current value snapshot (null until scored).")

    class Meta:
        model = Customer
        fields = [
            "id", "number", "kind", "name", "company_name", "title", "phone", "email", "wechat",
            "id_number", "birthday", "address", "region", "city", "industry", "source",
            "preferred_channel", "consent_email", "consent_sms", "consent_phone",
            "consent_updated_at", "notes", "tags", "owner", "owner_team", "last_contacted_at",
            "last_ordered_at", "created_at", "updated_at", "version", "scores",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, customer: Customer) -> list[str]:
        names = getattr(customer, "tag_names", None)
        return sorted(t.name for t in customer.tags.all()) if names is None else names

    @extend_schema_field(CurrentScoreOut(allow_null=True))
    def get_scores(self, customer: Customer) -> dict | None:
        current = getattr(customer, "current_scores", None)
        if current is None:  # not attached (a single object): one query
            current = list(CustomerScore.objects.current().filter(customer=customer)[:1])
        if not current:
            return None
        # One nested serializer for the whole page: building a ModelSerializer's fields costs
        # more than rendering a row, and a list renders fifty.
        out = self.__dict__.get("_scores_out")
        if out is None:
            out = self.__dict__["_scores_out"] = CurrentScoreOut()
        return out.to_representation(current[0])


class CustomerIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Customer.Kind.choices, required=False)
    name = serializers.CharField(max_length=200)
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    wechat = serializers.CharField(max_length=64, required=False, allow_blank=True)
    id_number = serializers.CharField(max_length=32, required=False, allow_blank=True)
    birthday = serializers.DateField(required=False, allow_null=True)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    region = serializers.CharField(max_length=60, required=False, allow_blank=True)
    city = serializers.CharField(max_length=60, required=False, allow_blank=True)
    industry = serializers.CharField(max_length=60, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    preferred_channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    consent_email = serializers.BooleanField(required=False)
    consent_sms = serializers.BooleanField(required=False)
    consent_phone = serializers.BooleanField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    version = serializers.IntegerField(required=False,
                                       help_text="The version you read; a stale one is refused with 409.")


class RevealIn(serializers.Serializer):
    field = serializers.ChoiceField(choices=Customer.sensitive_fields)


class TransferIn(serializers.Serializer):
    owner = serializers.UUIDField()


# ?ordering= value -> the sort by a current score (customers.selectors.score_sort), either way.
# A closed list of the snapshot's values, never a customer's field: a sort by a masked field
# would tell its order (who was born first).
SCORE_ORDERING = {f"{sign}{key}": selectors.score_sort(key, descending=sign == "-")
                  for key in SCORE_SORTS for sign in ("-", "")}


class CustomerPagination(CursorPagination):
    """Keyset paging by creation, or by a current score value when ?ordering= asks for one.

    A score sort pages with the list page's keyset (`web.paging.keyset_page`), which reads the
    scored customers apart from the unscored (DRF's cursor cannot: it keys a page on one
    ordering); its cursor is "a." or "b." (after or before) and the list's token."""

    score_key = None

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        self.score_key = SCORE_ORDERING.get(request.query_params.get("ordering", ""))
        if self.score_key is None:
            return super().paginate_queryset(queryset, request, view)
        self.base_url = request.build_absolute_uri()
        direction, _dot, token = request.query_params.get(self.cursor_query_param, "").partition(".")
        if direction not in ("", "a", "b") or bool(direction) != bool(token):
            raise exceptions.NotFound(self.invalid_cursor_message)
        try:
            self.keyset = keyset_page(queryset, self.score_key, size=self.get_page_size(request),
                                      after=token if direction == "a" else "", before=token if direction == "b" else "")
        except InvalidCursor:
            raise exceptions.NotFound(self.invalid_cursor_message) from None
        return self.keyset.rows

    def get_next_link(self) -> str | None:
        if self.score_key is None:
            return super().get_next_link()
        return self._link("a", self.keyset.next_cursor)

    def get_previous_link(self) -> str | None:
        if self.score_key is None:
            return super().get_previous_link()
        return self._link("b", self.keyset.previous_cursor)

    def _link(self, direction: str, token: str | None) -> str | None:
        return replace_query_param(self.base_url, self.cursor_query_param, f"{direction}.{token}") if token else None

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple:
        if selectors.CLASS_ORDER[0] in queryset.query.annotations:  # one class, newest first, from its index
            return tuple(f"-{name}" for name in selectors.CLASS_ORDER)
        return super().get_ordering(request, queryset, view)


class RegionFilter(django_filters.CharFilter):
    """A region as the services store it: 浙江, 浙江省 and Zhejiang find the same records."""

    def __init__(self) -> None:
        super().__init__(field_name="region", label="Region (浙江, 浙江省 and Zhejiang are one)")

    def filter(self, qs: Any, value: Any) -> Any:
        return super().filter(qs, standardize.canonical_region(value) if value else value)


class CustomerFilter(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label="Search name, company, phone, e-mail")
    owner = django_filters.UUIDFilter(field_name="owner_id")
    owner_team = django_filters.UUIDFilter(field_name="owner_team_id")
    tag = django_filters.CharFilter(field_name="tags__name")
    region = RegionFilter()
    last_ordered_after = MomentFilter(field_name="last_ordered_at", lookup_expr="gte")
    last_ordered_before = MomentFilter(field_name="last_ordered_at", lookup_expr="lt")
    # The current value snapshot (patron.insights): classes, value and risk.
    segment = django_filters.ChoiceFilter(choices=labels.choices("rfm_segment"), method="by_score",
                                          label="RFM segment key")
    class8 = django_filters.ChoiceFilter(choices=labels.choices("class8"), method="by_score", label="Value class key")
    lifecycle = django_filters.ChoiceFilter(choices=labels.choices("lifecycle"), method="by_score",
                                            label="Lifecycle stage key")
    value_tier = django_filters.ChoiceFilter(choices=labels.choices("value_tier"), method="by_score",
                                             label="Value tier")
    clv_min = django_filters.NumberFilter(method="by_score", label="12-month CLV at least")
    clv_max = django_filters.NumberFilter(method="by_score", label="12-month CLV at most")
    churn_risk_min = django_filters.NumberFilter(method="by_score", label="Churn risk at least (0-1)")
    ordering = django_filters.ChoiceFilter(
        choices=[(k, k) for k in SCORE_ORDERING], method="sorted_by_score",
        label=f"Sort by the current score: {', '.join(SCORE_ORDERING)} (unscored customers last)",
    )

    SCORE_LOOKUPS = {"segment": "rfm_segment", "class8": "class8", "lifecycle": "lifecycle",
                     "value_tier": "value_tier", "clv_min": "clv__gte", "clv_max": "clv__lte",
                     "churn_risk_min": "churn_risk__gte"}

    class Meta:
        model = Customer
        fields = ["kind", "city", "industry", "source"]

    def sorted_by_score(self, queryset: Any, name: str, value: str) -> Any:
        # The order itself is the paginator's (CustomerPagination): a cursor needs its own key.
        return with_current_score(queryset)

    def by_score(self, queryset: Any, name: str, value: Any) -> Any:
        if value in (None, ""):
            return queryset
        if name in ("segment", "class8", "lifecycle"):
            return selectors.in_class(queryset, **{self.SCORE_LOOKUPS[name]: value})
        current = CustomerScore.objects.current().filter(customer=OuterRef("pk"),
                                                         **{self.SCORE_LOOKUPS[name]: value})
        return queryset.filter(Exists(current))

    def search(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(selectors.search_matches(value, user=self.user)) if value.strip() else queryset


def attach_tags_and_scores(customers: list[Customer]) -> list[Customer]:
    """Give each customer `tag_names` and `current_scores` with two queries for the lot.

    prefetch_related would do it too, but builds two querysets per row to hold the results,
    which costs a page of fifty more than the queries themselves.
    """
    ids = [c.pk for c in customers]
    tags: dict[Any, list[str]] = {pk: [] for pk in ids}
    for customer_id, name in Tag.objects.filter(customers__in=ids).values_list("customers", "name"):
        tags[customer_id].append(name)
    scores = {s.customer_id: s for s in CustomerScore.objects.current().filter(customer_id__in=ids)}
    for customer in customers:
        customer.tag_names = sorted(tags[customer.pk])
        current = scores.get(customer.pk)
        customer.current_scores = [current] if current else []
    return customers


class CustomerViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    mixins.UpdateModelMixin, mixins.DestroyModelMixin, ScopedViewSet,
):
    model = Customer
    serializer_class = CustomerOut
    filterset_class = CustomerFilter
    pagination_class = CustomerPagination

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(is_archived=False).select_related("owner", "owner_team")

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        return page if page is None else attach_tags_and_scores(page)

    def get_object(self) -> Any:
        return attach_tags_and_scores([super().get_object()])[0]

    @extend_schema(request=CustomerIn, responses={201: CustomerOut})
    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        data = valid(CustomerIn, request)
        data.pop("version", None)
        customer = services.customer_create(user=request.user, data=data)
        return Response(self._out(customer), status=status.HTTP_201_CREATED)

    @extend_schema(request=CustomerIn, responses={200: CustomerOut})
    def update(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        customer = self.get_object()
        data = valid(CustomerIn, request, partial=kwargs.get("partial", False))
        version = data.pop("version", None)
        services.customer_update(customer=customer, user=request.user, data=data, expected_version=version)
        return Response(self._out(customer))

    def perform_destroy(self, instance: Customer) -> None:
        services.customer_delete(customer=instance, user=self.request.user)

    @extend_schema(
        request=RevealIn,
        responses={200: inline_serializer("RevealOut", {"field": serializers.CharField(),
                                                        "value": serializers.CharField(allow_null=True)})},
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request: Any, pk: Any = None) -> Response:
        """Show one sensitive field in clear (audited); 403 without the capability."""
        customer = self.get_object()
        field = valid(RevealIn, request)["field"]
        value = services.customer_reveal(customer=customer, user=request.user, field=field)
        return Response({"field": field, "value": value})

    @extend_schema(request=TransferIn, responses={200: CustomerOut})
    @action(detail=True, methods=["post"])
    def transfer(self, request: Any, pk: Any = None) -> Response:
        customer = self.get_object()
        new_owner = active_member(request.user, valid(TransferIn, request)["owner"], "owner")
        services.customer_transfer(customer=customer, user=request.user, new_owner=new_owner)
        return Response(self._out(customer))

    def _out(self, customer: Customer) -> dict:
        customer = self.model.objects.select_related("owner", "owner_team").get(pk=customer.pk)
        attach_tags_and_scores([customer])
        return CustomerOut(customer, context=self.get_serializer_context()).data


class ContactOut(serializers.ModelSerializer):
    phone = MaskedField()
    email = MaskedField()
    wechat = MaskedField()

    class Meta:
        model = Contact
        fields = ["id", "customer", "name", "title", "phone", "email", "wechat", "is_primary", "kept_from",
                  "created_at", "version"]


class ContactIn(serializers.Serializer):
    customer = VisibleRelatedField(Customer)
    name = serializers.CharField(max_length=200)
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    wechat = serializers.CharField(max_length=64, required=False, allow_blank=True)
    is_primary = serializers.BooleanField(required=False)


class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet):
    model = Contact
    serializer_class = ContactOut
    filterset_fields = ["customer"]

    @extend_schema(request=ContactIn, responses={201: ContactOut})
    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        data = valid(ContactIn, request, context=self.get_serializer_context())
        customer = data.pop("customer")
        contact = services.contact_create(customer=customer, user=request.user, data=data)
        return Response(ContactOut(contact, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)
