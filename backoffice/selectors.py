"""The dashboard: what needs doing today, per account and in total, and how the sync is doing.

A fixed number of queries whatever the number of accounts: one per kind of count, each grouped
by account and answered from an index (``orders.models`` keeps partial indexes for the orders to
ship and the quarantined ones). Each count comes with the link to the list filtered to exactly
the rows counted: the list filters and the counts share their conditions
(``orders.models.TO_SHIP`` / ``UNPAID``, ``offers.selectors.offers_ended_since``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import AccountStatus, AllegroAccount
from aftersales.inbox import disputes_waiting, ratings_waiting
from aftersales.models import Dispute, Rating
from mirror.models import Resource, SyncState, SyncStatus
from offers.models import Offer
from offers.selectors import offers_ended_since
from orders.models import TO_SHIP, UNPAID, Order
from ui.paging import COUNT_CAP, Accounts


def ratings_awaiting_answer(*, accounts: Accounts) -> QuerySet[Rating]:
    """The inbox's ratings (``aftersales.inbox``: one definition for both)."""
    return ratings_waiting(accounts=accounts)


def disputes_awaiting_seller(*, accounts: Accounts) -> QuerySet[Dispute]:
    """The inbox's disputes and claims (``aftersales.inbox``: one definition for both)."""
    return disputes_waiting(accounts=accounts)


@dataclass(frozen=True)
class Cell:
    """One number of the dashboard and the list showing exactly those rows (``None``: no list
    shows them yet). Above ``COUNT_CAP`` the number is a lower bound (``capped``)."""

    value: int
    url: str | None
    capped: bool = False

    @classmethod
    def of(cls, value: int, url: str | None) -> Cell:
        return cls(min(value, COUNT_CAP), url, capped=value > COUNT_CAP)


@dataclass(frozen=True)
class TodayRow:
    """The day's work of one account, or of all of them (``account`` is ``None``)."""

    account: AllegroAccount | None
    cells: dict[str, Cell]


@dataclass(frozen=True)
class Metric:
    key: str
    label: Promise
    list_url: str | None  # URL name of the list it links to
    params: dict[str, str | list[str]]


def _metrics(since: date) -> list[Metric]:
    return [
        Metric("to_ship", _("To ship"), "orders:index", {"to_ship": "1"}),
        Metric("overdue", _("Dispatch overdue"), "orders:index", {"overdue": "1"}),
        Metric("unpaid", _("Unpaid"), "orders:index", {"unpaid": "1"}),
        Metric("quarantined", _("In quarantine"), "orders:index", {"quarantined": "1"}),
        Metric(
            "offers_ended",
            _("Offers ended or sold out since yesterday"),
            "offers:index",
            {"ended_since": since.isoformat()},
        ),
        # The after-sales inbox's definition (``aftersales.inbox``), linked to the inbox filtered.
        Metric(
            "ratings", _("Ratings waiting for an answer"), "aftersales:index", {"kind": "rating"}
        ),
        Metric(
            "disputes",
            _("Disputes and claims waiting for you"),
            "aftersales:index",
            {"kind": ["dispute", "claim"]},
        ),
    ]


# Resources shown on the dashboard's sync health, each with the passes that keep it current.
HEALTH_GROUPS: tuple[tuple[str, Promise, tuple[str, ...]], ...] = (
    ("offers", _("Offers"), (Resource.OFFERS, Resource.OFFER_EVENTS, Resource.OFFER_DETAILS)),
    ("orders", _("Orders"), (Resource.ORDERS, Resource.ORDER_EVENTS, Resource.RECONCILIATION)),
    ("ratings", _("Ratings"), (Resource.RATINGS,)),
    ("issues", _("Disputes"), (Resource.ISSUES,)),
    ("return_policies", _("Return policies"), (Resource.RETURN_POLICIES,)),
)


@dataclass(frozen=True)
class ResourceHealth:
    key: str
    label: Promise
    last_success_at: datetime | None
    error: str  # the newest error not followed by a success, else empty
    error_at: datetime | None
    running: bool


@dataclass(frozen=True)
class AccountHealth:
    account: AllegroAccount
    resources: list[ResourceHealth]
    account_error: str  # the account's last API error, when no call succeeded since

    @property
    def needs_reauth(self) -> bool:
        return self.account.status == AccountStatus.REAUTH_REQUIRED

    @property
    def unlinked(self) -> bool:
        return self.account.status == AccountStatus.UNLINKED

    @property
    def has_errors(self) -> bool:
        return bool(self.account_error) or any(r.error for r in self.resources)


@dataclass(frozen=True)
class Dashboard:
    accounts: list[AllegroAccount]
    metrics: list[Metric]
    rows: list[TodayRow]
    total: TodayRow
    health: list[AccountHealth] = field(default_factory=list)
    since: date | None = None


