"""Orders and products over the REST API."""

from decimal import Decimal
from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from patron.api.base import MomentField, ScopedViewSet, VisibleRelatedField, valid
from patron.api.filters import MomentFilter, ScopedFilterSet
from patron.catalog.models import Product
from patron.customers.models import Customer
from patron.orders import services
from patron.orders.models import Order, OrderLine


class ProductOut(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "sku", "name", "category", "price", "currency", "is_active"]


class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    model = Product
    serializer_class = ProductOut
    filterset_fields = ["category", "is_active", "sku"]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        if self.request.user.scope_for("products.view") == 0:
            return Product.objects.none()
        return Product.objects.all()


class OrderLineOut(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["product", "quantity", "unit_price", "amount"]


class OrderOut(serializers.ModelSerializer):
    lines = OrderLineOut(many=True, read_only=True)

    class Meta:
        model = Order
        fields = ["id", "number", "customer", "ordered_at", "channel", "status", "total", "currency",
                  "external_ref", "lines", "created_at"]


class OrderLineIn(serializers.Serializer):
    product = VisibleRelatedField(Product)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"), default=1)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)


class OrderIn(serializers.Serializer):
    customer = VisibleRelatedField(Customer)
    ordered_at = MomentField()
    channel = serializers.ChoiceField(choices=Order.SalesChannel.choices, default=Order.SalesChannel.DIRECT)
    status = serializers.ChoiceField(choices=Order.Status.choices, default=Order.Status.PAID)
    external_ref = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    lines = OrderLineIn(many=True, allow_empty=False)


class OrderFilter(ScopedFilterSet):
    ordered_after = MomentFilter(field_name="ordered_at", lookup_expr="gte")
    ordered_before = MomentFilter(field_name="ordered_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields = ["customer", "channel", "status"]


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet):
    model = Order
    serializer_class = OrderOut
    filterset_class = OrderFilter

    def get_queryset(self) -> Any:
        return super().get_queryset().prefetch_related("lines")

    @extend_schema(request=OrderIn, responses={201: OrderOut})
    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        data = valid(OrderIn, request, context=self.get_serializer_context())
        order = services.order_create(user=request.user, **data)
        order = Order.objects.prefetch_related("lines").get(pk=order.pk)
        return Response(OrderOut(order, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)
