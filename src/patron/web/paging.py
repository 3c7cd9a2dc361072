"""Keyset (cursor) pagination for the list pages: no COUNT, no OFFSET.

A page is fetched with `WHERE (sort_key, id) after the cursor ORDER BY sort_key, id LIMIT n+1`,
so its cost does not grow with the page number and an index on (organization, key, id) serves
it. The cursor is the last (or first) row's sort value and id, base64-encoded JSON; a forged or
damaged cursor is an `InvalidCursor`, which the views turn into a 400.
"""

import base64
import binascii
import dataclasses
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
    # A nullable key whose rows with a value an index reads in order (through `via`), but whose
    # nulls it cannot hold (customers without a current score, across an outer join): a page
    # reads the two apart, the valued rows first and then, when the page is not yet full, the
    # nulls by id (`keyset_page`). As one query, nulls last, the database sorted every row.
    nulls_apart: bool = False
    # The least value the key takes, if it has one (scores are never negative): the valued rows
    # are then read as "at least this", which is how a partial index serving them states its
    # condition (SQLite uses such an index only for a query stating the same term).
    least: Any = None

    @property
    def paths(self) -> tuple[str, str]:
        return self.via or (self.field, "pk")


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None


def encode_cursor(key: SortKey, row: Any) -> str:
    # A null's row has no `via` values (nothing joined): the row's own key and id say the same.
    field, id_ = (key.field, "pk") if key.nulls_apart else key.paths
    value, pk = getattr(row, field), getattr(row, id_)
    if key.nulls_apart and not _valued(key, value):
        value = None  # a row read with the nulls
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
    token = after or before
    value, pk = decode_cursor(key, token) if token else (None, None)
    if key.nulls_apart:
        rows = _rows_apart(queryset, key, value, pk, forward=forward, cursor=bool(token), limit=size + 1)
    else:
        qs = queryset.order_by(*_ordering(key, forward=forward))
        if token:
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


def apart(queryset: QuerySet, key: SortKey, *, forward: bool = True) -> tuple[QuerySet, QuerySet]:
    """The valued rows and the nulls of a key read apart (`SortKey.nulls_apart`), each in the
    walking order: forward, or back (reversed)."""
    desc = key.descending if forward else not key.descending
    field = key.paths[0]
    if key.least is None:
        valued, rest = Q(**{f"{field}__isnull": False}), Q(**{f"{key.field}__isnull": True})
    else:  # a value below the least, should one ever be stored, is read with the nulls, not lost
        valued = Q(**{f"{field}__gte": key.least})
        rest = Q(**{f"{key.field}__isnull": True}) | Q(**{f"{key.field}__lt": key.least})
    ordered = _ordering(dataclasses.replace(key, nullable=False), forward=forward)
    return queryset.filter(valued).order_by(*ordered), queryset.filter(rest).order_by("-pk" if desc else "pk")


def _valued(key: SortKey, value: Any) -> bool:
    return value is not None and (key.least is None or value >= key.least)


def _rows_apart(queryset: QuerySet, key: SortKey, value: Any, pk: Any, *, forward: bool, cursor: bool,
                limit: int) -> list:
    """Up to `limit` rows after (forward) or before the cursor, in the walking order, for a key
    whose valued rows and nulls are read apart: going forward, the valued rows and then the
    nulls; going back, the nulls and then the valued rows."""
    valued, nulls = apart(queryset, key, forward=forward)
    among_nulls = cursor and not _valued(key, value)
    if among_nulls:
        desc = key.descending if forward else not key.descending
        nulls = nulls.filter(**{f"pk__{'lt' if desc else 'gt'}": pk})
    elif cursor:
        valued = valued.filter(_after(dataclasses.replace(key, nullable=False), value, pk, forward=forward))
    if forward:
        parts = [nulls] if among_nulls else [valued, nulls]
    else:  # going back always starts from a cursor
        parts = [nulls, valued] if among_nulls else [valued]
    rows: list = []
    for part in parts:
        if len(rows) < limit:
            rows += list(part[: limit - len(rows)])
    return rows
