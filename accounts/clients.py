"""``AccountAllegroClient``: the ``AllegroClient`` an app gets from ``allegro_client_for``.

Adds bookkeeping on the account: ``last_success_at`` and ``last_error`` are written at most once
per ``HEALTH_WRITE_INTERVAL`` per account and process (not a write per request).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.utils import timezone

from accounts.models import AccountStatus, AllegroAccount
from accounts.tokens import AccountNotUsable
from allegro import errors
from allegro.client import AllegroClient
from allegro.transport import ApiResponse

HEALTH_WRITE_INTERVAL = 60.0
# Answers about one object, not about the account's health: not recorded as "last error".
_NOT_ACCOUNT_ERRORS = (
    errors.NotFound,
    errors.Conflict,
    errors.ValidationFailed,
    errors.BadRequest,
    AccountNotUsable,  # already recorded as the account's status
)

_last_writes: dict[tuple[int, str], float] = {}
_last_writes_lock = threading.Lock()


def _due(account_id: int, kind: str) -> bool:
    """True (and remembered) when ``kind`` was not written for the account in the interval."""
    now = time.monotonic()
    with _last_writes_lock:
        last = _last_writes.get((account_id, kind))
        if last is not None and now - last < HEALTH_WRITE_INTERVAL:
            return False
        _last_writes[(account_id, kind)] = now
        return True


def forget_health_writes() -> None:
    """Reset the per-process throttle (tests)."""
    with _last_writes_lock:
        _last_writes.clear()


def record_success(*, account_id: int) -> None:
    if _due(account_id, "success"):
        AllegroAccount.objects.filter(pk=account_id).update(last_success_at=timezone.now())


def record_error(*, account_id: int, error: errors.AllegroError) -> None:
    if isinstance(error, _NOT_ACCOUNT_ERRORS) or not _due(account_id, "error"):
        return
    status = f"HTTP {error.status}" if error.status else type(error).__name__
    message = f"{type(error).__name__} ({status}): {error.user_message}"[:2000]
    # An account that needs linking again keeps the reason it was stopped for: a transient error
    # of a request that was already on its way must not overwrite it.
    AllegroAccount.objects.filter(pk=account_id).exclude(
        status=AccountStatus.REAUTH_REQUIRED
    ).update(last_error=message, last_error_at=timezone.now())


class AccountAllegroClient(AllegroClient):
    """An ``AllegroClient`` bound to one linked account."""

    def __init__(self, api_url: str, *args: Any, account_id: int, **kwargs: Any) -> None:
        super().__init__(api_url, *args, **kwargs)
        self.account_id = account_id

    def __repr__(self) -> str:
        return f"AccountAllegroClient(account_id={self.account_id})"

    def request(self, *args: Any, **kwargs: Any) -> ApiResponse:
        try:
            response = super().request(*args, **kwargs)
        except errors.AllegroError as exc:
            record_error(account_id=self.account_id, error=exc)
            raise
        record_success(account_id=self.account_id)
        return response
