"""Model fields of our own."""

from typing import Any

from django.db import models


class PlainJSONField(models.JSONField):
    """JSON that is only ever read and written whole, never filtered on: on PostgreSQL a
    `json` column (the text as written, checked for syntax) rather than `jsonb`.

    Turning text into `jsonb` is most of what the server spends storing a row of small JSON
    arrays: COPY of a million score snapshots into a bare table took 14.2 s with their
    JSON columns as `jsonb`, 9.4 s as `json`. PostgreSQL compares no `json` values, so a
    filter on such a field (even `= []`) fails there: keep a `models.JSONField` for values
    that are filtered on or looked into (`__contains`, keys).
    """

    def db_type(self, connection: Any) -> str | None:
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or not isinstance(value, str):
            return value  # psycopg decodes `json` (not `jsonb`, which Django leaves as text)
        return super().from_db_value(value, expression, connection)
