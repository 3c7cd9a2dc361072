"""Filters of the REST API: a filter by a related record takes its key, never a queryset."""

from typing import Any

import django_filters
from django_filters.rest_framework import DjangoFilterBackend

from patron.common import bounds


class ScopedFilterSet(django_filters.FilterSet):
    """A FilterSet whose filters by a related record (`?customer=<uuid>`) take the record's key.

    django-filter's default for a foreign key is a ModelChoiceFilter holding a queryset of the
    related model. An explicit FilterSet builds it at import time, with no organisation in scope
    (so every request raised ScopeError); and checking the value against a queryset answers 400
    for an unknown key but 200 for another team's record, which tells a caller that it exists.
    The listed rows are already limited to those the caller may see, so a key filter is enough:
    a record the caller may not see, or none at all, matches nothing (an empty page), and a
    value that is not a UUID is a 400 naming the filter.

    `user`: whom the rows are filtered for (a search matches what they may see in clear), the
    request's user unless given (an export job has no request).
    """

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user if user is not None else getattr(self.request, "user", None)

    @classmethod
    def filter_for_field(cls, field: Any, field_name: str, lookup_expr: str | None = None) -> Any:
        if field.many_to_one and lookup_expr in (None, "exact"):
            return django_filters.UUIDFilter(field_name=field_name, label=str(field.verbose_name))
        return super().filter_for_field(field, field_name, lookup_expr)


class ScopedFilterBackend(DjangoFilterBackend):
    """The filter backend for views that list `filterset_fields`: the same filters by key."""

    filterset_base = ScopedFilterSet


class _MomentFormField(django_filters.fields.IsoDateTimeField):
    def clean(self, value: Any) -> Any:
        moment = super().clean(value)
        if moment is not None:  # the query compares in UTC: year 1 east of UTC lies before the calendar
            bounds.check_storable(moment, value=value)
        return moment


class MomentFilter(django_filters.IsoDateTimeFilter):
    """An ISO date and time filter (`?ordered_after=`) answering a moment that cannot be moved to
    UTC with a 400 naming the filter, as `api.base.MomentField` does for a record's fields: the
    query's conversion raised OverflowError (a 500)."""

    field_class = _MomentFormField
