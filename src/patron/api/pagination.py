from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Keyset paging: the cost of a page does not grow with the table (no COUNT, no OFFSET)."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
