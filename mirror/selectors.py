"""Read side of the mirror's bookkeeping (progress for the Accounts page, quarantine list)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import AllegroAccount
from mirror.models import QuarantinedOrder, Resource, SyncState, SyncStatus
from mirror.progress import eta_seconds

SHOWN = (
    Resource.OFFERS,
    Resource.ORDERS,
    Resource.RATINGS,
    Resource.ISSUES,
    Resource.RETURN_POLICIES,
    Resource.ORDER_EVENTS,
    Resource.OFFER_EVENTS,
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
    states = {s.resource: s for s in SyncState.objects.filter(account=account)}
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
