"""SyncState bookkeeping: progress per page, run log, errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import AllegroAccount
from mirror.models import SyncRun, SyncState, SyncStatus


def state_for(*, account: AllegroAccount, resource: str) -> SyncState:
    state, _ = SyncState.objects.get_or_create(account=account, resource=resource)
    return state


def state_locked(*, account: AllegroAccount, resource: str) -> SyncState:
    """The state row locked for update (call inside a transaction)."""
    state_for(account=account, resource=resource)
    return SyncState.objects.select_for_update().get(account=account, resource=resource)


def pass_begin(*, state: SyncState, total: int | None = None, **extra: Any) -> None:
    now = timezone.now()
    state.status = SyncStatus.RUNNING
    state.started_at = now
    state.finished_at = None
    state.fetched = 0
    state.total = total
    state.rate = None
    for key, value in extra.items():
        setattr(state, key, value)
    state.save()


def pass_page(*, state: SyncState, fetched: int, total: int | None, **extra: Any) -> None:
    """Count a committed page (call in the page's transaction)."""
    now = timezone.now()
    state.fetched += fetched
    if total is not None:
        state.total = total
    if state.started_at is not None:
        elapsed = (now - state.started_at).total_seconds()
        state.rate = state.fetched / elapsed if elapsed > 0 else None
    for key, value in extra.items():
        setattr(state, key, value)
    state.save()


def pass_end(*, state: SyncState, **extra: Any) -> None:
    now = timezone.now()
    state.status = SyncStatus.DONE
    state.finished_at = now
    state.last_success_at = now
    state.last_error = ""
    for key, value in extra.items():
        setattr(state, key, value)
    state.save()


def record_success(*, account: AllegroAccount, resource: str, **extra: Any) -> None:
    fields = {"last_success_at": timezone.now(), "last_error": "", **extra}
    SyncState.objects.filter(account=account, resource=resource).update(**fields)


def record_error(*, account: AllegroAccount, resource: str, error: BaseException) -> None:
    """Keep the error on the state (message only: never a token or a header)."""
    message = f"{type(error).__name__}: {error}"[:2000]
    state_for(account=account, resource=resource)
    SyncState.objects.filter(account=account, resource=resource).update(
        last_error=message, last_error_at=timezone.now(), status=SyncStatus.FAILED
    )


def eta_seconds(state: SyncState) -> float | None:
    if not state.rate or state.total is None or state.status != SyncStatus.RUNNING:
        return None
    remaining = max(state.total - state.fetched, 0)
    return remaining / state.rate


def run_begin(*, account: AllegroAccount, resource: str) -> SyncRun:
    return SyncRun.objects.create(account=account, resource=resource, started_at=timezone.now())


def run_end(
    *,
    run: SyncRun,
    ok: bool,
    rows: int = 0,
    repairs: int = 0,
    error: str = "",
    at: datetime | None = None,
) -> None:
    run.finished_at = at or timezone.now()
    run.ok = ok
    run.rows = rows
    run.repairs = repairs
    run.error = error[:2000]
    run.save(update_fields=["finished_at", "ok", "rows", "repairs", "error"])
