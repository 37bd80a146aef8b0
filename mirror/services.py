"""Mirror orchestration: run one resource of one account under its lock, start initial syncs.

Tasks (``mirror.tasks``) call :func:`sync_run`; the linking flow calls
:func:`sync_start_initial` (it enqueues on commit).
"""

from __future__ import annotations

import logging
from enum import StrEnum
from functools import partial

from celery import current_app
from django.db import transaction

from accounts.models import AllegroAccount
from accounts.services import allegro_client_for
from allegro.client import AllegroClient
from mirror.locks import sync_lock
from mirror.models import Resource, SyncStatus
from mirror.passes import Deadline, setting
from mirror.progress import record_error, run_begin, run_end, state_for
from mirror.registry import lane_for, pass_for

log = logging.getLogger(__name__)
SYNC_TASK = "mirror.tasks.sync_resource"

INITIAL_RESOURCES = (
    Resource.OFFERS,
    Resource.ORDERS,
    Resource.RATINGS,
    Resource.ISSUES,
    Resource.RETURN_POLICIES,
    Resource.WARRANTIES,
    Resource.RETURNS,
    Resource.REFUNDS,
    Resource.REFUND_CLAIMS,
    Resource.THREADS,
    Resource.BILLING,
)
# Resources that write the same rows share one lock, so a pass never overwrites newer data
# another pass wrote meanwhile.
LOCK_GROUP = {
    Resource.OFFERS: Resource.OFFERS,
    Resource.OFFER_EVENTS: Resource.OFFERS,
    Resource.OFFER_DETAILS: Resource.OFFERS,
    Resource.ORDERS: Resource.ORDERS,
    Resource.ORDER_EVENTS: Resource.ORDERS,
    Resource.RECONCILIATION: Resource.ORDERS,
    # Its own group, so the backfill never holds back the order events; it writes only the
    # waybills of orders it reads and never overwrites a newer read (orders.flows).
    Resource.WAYBILL_BACKFILL: Resource.WAYBILL_BACKFILL,
    Resource.RATINGS: Resource.RATINGS,
    Resource.ISSUES: Resource.ISSUES,
    Resource.RETURN_POLICIES: Resource.RETURN_POLICIES,
    Resource.WARRANTIES: Resource.WARRANTIES,
    # refunds finish returns: one lock for both
    Resource.RETURNS: Resource.RETURNS,
    Resource.REFUNDS: Resource.RETURNS,
    Resource.REFUND_CLAIMS: Resource.REFUND_CLAIMS,
    Resource.THREADS: Resource.THREADS,
    Resource.BILLING: Resource.BILLING,
}


class Outcome(StrEnum):
    DONE = "done"
    CONTINUE = "continue"  # the slice ran out: enqueue the next one
    LOCKED = "locked"  # another run of the same (account, resource) holds the lock


def sync_run(
    *,
    account: AllegroAccount,
    resource: str,
    client: AllegroClient | None = None,
    slice_seconds: float | None = None,
) -> Outcome:
    """Run one slice of ``resource`` for ``account`` under the (account, resource) lock.

    Allegro errors propagate (the task decides: retry transient, record permanent) after being
    recorded on the ``SyncState`` and in the run log.
    """
    flow = pass_for(resource)
    seconds = (
        slice_seconds if slice_seconds is not None else setting("MIRROR_TASK_SLICE_SECONDS", 150)
    )
    with sync_lock(account_id=account.pk, resource=LOCK_GROUP[Resource(resource)]) as acquired:
        if not acquired:
            log.info("sync %s of account %s already running: skipped", resource, account.pk)
            return Outcome.LOCKED
        run = run_begin(account=account, resource=resource)
        try:
            finished = flow(
                account=account,
                client=client or allegro_client_for(account=account, lane=lane_for(resource)),
                deadline=Deadline.after(seconds),
            )
        except Exception as exc:
            record_error(account=account, resource=resource, error=exc)
            run_end(run=run, ok=False, error=f"{type(exc).__name__}: {exc}")
            raise
        state = state_for(account=account, resource=resource)
        run_end(run=run, ok=True, rows=state.fetched, repairs=state.repairs)
    return Outcome.DONE if finished else Outcome.CONTINUE


def sync_start_initial(*, account: AllegroAccount) -> None:
    """Queue the initial sync of every resource (on commit of the caller's transaction)."""
    with transaction.atomic():
        for resource in INITIAL_RESOURCES:
            state = state_for(account=account, resource=resource)
            if state.status != SyncStatus.RUNNING:
                state.status = SyncStatus.PENDING
                state.save(update_fields=["status", "updated_at"])
            # By name: the tasks module imports this one.
            transaction.on_commit(
                partial(current_app.send_task, SYNC_TASK, args=[account.pk, str(resource)])
            )
