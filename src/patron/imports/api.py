"""Imports and exports over the REST API; the lead mounts `urlpatterns` under "api/imports/".

POST a file (multipart) to start an import, GET the job for its progress, GET its rejected
rows. GET export/customers/ for a customer list of up to 5,000 as CSV or XLSX; POST the same
parameters to export any list in the background, then GET exports/<id>/ until it is done and
its file.
"""

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from patron.accounts import permissions
from patron.accounts.capabilities import Scope
from patron.accounts.models import Team
from patron.api.base import ScopedViewSet, valid
from patron.api.pagination import CursorPagination
from patron.customers.models import Customer
from patron.imports import exports, readers, services
from patron.imports.models import ExportJob, ImportJob, ImportRejection
from patron.imports.views import _attachment


class ImportJobOut(serializers.ModelSerializer):
    progress = serializers.IntegerField(read_only=True)
    rows_unchanged = serializers.IntegerField(read_only=True)

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
            "owner_team",
            "day_first",
            "status",
            "progress",
            "rows_total",
            "rows_done",
            "rows_created",
            "rows_updated",
            "rows_unchanged",
            "rows_rejected",
            "values_left_out",
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
    owner_team = serializers.UUIDField(
        required=False, allow_null=True, default=None,
        help_text='The team whose members get the new records in turn (owner_rule "team").',
    )
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
        fields = ["row", "column", "reason", "kept"]


class RowPagination(CursorPagination):
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
        not_an_object = {"mapping": [_('A JSON object is expected: {"column header": "field"}.')]}
        try:
            names = json.loads(data["mapping"]) if data.get("mapping") else None
        except json.JSONDecodeError:
            raise serializers.ValidationError(not_an_object) from None
        if names is not None and not isinstance(names, dict):
            raise serializers.ValidationError(not_an_object)
        upload = data["file"]
        job = services.import_create(
            user=request.user,
            file=upload,
            name=upload.name,
            kind=data["kind"],
            key_field=data["key_field"],
            owner_rule=data["owner_rule"],
            owner_team=Team.objects.filter(pk=data["owner_team"]).first() if data["owner_team"] else None,
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


class ExportJobOut(serializers.ModelSerializer):
    file = serializers.SerializerMethodField(help_text="Where to download the file once done.")
    sensitive = serializers.BooleanField(source="include_sensitive", read_only=True)

    class Meta:
        model = ExportJob
        fields = ["id", "format", "sensitive", "query", "status", "rows", "error",
                  "file", "created_at", "finished_at"]

    def get_file(self, job: ExportJob) -> str | None:
        if job.status != ExportJob.Status.DONE:
            return None
        return self.context["request"].build_absolute_uri(reverse("api-export-file", args=[job.pk]))


class CustomerExportIn(serializers.Serializer):
    """What to export: the format, contact details in clear or not, and any of the filters of
    `/api/customers/` (region, class8, owner, ...)."""

    output = serializers.ChoiceField(choices=list(exports.FORMATS), default="csv")
    sensitive = serializers.BooleanField(default=False, help_text="clear values where allowed")


_EXPORT_PARAMETERS = [
    OpenApiParameter("output", str, enum=list(exports.FORMATS)),
    OpenApiParameter("sensitive", bool, description="clear values where allowed"),
]


class CustomerExportViewSet(ScopedViewSet):
    """The customers the caller may export, filtered like the customer list (`/api/customers/`):
    GET answers the file of a list of up to 5,000; POST exports any list in the background."""

    model = Customer
    serializer_class = CustomerExportIn  # what OPTIONS describes for POST (without one it raised, a 500)

    def _asked(self, request: Request) -> tuple[str, bool, dict[str, str]]:
        if request.user.scope_for("customers.export") == 0:
            raise permissions.PermissionDenied("customers.export")
        # A POST reads the address's parameters too (the 400 of a long GET says to POST "the
        # same parameters"); the body's win.
        params: dict[str, Any] = dict(request.query_params.items())
        if request.method != "GET":
            body = request.data
            params.update(body.items() if hasattr(body, "items") else {})
        wrong = sorted(k for k, v in params.items() if isinstance(v, list | dict))
        if wrong:
            raise serializers.ValidationError({k: [_("One value, not a list.")] for k in wrong})
        fmt = params.get("output", "csv")
        if fmt not in exports.FORMATS:
            raise serializers.ValidationError(
                {"output": [_("One of %(formats)s.") % {"formats": ", ".join(exports.FORMATS)}]}
            )
        sensitive = exports.in_clear(request.user, str(params.get("sensitive", "")).lower() in ("1", "true", "on"))
        names = exports.filter_names("api")
        # A misspelt filter ("regoin") would export the whole list: refused, by its name.
        ignored = {"output", "sensitive", "format", "csrfmiddlewaretoken", "cursor", "page", "page_size"}
        unknown = sorted(set(params) - names - ignored)
        if unknown:
            raise serializers.ValidationError({name: [_("No such filter.")] for name in unknown})
        query = {k: str(v) for k, v in params.items() if k in names}
        return fmt, sensitive, query

    @extend_schema(parameters=_EXPORT_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.BINARY})
    def list(self, request: Request) -> HttpResponse:
        fmt, sensitive, query = self._asked(request)
        try:  # the list a background export of the same query would write
            queryset = exports.customer_queryset(user=request.user, query=query, origin="api")
        except exports.InvalidFilters as exc:
            raise serializers.ValidationError(exc.errors) from None
        if exports.is_long(queryset):
            raise serializers.ValidationError(
                {
                    "detail": _(
                        "The list holds more than %(n)s customers: POST the same parameters to this "
                        "address to export it in the background."
                    )
                    % {"n": exports.DIRECT_MAX_ROWS}
                }
            )
        data, _count = exports.customer_export(
            user=request.user, queryset=queryset, query=query, format=fmt, include_sensitive=sensitive
        )
        response = HttpResponse(data, content_type=exports.CONTENT_TYPES[fmt])
        name = exports.export_name(user=request.user, query={}, format=fmt, sensitive=sensitive)
        response["Content-Disposition"] = _attachment(name)
        return response

    @extend_schema(request=CustomerExportIn, responses={202: ExportJobOut})
    def create(self, request: Request) -> Response:
        fmt, sensitive, query = self._asked(request)
        try:
            job = exports.export_queue(
                user=request.user, query=query, format=fmt, include_sensitive=sensitive, origin="api"
            )
        except ValueError as exc:
            raise serializers.ValidationError({"detail": str(exc)}) from None
        data = ExportJobOut(job, context={"request": request}).data
        location = reverse("api-export-detail", args=[job.pk])
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


