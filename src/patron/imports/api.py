"""Imports and exports over the REST API; the lead mounts `urlpatterns` under "api/imports/".

POST a file (multipart) to start an import, GET the job for its progress, GET its rejected
rows; GET export/customers/ for the customer list as CSV or XLSX.
"""

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import pagination, parsers, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from patron.accounts.capabilities import Scope
from patron.api.base import ScopedViewSet, valid
from patron.customers.api import CustomerFilter
from patron.customers.models import Customer
from patron.imports import exports, readers, services
from patron.imports.models import ImportJob, ImportRejection
from patron.imports.views import _attachment


class ImportJobOut(serializers.ModelSerializer):
    progress = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "original_name",
            "encoding",
            "delimiter",
            "sheet",
            "header_row",
            "mapping",
            "key_field",
            "owner_rule",
            "day_first",
            "status",
            "progress",
            "rows_total",
            "rows_done",
            "rows_created",
            "rows_updated",
            "rows_rejected",
            "errors",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ImportJobIn(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=ImportJob.Kind.choices)
    key_field = serializers.CharField(required=False, allow_blank=True, default="")
    owner_rule = serializers.ChoiceField(choices=ImportJob.OwnerRule.choices, default="importer")
    day_first = serializers.BooleanField(default=False)
    mapping = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text='JSON {"column header": "field"}; guessed when absent.',
    )
    sheet = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text="XLSX: the sheet to read; the first with anything on it when absent.",
    )
    header_row = serializers.IntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=readers.MAX_HEADER_ROW,
        help_text="The row holding the column names; found among the first rows when 0.",
    )
    start = serializers.BooleanField(default=True, help_text="Queue the import at once.")


class RejectionOut(serializers.ModelSerializer):
    class Meta:
        model = ImportRejection
        fields = ["row", "column", "reason"]


class RowPagination(pagination.CursorPagination):
    ordering = ("row", "id")
    page_size = 200
    max_page_size = 1000
    page_size_query_param = "page_size"


class ImportJobViewSet(ScopedViewSet):
    model = ImportJob
    serializer_class = ImportJobOut
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ImportJob.objects.none()
        user = self.request.user
        jobs = ImportJob.objects.all()
        return jobs if user.scope_for("admin.manage") >= Scope.ORGANIZATION else jobs.filter(created_by=user)

    @extend_schema(request=ImportJobIn, responses={201: ImportJobOut})
    def create(self, request: Request) -> Response:
        data = valid(ImportJobIn, request)
        try:
            names = json.loads(data["mapping"]) if data.get("mapping") else None
        except json.JSONDecodeError:
            raise serializers.ValidationError({"mapping": ["must be a JSON object"]}) from None
        if names is not None and not isinstance(names, dict):
            raise serializers.ValidationError({"mapping": ["must be a JSON object"]})
        upload = data["file"]
        job = services.import_create(
            user=request.user,
            file=upload,
            name=upload.name,
            kind=data["kind"],
            key_field=data["key_field"],
            owner_rule=data["owner_rule"],
            day_first=data["day_first"],
            mapping_names=names,
            sheet=data["sheet"],
            header_row=data["header_row"],
        )
        if data["start"]:
            try:
                services.import_start(job=job, user=request.user)
            except ValidationError as exc:
                raise serializers.ValidationError({"mapping": exc.messages}) from None
        job.refresh_from_db()
        return Response(ImportJobOut(job).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: Any = None) -> Response:
        return Response(ImportJobOut(self.get_object()).data)

    @extend_schema(responses=RejectionOut(many=True))
    @action(detail=True, methods=["get"])
    def rejected(self, request: Request, pk: Any = None) -> Response:
        job = self.get_object()
        paginator = RowPagination()
        page = paginator.paginate_queryset(job.rejections.all(), request, view=self)
        return paginator.get_paginated_response(RejectionOut(page, many=True).data)


class CustomerExportViewSet(ScopedViewSet):
    """The customers the caller may export, filtered like the customer list."""

    model = Customer

    @extend_schema(
        parameters=[
            OpenApiParameter("output", str, enum=list(exports.FORMATS)),
            OpenApiParameter("sensitive", bool, description="clear values where allowed"),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def list(self, request: Request) -> HttpResponse:
        fmt = request.query_params.get("output", "csv")
        if fmt not in exports.FORMATS:
            raise serializers.ValidationError({"output": [f"one of {', '.join(exports.FORMATS)}"]})
        filtered = CustomerFilter(request.query_params, queryset=self.get_queryset())
        if not filtered.is_valid():
            raise serializers.ValidationError(filtered.errors)
        data, _count = exports.export_rows(
            user=request.user,
            queryset=filtered.qs,
            fields=exports.CUSTOMER_FIELDS,
            format=fmt,
            include_sensitive=request.query_params.get("sensitive") in ("1", "true"),
            filters={k: v for k, v in request.query_params.items() if k != "output"},
        )
        response = HttpResponse(data, content_type=exports.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = _attachment(f"customers.{fmt}")
        return response


urlpatterns = [
    path("", ImportJobViewSet.as_view({"post": "create"}), name="import-create"),
    path("<uuid:pk>/", ImportJobViewSet.as_view({"get": "retrieve"}), name="import-detail"),
    path("<uuid:pk>/rejected/", ImportJobViewSet.as_view({"get": "rejected"}), name="import-rejected"),
    path("export/customers/", CustomerExportViewSet.as_view({"get": "list"}), name="customer-export"),
]
