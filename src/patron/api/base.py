"""What every API endpoint shares: organisation scope, visibility, masking, error mapping."""

import uuid
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from patron.accounts import permissions
from patron.accounts.models import User
from patron.common import bounds, masking, tenancy


class ScopedViewSet(viewsets.GenericViewSet):
    """Enter the caller's organisation once they are authenticated (token or session).

    Token authentication happens inside the view, after the middleware ran, so the API enters
    the organisation scope here and leaves it when the response is finalised.
    """

    model: Any = None
    action_names = {"list": "view", "retrieve": "view", "create": "add", "update": "change",
                    "partial_update": "change", "destroy": "delete"}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        org_id = getattr(request.user, "organization_id", None)
        if org_id is not None:
            self._scope_token = tenancy.activate(org_id)
            # The organisation's clock, as on the pages: naive times sent are read in it, and
            # answers are the same whether the caller signed in by session or by token.
            timezone.activate(request.user.organization.zone)

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        token = getattr(self, "_scope_token", None)
        if token is not None:
            tenancy.deactivate(token)
            timezone.deactivate()
            self._scope_token = None
        return super().finalize_response(request, response, *args, **kwargs)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return self.model._default_manager.none() if hasattr(self.model, "_default_manager") else None
        return self.model.objects.visible_to(self.request.user, "view")

    def get_object(self) -> Any:
        obj = get_visible(self.get_queryset(), self.kwargs["pk"])
        if obj is None:
            raise Http404
        return obj


class ReadMixin(mixins.ListModelMixin, mixins.RetrieveModelMixin):
    pass


@extend_schema_field(OpenApiTypes.STR)
class MaskedField(serializers.Field):
    """A sensitive field: always masked in API output; use the reveal endpoint for clear text."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, obj: Any) -> Any:
        user = self.context["request"].user
        return masking.present(user, obj, self.field_name)


@extend_schema_field(
    {"type": "object", "nullable": True,
     "properties": {"id": {"type": "string", "format": "uuid"}, "name": {"type": "string"}}}
)
class UserRefField(serializers.Field):
    def to_representation(self, value: Any) -> Any:
        return {"id": str(value.pk), "name": str(value)} if value else None


@extend_schema_field(OpenApiTypes.DATETIME)
class MomentField(serializers.DateTimeField):
    """A date and time that must exist in UTC too.

    A naive time is read in the organisation's zone; DRF then checks it by moving it to UTC,
    which for the first hours of year 1 east of UTC (Asia/Shanghai) lies before the calendar
    and raised OverflowError (a 500). The services bound every moment to sane years; this only
    turns what cannot even be represented into a 400 on the field.
    """

    def to_internal_value(self, value: Any) -> Any:
        try:
            return super().to_internal_value(value)
        except OverflowError:
            raise serializers.ValidationError(bounds.unstorable(value).messages) from None


def get_visible(queryset: Any, pk: Any) -> Any:
    """The row with primary key `pk` in `queryset`, or None (also for a malformed key)."""
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        return None
    try:
        return queryset.get(pk=key)
    except ObjectDoesNotExist:
        return None


@extend_schema_field(OpenApiTypes.UUID)
class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference to another record, accepted only when the caller may see it.

    Another owner's or organisation's record is answered exactly like a missing one, so the
    API never confirms that it exists.
    """

    def __init__(self, model: Any, **kwargs: Any) -> None:
        self.target_model = model
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        user = self.context["request"].user
        objects = self.target_model.objects
        return objects.visible_to(user) if hasattr(objects, "visible_to") else objects.all()

    def to_internal_value(self, data: Any) -> Any:
        obj = get_visible(self.get_queryset(), data)
        if obj is None:
            self.fail("does_not_exist", pk_value=data)
        return obj


def require(user: Any, action: str, obj: Any) -> None:
    permissions.require(user, action, obj)


def valid(serializer_class: type[serializers.Serializer], request: Any, *, partial: bool = False,
          context: dict | None = None) -> dict:
    """Validate the request body with an input serializer; 400 naming the fields otherwise."""
    serializer = serializer_class(data=request.data, partial=partial, context=context or {"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def active_member(user: Any, pk: Any, field: str) -> Any:
    """The active user `pk` of the caller's organisation (an owner, an assignee); a 400 on `field` otherwise."""
    member = User.objects.filter(organization_id=user.organization_id, is_active=True, pk=pk).first()
    if member is None:
        raise serializers.ValidationError({field: [_("No such active user in your organisation.")]})
    return member
