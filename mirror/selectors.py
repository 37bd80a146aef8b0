"""Read side of the mirror's bookkeeping (progress for the Accounts page, quarantine list)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import AllegroAccount
from mirror.models import QuarantinedOrder, Resource, SyncState, SyncStatus
from mirror.progress import eta_seconds

SHOWN = (
    Resource.OFFERS,
    Resource.ORDERS,
    Resource.WAYBILL_BACKFILL,
    Resource.RATINGS,
    Resource.ISSUES,
    Resource.RETURN_POLICIES,
    Resource.WARRANTIES,
    Resource.ORDER_EVENTS,
    Resource.OFFER_EVENTS,
    Resource.OFFER_DETAILS,
    Resource.RECONCILIATION,
)


@dataclass(frozen=True)
class ProgressRow:
    resource: str
    label: str
    state: SyncState | None
    percent: int | None
    eta_seconds: int | None

    @property
    def running(self) -> bool:
        return self.state is not None and self.state.status == SyncStatus.RUNNING


def sync_progress_for(*, account: AllegroAccount) -> list[ProgressRow]:
    """One row per resource, in display order (resources never synced have no state)."""
    return _progress_rows({s.resource: s for s in SyncState.objects.filter(account=account)})


def sync_progress_for_accounts(
    *, accounts: Sequence[AllegroAccount]
) -> dict[int, list[ProgressRow]]:
    """``sync_progress_for`` of several accounts in one query, keyed by account id."""
    states: dict[int, dict[str, SyncState]] = {account.pk: {} for account in accounts}
    for state in SyncState.objects.filter(account__in=list(states)):
        states[state.account_id][state.resource] = state
    return {account_id: _progress_rows(by_resource) for account_id, by_resource in states.items()}


def _progress_rows(states: dict[str, SyncState]) -> list[ProgressRow]:
    rows = []
    for resource in SHOWN:
        state = states.get(resource)
        percent = None
        if state is not None and state.total:
            percent = min(100, round(100 * state.fetched / state.total))
        eta = eta_seconds(state) if state is not None else None
        rows.append(
            ProgressRow(
                resource=resource,
                label=str(Resource(resource).label),
                state=state,
                percent=percent,
                eta_seconds=None if eta is None else round(eta),
            )
        )
    return rows


def quarantined_orders_for(*, account: AllegroAccount) -> QuerySet[QuarantinedOrder]:
    return QuarantinedOrder.objects.filter(
        account=account, resolved_at__isnull=True, quarantined_at__isnull=False
    ).order_by("-last_failed_at")


def quarantined_orders_for_accounts(
    *, accounts: Sequence[AllegroAccount], per_account: int
) -> dict[int, list[QuarantinedOrder]]:
    """The newest ``per_account`` quarantined orders of each account, in one query."""
    found: dict[int, list[QuarantinedOrder]] = {account.pk: [] for account in accounts}
    rows = QuarantinedOrder.objects.filter(
        account__in=list(found), resolved_at__isnull=True, quarantined_at__isnull=False
    ).order_by("account_id", "-last_failed_at")
    for row in rows:
        if len(found[row.account_id]) < per_account:
            found[row.account_id].append(row)
    return found