class ExportJobViewSet(ScopedViewSet):
    """A background export of the caller's own: its progress, then its file."""

    model = ExportJob
    serializer_class = ExportJobOut

    def get_object(self) -> ExportJob:
        job = ExportJob.objects.filter(pk=self.kwargs["pk"]).first()
        if job is None or not exports.may_download(self.request.user, job):
            raise Http404
        return job

    def retrieve(self, request: Request, pk: Any = None) -> Response:
        return Response(ExportJobOut(self.get_object(), context={"request": request}).data)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def file(self, request: Request, pk: Any = None) -> FileResponse:
        job = self.get_object()
        if job.status != ExportJob.Status.DONE or not job.file:
            raise Http404
        response = FileResponse(job.file.open("rb"), content_type=exports.CONTENT_TYPES[job.format])
        response["Content-Disposition"] = _attachment(Path(job.file.name).name)
        return response


urlpatterns = [
    path("", ImportJobViewSet.as_view({"post": "create"}), name="import-create"),
    path("<uuid:pk>/", ImportJobViewSet.as_view({"get": "retrieve"}), name="import-detail"),
    path("<uuid:pk>/rejected/", ImportJobViewSet.as_view({"get": "rejected"}), name="import-rejected"),
    path(
        "export/customers/",
        CustomerExportViewSet.as_view({"get": "list", "post": "create"}),
        name="customer-export",
    ),
    path("exports/<uuid:pk>/", ExportJobViewSet.as_view({"get": "retrieve"}), name="api-export-detail"),
    path("exports/<uuid:pk>/file", ExportJobViewSet.as_view({"get": "file"}), name="api-export-file"),
]
