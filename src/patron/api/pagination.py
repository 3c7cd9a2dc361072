import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone
from rest_framework import exceptions, pagination


class CursorPagination(pagination.CursorPagination):
    """Keyset paging: the cost of a page does not grow with the table (no COUNT, no OFFSET)."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        self._queryset = queryset  # decode_cursor checks the cursor's position against its ordering
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Any) -> Any:
        """The cursor, its position checked like a value of the column the page is keyed on.

        A cursor is the client's text: DRF compares its position with that column as it stands,
        so a position that is not a number where the page is keyed on a number, or a time before
        the calendar once moved to UTC, raised ValueError or OverflowError in the query (a 500).
        It is answered as any other malformed cursor.
        """
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                self._check_position(cursor.position)
            except (ValidationError, ValueError, TypeError, OverflowError):
                raise exceptions.NotFound(self.invalid_cursor_message) from None
        return cursor

    def _check_position(self, position: str) -> None:
        name = self.ordering[0].lstrip("-")
        annotation = self._queryset.query.annotations.get(name)
        field = annotation.output_field if annotation is not None else self._queryset.model._meta.get_field(name)
        value = field.clean(position, None)  # its type, and an integer's range on this database
        if isinstance(value, dt.datetime) and timezone.is_aware(value):
            value.astimezone(dt.UTC)  # the query compares in UTC
        field.get_db_prep_value(value, connections[self._queryset.db])
