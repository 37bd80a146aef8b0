"""Paging for the big staff lists (offers, orders) that stays fast across many accounts.

- :class:`CappedPaginator` counts exactly up to ``COUNT_CAP`` rows (``COUNT(*)`` over a
  ``LIMIT`` subquery, bounded work) and above that shows PostgreSQL's planner estimate, flagged as
  such: an exact ``COUNT(*)`` of a 250 000-row result costs more than the whole page may take.
- :class:`MergedByAccount` pages a result sorted by a column that is indexed per account
  (``(account, column)``): it takes the first ``offset + page`` rows of every account through
  its index and merges them (``UNION ALL`` of per-account ``LIMIT`` subqueries), instead of
  sorting every matching row of all accounts. The page's rows are then loaded by primary key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import F, Lookup, Model, QuerySet

from accounts.models import AllegroAccount

COUNT_CAP = 1000
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
        plan = json.loads(qs.order_by().explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])
    except (ValueError, KeyError, IndexError, TypeError):
        return 0


class CappedPaginator(Paginator):  # type: ignore[type-arg]
    """A paginator whose total is exact up to ``cap`` and estimated above (``estimated``)."""

    def __init__(
        self, object_list: Any, per_page: int, *, count_qs: QuerySet[Any], cap: int = COUNT_CAP
    ) -> None:
        super().__init__(object_list, per_page)
        self.count_qs = count_qs.order_by()
        self.cap = cap
        self.estimated = False

    @cached_property
    def count(self) -> int:
        if connection.vendor != "postgresql":  # no planner estimate to fall back on: count all
            return int(self.count_qs.count())
        exact = self.count_qs[: self.cap + 1].count()
        if exact <= self.cap:
            return exact
        self.estimated = True
        return max(exact, planner_estimate(self.count_qs))


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
        if not connection.features.supports_slicing_ordering_in_compound:
            # SQLite (the embedded demo) cannot LIMIT inside a UNION: one ordered scan instead.
            scan = self.base.filter(account_id__in=self.account_ids).order_by(*self.ordering)
            return self._page(list(scan.values_list("pk", flat=True)[start:stop]))
        parts = [
            self.base.filter(account_id=account_id)
            .order_by(*self.ordering)
            .values_list("pk", *self.columns)[:stop]
            for account_id in self.account_ids
        ]
        merged = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        ids = [row[0] for row in merged.order_by(*self._union_ordering())[start:stop]]
        return self._page(ids)

    def _page(self, ids: list[Any]) -> list[M]:
        model = self.base.model
        rows = {row.pk: row for row in self.load(model._default_manager.filter(pk__in=ids))}
        return [rows[pk] for pk in ids if pk in rows]

    def _union_ordering(self) -> list[str]:
        """The ordering expressed on the union's columns (``pk`` is selected as ``id``)."""
        return [f.replace("pk", "id") for f in self.ordering]


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
