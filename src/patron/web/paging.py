"""Keyset (cursor) pagination for the list pages: no COUNT, no OFFSET.

A page is fetched with `WHERE (sort_key, id) after the cursor ORDER BY sort_key, id LIMIT n+1`,
so its cost does not grow with the page number and an index on (organization, key, id) serves
it. The cursor is the last (or first) row's sort value and id, base64-encoded JSON; a forged or
damaged cursor is an `InvalidCursor`, which the views turn into a 400.
"""

import base64
import binascii
import datetime as dt
import json
import math
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet

from patron.common import bounds


class InvalidCursor(ValueError):
    """The cursor in the URL was not made by us (or the sort changed under it)."""


@dataclass(frozen=True)
class SortKey:
    """Order by `field` (ascending unless `descending`), then by id the same way.

    Nullable fields sort their nulls last in both directions.
    """

    field: str
    descending: bool = False
    nullable: bool = False
    is_datetime: bool = False
    # A number (a score): its cursor holds a JSON number.
    is_number: bool = False
    # The queryset's names for the same key and id, when it reads them faster elsewhere than
    # in the row's own columns (a list of one class: from the class's index, see
    # `customers.selectors.list_sort`).
    via: tuple[str, str] | None = None

    @property
    def paths(self) -> tuple[str, str]:
        return self.via or (self.field, "pk")


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None


def encode_cursor(key: SortKey, row: Any) -> str:
    field, id_ = key.paths
    value, pk = getattr(row, field), getattr(row, id_)
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    raw = json.dumps({"v": value, "id": str(pk)}, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(key: SortKey, token: str) -> tuple[Any, uuid.UUID]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        value, pk = data["v"], uuid.UUID(str(data["id"]))
        if value is not None and key.is_datetime:
            value = dt.datetime.fromisoformat(value)
            bounds.check_storable(value, value=value)  # a forged year 1 east of UTC: no 500
        elif value is not None and key.is_number:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise TypeError(value)  # NaN and Infinity compare with nothing
        elif value is not None and not isinstance(value, str):
            raise TypeError(value)
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError, ValidationError) as error:
        raise InvalidCursor(token) from error
    if value is None and not key.nullable:
        raise InvalidCursor(token)
    return value, pk


def _after(key: SortKey, value: Any, pk: uuid.UUID, *, forward: bool) -> Q:
    """Rows strictly after (value, pk) in the order of `key` (forward) or before it."""
    desc = key.descending if forward else not key.descending
    op = "lt" if desc else "gt"
    field, id_ = key.paths
    if forward:
        if value is None:  # Nulls come last: only later nulls remain.
            return Q(**{f"{field}__isnull": True, f"{id_}__{op}": pk})
        q = Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"{id_}__{op}": pk})
        return q | Q(**{f"{field}__isnull": True}) if key.nullable else q
    if value is None:  # Going back from a null: every non-null, then earlier nulls.
        return Q(**{f"{field}__isnull": False}) | Q(
            **{f"{field}__isnull": True, f"{id_}__{op}": pk}
        )
    return Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"{id_}__{op}": pk})


def _ordering(key: SortKey, *, forward: bool) -> list:
    desc = key.descending if forward else not key.descending
    field, id_ = key.paths
    expr = F(field)
    if key.nullable:  # Nulls last going forward, hence first when walking backwards.
        nulls = {"nulls_last": True} if forward else {"nulls_first": True}
        ordered = expr.desc(**nulls) if desc else expr.asc(**nulls)
    else:
        ordered = expr.desc() if desc else expr.asc()
    return [ordered, F(id_).desc() if desc else F(id_).asc()]


def keyset_page(
    queryset: QuerySet, key: SortKey, *, after: str = "", before: str = "", size: int = 50
) -> Page:
    """One page of `queryset` in the order of `key`, after or before a cursor."""
    forward = not before
    qs = queryset.order_by(*_ordering(key, forward=forward))
    token = after or before
    if token:
        value, pk = decode_cursor(key, token)
        qs = qs.filter(_after(key, value, pk, forward=forward))
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    if not rows:
        return Page(rows=[], next_cursor=None, previous_cursor=None)
    has_next = more if forward else True
    has_previous = bool(after) if forward else more
    return Page(
        rows=rows,
        next_cursor=encode_cursor(key, rows[-1]) if has_next else None,
        previous_cursor=encode_cursor(key, rows[0]) if has_previous else None,
    )
