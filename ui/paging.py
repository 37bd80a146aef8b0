"""Paging for the big staff lists (offers, orders) that stays fast across many accounts.

- :class:`CappedPaginator` counts exactly up to ``COUNT_CAP`` rows (``COUNT(*)`` over a
  ``LIMIT`` subquery, bounded work) and above that shows PostgreSQL's planner estimate, flagged as
  such: an exact ``COUNT(*)`` of a 250 000-row result costs more than the whole page may take.
- :class:`MergedByAccount` pages a result sorted by a column that is indexed per account
  (``(account, column)``): it takes the first ``offset + page`` rows of every account through
  its index and merges them (``UNION ALL`` of per-account ``LIMIT`` subqueries), instead of
  sorting every matching row of all accounts. The page's rows are loaded by primary key in the
  same query (the merge is its ``id IN (...)`` subquery).
- Deep pages are read by *keyset* instead of offset: from ``LIST_KEYSET_FROM`` rows on (a
  setting, 1000 by default) the pager's links carry a cursor (``after=`` / ``before=``, the
  ordering columns' values of the last / first row shown), and the next page is "the first
  ``per_page`` rows after that row" (per account, by its index), however deep it is. A ``page``
  without a cursor (a typed or old link) is still read by offset; the page number shown comes
  from ``page`` either way.
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property, reduce
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import F, Lookup, Model, Q, QuerySet
from django.db.models.expressions import RawSQL

from accounts.models import AllegroAccount

COUNT_CAP = 1000
KEYSET_FROM = 1000  # default of ``settings.LIST_KEYSET_FROM``
M = TypeVar("M", bound=Model)
# The accounts a list may show: a queryset from ``accounts.selectors`` or the list it gave.
Accounts = QuerySet[AllegroAccount] | Sequence[AllegroAccount]


def account_filter(accounts: Accounts) -> Any:
    """The value for ``account__in``: literal ids when the scope is already loaded (the planner
    sees them and no semi-join repeats in every query), else the selector's queryset."""
    if isinstance(accounts, QuerySet):
        return accounts
    return [account.pk for account in accounts]


def planner_estimate(qs: QuerySet[Any]) -> int:
    """PostgreSQL's estimate of how many rows ``qs`` returns (one ``EXPLAIN``, no execution)."""
    try:
        # the primary key alone: the same row estimate, a smaller query to compile and plan
        plan = json.loads(qs.order_by().values("pk").explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])
    except (ValueError, KeyError, IndexError, TypeError):
        return 0


class CappedPaginator(Paginator):  # type: ignore[type-arg]
    """A paginator whose total is exact up to ``cap`` and estimated above (``estimated``).

    ``after`` / ``before`` (a pager link's cursor token) read the page by keyset when the rows
    support it (a :class:`MergedByAccount` or a queryset ordered down to its primary key); a
    page offers ``next_cursor`` / ``previous_cursor`` (the tokens for its links) when the page
    they lead to starts ``LIST_KEYSET_FROM`` rows deep or more.
    """

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        *,
        count_qs: QuerySet[Any],
        cap: int = COUNT_CAP,
        after: str = "",
        before: str = "",
    ) -> None:
        super().__init__(object_list, per_page)
        self.count_qs = count_qs.order_by()
        self.cap = cap
        self.estimated = False
        self.after, self.before = after, before

    @cached_property
    def count(self) -> int:
        if connection.vendor != "postgresql":  # no planner estimate to fall back on: count all
            return int(self.count_qs.count())
        exact = self.count_qs[: self.cap + 1].count()
        if exact <= self.cap:
            return exact
        self.estimated = True
        return max(exact, planner_estimate(self.count_qs))

    def page(self, number: Any) -> Page:  # type: ignore[type-arg]
        number = self.validate_number(number)
        ordering = ordering_of(self.object_list)
        rows: list[Any] | None = None
        if (self.after or self.before) and ordering is not None:
            cursor = cursor_from(_model(self.object_list), after=self.after, before=self.before)
            if cursor is not None:
                rows = keyset_rows(self.object_list, ordering, cursor, self.per_page) or None
        page = super().page(number) if rows is None else Page(rows, number, self)
        page.next_cursor = page.previous_cursor = ""  # type: ignore[attr-defined]
        if ordering is None or not page.object_list:
            return page
        deep = int(getattr(settings, "LIST_KEYSET_FROM", KEYSET_FROM))
        shown = list(page.object_list)
        if page.has_next() and number * self.per_page >= deep:
            page.next_cursor = cursor_token(shown[-1], ordering)  # type: ignore[attr-defined]
        if page.has_previous() and (number - 2) * self.per_page >= deep:
            page.previous_cursor = cursor_token(shown[0], ordering)  # type: ignore[attr-defined]
        return page


