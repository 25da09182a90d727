"""Keyset pagination: a page costs one indexed range scan with a LIMIT, however many rows
precede it. A cursor names the sort value and primary key of the row at a page's edge.

Cursors are opaque to people but not secret: a tampered cursor only moves within the same
scoped, filtered queryset, and an unreadable one reads as "the first page".
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.db.models import F, Model, Q, QuerySet
from django.db.models.expressions import OrderBy

Row = TypeVar("Row", bound=Model)


@dataclass(frozen=True)
class Ordering:
    """Sort by one column, then by primary key in the same direction; NULLs come last."""

    field: str
    descending: bool = False
    nullable: bool = False

    def order_by(self, *, reverse: bool = False) -> tuple[OrderBy, OrderBy]:
        descending = self.descending != reverse
        nulls = {}
        if self.nullable:
            nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
        column = F(self.field).desc(**nulls) if descending else F(self.field).asc(**nulls)
        key = F("pk").desc() if descending else F("pk").asc()
        return column, key

    def after(self, value: Any, pk: int, *, reverse: bool = False) -> Q:
        """Rows strictly after (value, pk) in this ordering (or in its reverse)."""
        parts = self.after_parts(value, pk, reverse=reverse)
        after = parts[0]
        for part in parts[1:]:
            after |= part
        return after

    def after_parts(self, value: Any, pk: int, *, reverse: bool = False) -> list[Q]:
        """The rows after (value, pk), as consecutive runs of the ordering, each one range of
        an index on (field, pk): the NULLs are a run of their own. A database reads one run
        with an index scan from its start; an OR of runs it reads as a filter over every row
        before the cursor (PostgreSQL did, for a deep page)."""
        descending = self.descending != reverse
        nulls_last = not reverse
        cmp = "lt" if descending else "gt"
        key_after = Q(**{f"pk__{cmp}": pk})
        if value is None:
            parts = [Q(**{f"{self.field}__isnull": True}) & key_after]
            if not nulls_last and self.nullable:
                parts.append(Q(**{f"{self.field}__isnull": False}))
            return parts
        # The same rows as (field cmp value) OR (field = value AND pk cmp key), with a plain
        # bound the index scan can start at.
        parts = [
            Q(**{f"{self.field}__{cmp}e": value})
            & (Q(**{f"{self.field}__{cmp}": value}) | (Q(**{self.field: value}) & key_after))
        ]
        if nulls_last and self.nullable:
            parts.append(Q(**{f"{self.field}__isnull": True}))
        return parts


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    next_cursor: str | None
    previous_cursor: str | None


def paginate(
    queryset: QuerySet[Row],
    ordering: Ordering,
    *,
    after: str | None = None,
    before: str | None = None,
    size: int = 50,
) -> Page[Row]:
    """One page of `queryset`: the first, the one after `after`, or the one before `before`."""
    if before and (edge := decode(before)) is not None:
        rows = _runs(queryset, ordering, edge, size + 1, reverse=True)
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            rows=rows,
            next_cursor=encode(ordering, rows[-1]) if rows else None,
            previous_cursor=encode(ordering, rows[0]) if rows and more_before else None,
        )
    edge = decode(after) if after else None
    if edge is not None:
        rows = _runs(queryset, ordering, edge, size + 1)
    else:
        rows = list(queryset.order_by(*ordering.order_by())[: size + 1])
    more_after = len(rows) > size
    rows = rows[:size]
    return Page(
        rows=rows,
        next_cursor=encode(ordering, rows[-1]) if rows and more_after else None,
        previous_cursor=encode(ordering, rows[0]) if rows and edge is not None else None,
    )


def _runs(
    queryset: QuerySet[Row],
    ordering: Ordering,
    edge: tuple[Any, int],
    limit: int,
    *,
    reverse: bool = False,
) -> list[Row]:
    """Up to `limit` rows after `edge`, reading the runs of `after_parts` in turn."""
    rows: list[Row] = []
    for part in ordering.after_parts(*edge, reverse=reverse):
        rows += queryset.filter(part).order_by(*ordering.order_by(reverse=reverse))[
            : limit - len(rows)
        ]
        if len(rows) >= limit:
            break
    return rows


def encode(ordering: Ordering, row: Model) -> str:
    value = getattr(row, ordering.field)
    if isinstance(value, datetime):
        packed: list[Any] = ["dt", value.isoformat()]
    else:
        packed = ["v", value]
    raw = json.dumps([*packed, row.pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[Any, int] | None:
    """(sort value, primary key), or None for anything that is not a cursor we wrote."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, value, pk = json.loads(raw)
        if not isinstance(pk, int) or isinstance(pk, bool):
            return None
        if kind == "dt":
            return datetime.fromisoformat(value), pk
        if kind == "v" and (value is None or isinstance(value, str | int)):
            return value, pk
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    return None
