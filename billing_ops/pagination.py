"""Keyset pagination for list screens: seek on (sort column, id), never COUNT(*) or OFFSET.

A page costs the same on page 1 and page 10,000, which is what keeps lists fast over
millions of rows. The cursor is an opaque token of the boundary row's sort values.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Q


class InvalidCursor(ValueError):
    pass


def _encode(values: list, direction: str) -> str:
    raw = json.dumps({"v": [_plain(v) for v in values], "d": direction}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decode(token: str) -> tuple[list, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values, direction = data["v"], data["d"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCursor("Bad page cursor") from exc
    if direction not in ("next", "prev") or not isinstance(values, list):
        raise InvalidCursor("Bad page cursor")
    return values, direction


@dataclass
class KeysetPage:
    items: list
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.prev_cursor)


def paginate(queryset, *, sort: str, page_size: int, cursor: str | None = None) -> KeysetPage:
    """One page of ``queryset`` ordered by ``sort`` (a field, "-" for descending) then id.

    The sort field must be non-null. Fetches page_size + 1 rows to know whether there is more.
    """
    descending = sort.startswith("-")
    field = sort.lstrip("-")
    keys = [field, "pk"] if field not in ("pk", "id") else ["pk"]
    values, direction = (None, "next") if not cursor else _decode(cursor)
    if values is not None and len(values) != len(keys):
        raise InvalidCursor("Bad page cursor")

    backwards = direction == "prev"
    # Walking backwards reverses the order; the page is flipped back afterwards.
    effective_desc = descending != backwards
    order = [("-" if effective_desc else "") + k for k in keys]
    qs = queryset.order_by(*order)
    if values is not None:
        qs = qs.filter(_seek(keys, values, effective_desc))
    rows = list(qs[: page_size + 1])
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()

    def boundary(row) -> list:
        return [getattr(row, "pk" if k == "pk" else k) for k in keys]

    if not rows:
        return KeysetPage([], None, None)
    next_cursor = prev_cursor = None
    if (has_more and not backwards) or (backwards and cursor):
        next_cursor = _encode(boundary(rows[-1]), "next")
    if (cursor and not backwards) or (backwards and has_more):
        prev_cursor = _encode(boundary(rows[0]), "prev")
    return KeysetPage(rows, next_cursor, prev_cursor)


def _seek(keys: list[str], values: list, descending: bool) -> Q:
    """Rows strictly after ``values`` in (keys) order: (a > x) OR (a = x AND b > y) ..."""
    op = "lt" if descending else "gt"
    condition = Q()
    for index in range(len(keys)):
        clause = Q(**{f"{keys[index]}__{op}": values[index]})
        for prior in range(index):
            clause &= Q(**{keys[prior]: values[prior]})
        condition |= clause
    if len(keys) > 1:
        # PostgreSQL cannot use the OR above as an index bound: it reads the index from its start and
        # filters out every row before the cursor, so page N costs N pages. The redundant bound on
        # the leading key (a <= x) makes it a range scan that starts at the cursor.
        condition = Q(**{f"{keys[0]}__{op}e": values[0]}) & condition
    return condition