# --- keyset paging -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A row's position in an ordering: its ordering columns' values (the last one is the
    primary key); ``before``: the page ends just before that row, else it starts just after."""

    ordering: tuple[str, ...]
    values: tuple[Any, ...]
    before: bool = False


def _plain(value: Any) -> Any:
    """A column's value as JSON (read back by the field's ``to_python``)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _model(rows: Any) -> type[Model]:
    return rows.base.model if isinstance(rows, MergedByAccount) else rows.model


def cursor_token(row: Model, ordering: Sequence[str]) -> str:
    """The URL-safe token naming ``row``'s position in ``ordering`` (``after=`` / ``before=``)."""
    values = [_plain(row.pk if _column(t) == "pk" else getattr(row, _column(t))) for t in ordering]
    text = json.dumps([list(ordering), values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_from(model: type[Model], *, after: str = "", before: str = "") -> Cursor | None:
    """The cursor a pager link carried, read back with ``model``'s fields; ``None`` when there
    is none or it does not parse (the page is then read by offset)."""
    token = before or after
    if not token or len(token) > 2000:
        return None
    try:
        ordering, raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(ordering, list) or not isinstance(raw, list) or len(raw) != len(ordering):
            return None
        values = tuple(
            _field(model, _column(str(t))).to_python(v) if v is not None else None
            for t, v in zip(ordering, raw, strict=True)
        )
    except (ValueError, TypeError, binascii.Error, ValidationError, FieldDoesNotExist):
        return None
    if values[-1] is None:
        return None
    return Cursor(tuple(str(t) for t in ordering), values, before=bool(before))


def _column(term: str) -> str:
    name = term.lstrip("-")
    return "pk" if name in ("pk", "id") else name


def _field(model: type[Model], name: str) -> Any:
    return model._meta.pk if name == "pk" else model._meta.get_field(name)


def ordering_of(rows: Any) -> tuple[str, ...] | None:
    """The ordering of a list's rows when it ends with the primary key (a total order keyset
    paging can resume from), else ``None``."""
    if isinstance(rows, MergedByAccount):
        ordering = tuple(rows.ordering)
    elif isinstance(rows, QuerySet) and rows.query.order_by and not rows.query.is_sliced:
        ordering = tuple(str(t) for t in rows.query.order_by)
    else:
        return None
    terms_ok = all(isinstance(t, str) and "__" not in t and "?" not in t for t in ordering)
    if not ordering or not terms_ok or _column(ordering[-1]) != "pk":
        return None
    return ordering


def reversed_ordering(ordering: Sequence[str]) -> tuple[str, ...]:
    """The same order backwards (PostgreSQL puts NULLs last ascending, first descending, so the
    reverse of one is exactly the other)."""
    return tuple(t[1:] if t.startswith("-") else f"-{t}" for t in ordering)


def keyset_parts(
    model: type[Model], ordering: Sequence[str], values: Sequence[Any]
) -> list[Q] | None:
    """The rows strictly after ``values`` in ``ordering``, as disjoint filters each an index can
    answer as one range: ``col <= v AND (col < v OR id < w)`` (descending); ascending, the NULLs
    after the last value are a part of their own. ``None`` for an ordering this does not cover
    (only ``(column, pk)`` and ``(pk,)``)."""
    if len(ordering) == 1:
        after_id = "pk__lt" if ordering[0].startswith("-") else "pk__gt"
        return [Q(**{after_id: values[0]})]
    if len(ordering) != 2:  # a column, then the primary key
        return None
    term, last = ordering
    column, desc = _column(term), term.startswith("-")
    value, pk = values
    id_after = Q(pk__lt=pk) if last.startswith("-") else Q(pk__gt=pk)
    nullable = bool(getattr(_field(model, column), "null", False))
    if value is None:  # NULLs: first when descending, last when ascending
        same = Q(**{f"{column}__isnull": True}) & id_after
        return [same, Q(**{f"{column}__isnull": False})] if desc else [same]
    if desc:
        parts = [Q(**{f"{column}__lte": value}) & (Q(**{f"{column}__lt": value}) | id_after)]
    else:
        parts = [Q(**{f"{column}__gte": value}) & (Q(**{f"{column}__gt": value}) | id_after)]
    if nullable and not desc:
        parts.append(Q(**{f"{column}__isnull": True}))
    return parts


def keyset_rows(rows: Any, ordering: Sequence[str], cursor: Cursor, size: int) -> list[Any]:
    """The ``size`` rows after (or before) ``cursor``; ``[]`` when the cursor does not fit
    ``ordering`` (the caller reads the page by offset)."""
    if tuple(cursor.ordering) != tuple(ordering):
        return []
    scan = reversed_ordering(ordering) if cursor.before else tuple(ordering)
    parts = keyset_parts(_model(rows), scan, cursor.values)
    if parts is None:
        return []
    if isinstance(rows, MergedByAccount):
        found = rows.merged(parts=parts, ordering=scan, start=0, stop=size)
    else:
        found = list(rows.filter(reduce(operator.or_, parts)).order_by(*scan)[:size])
    return found[::-1] if cursor.before else found


class MergedByAccount(Generic[M]):
    """A sliceable list of ``base`` rows in ``ordering``, merged from per-account index scans.

    ``ordering`` must end with a unique column (``-id``) so pages are stable; ``load`` turns a
    queryset of the page's primary keys into the rows to show (``select_related`` etc.).
    """

    def __init__(
        self,
        base: QuerySet[M],
        *,
        account_ids: Sequence[int],
        ordering: Sequence[str],
        load: Callable[[QuerySet[M]], QuerySet[M]],
    ) -> None:
        self.base = base.order_by()
        self.account_ids = list(account_ids)
        self.ordering = list(ordering)
        self.load = load
        self.columns = [c for c in (f.lstrip("-") for f in self.ordering) if c not in ("id", "pk")]

    def count(self) -> int:  # used only when no count_qs is given
        return self.base.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[M]:
        if not isinstance(item, slice):
            raise TypeError("MergedByAccount supports slices only")
        start, stop = item.start or 0, item.stop
        if stop is None or stop <= start or not self.account_ids:
            return []
        return self.merged(parts=[Q()], ordering=self.ordering, start=start, stop=stop)

    def merged(
        self, *, parts: Sequence[Q], ordering: Sequence[str], start: int, stop: int
    ) -> list[M]:
        """Rows ``start:stop`` of ``base`` narrowed to any of ``parts`` (disjoint filters), in
        ``ordering``: the first ``stop`` rows of every (account, part) by its index, merged."""
        ordering = list(ordering)
        narrowed = self.base.filter(reduce(operator.or_, parts))
        if not connection.features.supports_slicing_ordering_in_compound:
            # SQLite (the embedded demo) cannot LIMIT inside a UNION: one ordered scan instead.
            scan = narrowed.filter(account_id__in=self.account_ids).order_by(*ordering)
            return self._page(list(scan.values_list("pk", flat=True)[start:stop]))
        scans = [
            self.base.filter(part, account_id=account_id)
            .order_by(*ordering)
            .values_list("pk", *self.columns)[:stop]
            for account_id in self.account_ids
            for part in parts
        ]
        merged = scans[0].union(*scans[1:], all=True) if len(scans) > 1 else scans[0]
        page = merged.order_by(*self._union_ordering(ordering))[start:stop]
        sql, params = page.query.sql_with_params()
        # One query: the page's rows by primary key, the merge as their ``IN`` subquery.
        # (``sql`` is Django's own compiled query, its values in ``params``.)
        ids = RawSQL(f"SELECT merged.pk FROM ({sql}) AS merged", params)  # noqa: S608, S611
        model = self.base.model
        return list(self.load(model._default_manager.filter(pk__in=ids)).order_by(*ordering))

    def _page(self, ids: list[Any]) -> list[M]:
        model = self.base.model
        rows = {row.pk: row for row in self.load(model._default_manager.filter(pk__in=ids))}
        return [rows[pk] for pk in ids if pk in rows]

    def _union_ordering(self, ordering: Sequence[str]) -> list[str]:
        """The ordering expressed on the union's columns (``pk`` is selected as ``id``)."""
        return [f.replace("pk", "id") for f in ordering]


class ILike(Lookup):
    """``column ILIKE '%text%'`` (Django's ``icontains`` wraps both sides in ``UPPER()``, which
    keeps PostgreSQL from using a ``gin_trgm_ops`` index on the column)."""

    lookup_name = "ilike_contains"

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor != "postgresql":  # SQLite's LIKE ignores ASCII case already
            return f"{lhs} LIKE {rhs} ESCAPE '\\'", (*lhs_params, *rhs_params)
        return f"{lhs} ILIKE {rhs}", (*lhs_params, *rhs_params)


def contains(column: str, text: str) -> ILike:
    """A filter expression: ``column`` contains ``text``, case-insensitively (index-friendly)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return ILike(F(column), f"%{escaped}%")