class _CappedCount(Subquery):
    """``SELECT COUNT(*) FROM (<rows> LIMIT n)``: bounded work however many rows match."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"
    output_field = IntegerField()


def _count(qs: QuerySet[Any]) -> _CappedCount:
    """How many of ``qs``'s rows belong to the outer query's account, counted exactly up to
    ``COUNT_CAP`` and one more above it (shown as "1000+", as the lists estimate beyond it).
    Each count walks an index that starts with the account: a correlated subquery per account
    reads at most ``COUNT_CAP + 1`` index entries."""
    rows = qs.filter(account_id=OuterRef("pk")).order_by().values("account_id")
    return _CappedCount(rows[: COUNT_CAP + 1])


def _counted(
    accounts: QuerySet[AllegroAccount], *, now: datetime, since: datetime
) -> list[AllegroAccount]:
    """The accounts, each annotated with every metric's count: one query in all."""
    to_ship = Order.objects.filter(TO_SHIP)
    return list(
        accounts.order_by("login", "id").annotate(
            count_to_ship=_count(to_ship),
            count_overdue=_count(to_ship.filter(dispatch_by__lt=now)),
            count_unpaid=_count(Order.objects.filter(UNPAID)),
            count_quarantined=_count(Order.objects.filter(quarantined=True)),
            count_offers_ended=_count(Offer.objects.filter(offers_ended_since(since=since))),
            count_ratings=_count(ratings_waiting(accounts=None, now=now)),
            count_disputes=_count(disputes_waiting(accounts=None, now=now)),
        )
    )


def _link(metric: Metric, account: AllegroAccount | None) -> str | None:
    if metric.list_url is None:
        return None
    params = {"account": str(account.pk)} if account is not None else {}
    return f"{reverse(metric.list_url)}?{urlencode({**params, **metric.params}, doseq=True)}"


def _health(accounts: Sequence[AllegroAccount], states: Iterable[SyncState]) -> list[AccountHealth]:
    by_account: dict[int, dict[str, SyncState]] = {a.pk: {} for a in accounts}
    for state in states:
        by_account[state.account_id][state.resource] = state
    health = []
    for account in accounts:
        resources = []
        for key, label, members in HEALTH_GROUPS:
            found = [by_account[account.pk][r] for r in members if r in by_account[account.pk]]
            successes = [s.last_success_at for s in found if s.last_success_at]
            failing = [s for s in found if _failing(s)]
            newest = max(failing, key=lambda s: s.last_error_at or s.updated_at, default=None)
            resources.append(
                ResourceHealth(
                    key=key,
                    label=label,
                    last_success_at=max(successes, default=None),
                    error=(newest.last_error or str(_("Failed"))) if newest else "",
                    error_at=newest.last_error_at if newest else None,
                    running=any(s.status == SyncStatus.RUNNING for s in found),
                )
            )
        account_error = ""
        if account.last_error and (
            account.last_success_at is None
            or (account.last_error_at and account.last_error_at > account.last_success_at)
        ):
            account_error = account.last_error
        health.append(
            AccountHealth(account=account, resources=resources, account_error=account_error)
        )
    return health


def _failing(state: SyncState) -> bool:
    """Failed, or an error newer than the last success (a retry may be under way)."""
    if state.status == SyncStatus.FAILED:
        return True
    if not state.last_error or state.last_error_at is None:
        return False
    return state.last_success_at is None or state.last_error_at > state.last_success_at


def dashboard_for(*, accounts: QuerySet[AllegroAccount], now: datetime | None = None) -> Dashboard:
    """The dashboard of ``accounts`` (from ``accounts.selectors.accounts_in_scope``).

    "Since yesterday" starts at midnight of the previous day in the site's time zone.
    """
    now = now or timezone.now()
    yesterday = timezone.localdate(now) - timedelta(days=1)
    since = timezone.make_aware(datetime.combine(yesterday, time.min))
    shown = _counted(accounts, now=now, since=since)
    metrics = _metrics(yesterday)
    rows = [
        TodayRow(
            account=account,
            cells={
                m.key: Cell.of(getattr(account, f"count_{m.key}"), _link(m, account))
                for m in metrics
            },
        )
        for account in shown
    ]
    total = TodayRow(
        account=None,
        cells={
            m.key: Cell(
                sum(row.cells[m.key].value for row in rows),
                _link(m, None),
                capped=any(row.cells[m.key].capped for row in rows),
            )
            for m in metrics
        },
    )
    ids = [a.pk for a in shown]
    states = SyncState.objects.filter(account_id__in=ids) if ids else []
    return Dashboard(
        accounts=shown,
        metrics=metrics,
        rows=rows,
        total=total,
        health=_health(shown, states),
        since=yesterday,
    )
