"""Celery tasks of the mirror: one task per (account, resource), taking ids.

- Unlinked / re-authorisation-required accounts are skipped (``accounts_for_sync``).
- Transient Allegro errors (429, 5xx, timeouts, dropped connections) retry a bounded number of
  times with backoff; permanent errors are recorded on the ``SyncState`` and not retried.
- A slice that runs out of time enqueues the next slice; a killed worker's slice is resumed by
  the next run (checkpoints are committed with the rows).
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import Retry

from accounts.models import AllegroAccount
from accounts.selectors import accounts_for_sync
from allegro import errors
from mirror.models import Resource
from mirror.services import Outcome, sync_run

log = logging.getLogger(__name__)
MAX_RETRIES = 5


def _backoff(retries: int, exc: errors.TransientError) -> float:
    if isinstance(exc, errors.RateLimited):
        return max(float(exc.retry_after), 1.0)
    return float(min(300, 10 * 2**retries))


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True, ignore_result=True)
def sync_resource(self: object, account_id: int, resource: str) -> str:
    """Sync ``resource`` of account ``account_id`` (one slice; continues itself)."""
    task = self  # celery binds the task instance
    account: AllegroAccount | None = accounts_for_sync().filter(pk=account_id).first()
    if account is None:
        return "skipped"
    Resource(resource)  # unknown names fail loudly
    try:
        outcome = sync_run(account=account, resource=resource)
    except errors.TransientError as exc:
        retries = int(getattr(task.request, "retries", 0))  # type: ignore[attr-defined]
        if retries >= MAX_RETRIES:
            log.warning("sync %s/%s gave up after %s retries", account_id, resource, retries)
            return "failed"
        raise task.retry(exc=exc, countdown=_backoff(retries, exc)) from exc  # type: ignore[attr-defined]
    except errors.PermanentError as exc:
        log.warning("sync %s/%s failed: %s", account_id, resource, type(exc).__name__)
        return "failed"
    except Retry:
        raise
    if outcome == Outcome.CONTINUE:
        sync_resource.delay(account_id, resource)
    return str(outcome)


@shared_task(ignore_result=True)
def sync_all(resource: str) -> int:
    """Beat entry point: queue ``resource`` for every account that may sync."""
    Resource(resource)
    ids = list(accounts_for_sync().values_list("pk", flat=True))
    for account_id in ids:
        sync_resource.delay(account_id, resource)
    return len(ids)
