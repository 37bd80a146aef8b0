"""Token lifecycle: encrypted storage, refresh ahead of expiry, single-flight across processes.

Allegro's refresh tokens are single-use: two workers refreshing the same account at once would
leave one of them holding a dead token and the account broken. So a refresh happens only under
a row lock on the account's ``AccountToken`` (``SELECT ... FOR UPDATE``), after re-reading the
row: the first worker refreshes and commits the rotated pair, every worker that waited on the
lock finds a fresh token and uses it. ``invalid_grant`` (or ``ALLEGRO_REFRESH_MAX_FAILURES``
failures in a row) marks the account ``reauth_required``: it drops out of scheduled work until a
manager links it again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import crypto
from accounts.allegro_setup import oauth_client
from accounts.audit import audit_log
from accounts.models import AccountStatus, AccountToken, AllegroAccount
from allegro import errors
from allegro.oauth import InvalidGrant, OAuthError, TokenPair

logger = logging.getLogger(__name__)


class AccountNotUsable(errors.PermanentError):
    """The account cannot call Allegro: unlinked, or waiting for re-authorisation."""

    def __init__(self, message: str, *, account_id: int, status: str) -> None:
        super().__init__(message)
        self.account_id = account_id
        self.account_status = status


@dataclass(frozen=True, kw_only=True)
class AccessToken:
    value: str
    expires_at: datetime
    stale_at: datetime  # refresh from this instant on

    def __repr__(self) -> str:
        return f"AccessToken(expires_at={self.expires_at.isoformat()})"


def token_store(*, account: AllegroAccount, pair: TokenPair) -> AccountToken:
    """Encrypt and save ``pair`` as the account's token (replacing any previous one)."""
    token, _ = AccountToken.objects.update_or_create(
        account=account,
        defaults={
            "access_token_ciphertext": crypto.encrypt(pair.access_token),
            "refresh_token_ciphertext": crypto.encrypt(pair.refresh_token)
            if pair.refresh_token
            else "",
            "expires_at": pair.expires_at,
            "scopes": " ".join(pair.scopes),
            "refreshed_at": timezone.now(),
            "refresh_failures": 0,
        },
    )
    return token


def token_delete(*, account: AllegroAccount) -> int:
    deleted, _ = AccountToken.objects.filter(account=account).delete()
    return deleted


def _margin() -> timedelta:
    return timedelta(seconds=int(settings.ALLEGRO_TOKEN_REFRESH_MARGIN))


def _stale_at(*, expires_at: datetime, issued_at: datetime | None) -> datetime:
    """``expires_at`` minus the refresh margin, the margin capped at half the token's lifetime
    (so a margin longer than the lifetime cannot make every call refresh)."""
    margin = _margin()
    if issued_at is not None and expires_at > issued_at:
        margin = min(margin, (expires_at - issued_at) / 2)
    return expires_at - margin


def _is_stale(row: AccountToken, *, now: datetime) -> bool:
    return _stale_at(expires_at=row.expires_at, issued_at=row.refreshed_at) <= now


def _ensure_usable(row: AccountToken) -> None:
    account = row.account
    if account.status != AccountStatus.ACTIVE:
        raise AccountNotUsable(
            f"Allegro account {account.pk} is {account.status}",
            account_id=account.pk,
            status=account.status,
        )


def _load(account_id: int, *, lock: bool) -> AccountToken:
    queryset = AccountToken.objects.select_related("account")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    row = queryset.filter(account_id=account_id).first()
    if row is None:
        status = (
            AllegroAccount.objects.filter(pk=account_id).values_list("status", flat=True).first()
        )
        raise AccountNotUsable(
            f"Allegro account {account_id} has no token (link it first)",
            account_id=account_id,
            status=str(status or AccountStatus.UNLINKED),
        )
    return row


def _access_of(row: AccountToken) -> AccessToken:
    try:
        value = crypto.decrypt(row.access_token_ciphertext)
    except crypto.DecryptionFailed as exc:
        raise AccountNotUsable(
            "the stored token cannot be decrypted with FIELD_ENCRYPTION_KEYS",
            account_id=row.account_id,
            status=row.account.status,
        ) from exc
    stale_at = _stale_at(expires_at=row.expires_at, issued_at=row.refreshed_at)
    return AccessToken(value=value, expires_at=row.expires_at, stale_at=stale_at)


def token_access_for(*, account_id: int, reject: str | None = None) -> AccessToken:
    """A usable access token for the account, refreshed (single-flight) when stale.

    ``reject`` is a token Allegro answered 401 to: it is replaced even if not yet expired.
    """
    row = _load(account_id, lock=False)
    _ensure_usable(row)
    current = _access_of(row)
    if not _is_stale(row, now=timezone.now()) and current.value != reject:
        return current
    return _refresh_single_flight(account_id=account_id, reject=reject)


def _refresh_single_flight(*, account_id: int, reject: str | None) -> AccessToken:
    failure: errors.AllegroError | None = None
    with transaction.atomic():
        row = _load(account_id, lock=True)  # waits for a refresh in progress elsewhere
        # PostgreSQL re-reads only the locked row after a wait, not the joined account: read
        # the account again, another worker may have marked it reauth_required meanwhile.
        row.account.refresh_from_db(fields=["status"])
        _ensure_usable(row)
        current = _access_of(row)
        if not _is_stale(row, now=timezone.now()) and current.value != reject:
            return current  # another worker refreshed while we waited for the lock
        try:
            pair = _call_refresh(row)
        except errors.AllegroError as exc:
            failure = _record_refresh_failure(row, exc)
        else:
            row = token_store(account=row.account, pair=pair)
            return _access_of(row)
    assert failure is not None
    raise failure


def _call_refresh(row: AccountToken) -> TokenPair:
    if not row.refresh_token_ciphertext:
        raise InvalidGrant("no refresh token stored", error="invalid_grant")
    try:
        refresh_token = crypto.decrypt(row.refresh_token_ciphertext)
    except crypto.DecryptionFailed as exc:
        raise InvalidGrant("stored refresh token is undecryptable", error="invalid_grant") from exc
    pair = oauth_client().refresh(refresh_token=refresh_token)
    if pair.refresh_token is None:  # keep the old one when Allegro does not rotate it
        pair = TokenPair(
            access_token=pair.access_token,
            refresh_token=refresh_token,
            expires_at=pair.expires_at,
            scopes=pair.scopes,
            trace_id=pair.trace_id,
        )
    return pair


def _record_refresh_failure(row: AccountToken, exc: errors.AllegroError) -> errors.AllegroError:
    """Count the failure; mark the account after ``invalid_grant`` or too many in a row.

    Returns the error for the caller: ``AccountNotUsable`` once the account needs re-linking
    after ``invalid_grant``, else the original error.
    """
    row.refresh_failures += 1
    row.save(update_fields=["refresh_failures", "updated_at"])
    permanent = isinstance(exc, InvalidGrant)
    limit = int(settings.ALLEGRO_REFRESH_MAX_FAILURES)
    logger.warning(
        "token refresh for Allegro account %s failed (%s, %d in a row, trace %s)",
        row.account_id,
        type(exc).__name__,
        row.refresh_failures,
        exc.trace_id,
    )
    if permanent or row.refresh_failures >= limit:
        reason = (
            "Allegro rejected the refresh token (invalid_grant)"
            if permanent
            else f"token refresh failed {row.refresh_failures} times in a row"
        )
        account_mark_reauth_required(account=row.account, reason=reason, trace_id=exc.trace_id)
        if permanent:
            return AccountNotUsable(
                f"Allegro account {row.account_id} needs re-authorisation ({reason})",
                account_id=row.account_id,
                status=AccountStatus.REAUTH_REQUIRED,
            )
    elif isinstance(exc, OAuthError):
        logger.error("token endpoint refused the refresh: %s", exc.error or type(exc).__name__)
    return exc


def account_mark_reauth_required(
    *, account: AllegroAccount, reason: str, trace_id: str | None = None
) -> AllegroAccount:
    """Stop using the account until it is linked again; staff see a banner."""
    before = account.status
    now = timezone.now()
    AllegroAccount.objects.filter(pk=account.pk).update(
        status=AccountStatus.REAUTH_REQUIRED, last_error=reason, last_error_at=now, updated_at=now
    )
    account.status = AccountStatus.REAUTH_REQUIRED
    account.last_error, account.last_error_at = reason, now
    if before != AccountStatus.REAUTH_REQUIRED:
        audit_log(
            actor=None,
            account=account,
            action="account.reauth_required",
            target=f"allegro_account:{account.pk}",
            before={"status": before},
            after={"status": AccountStatus.REAUTH_REQUIRED, "reason": reason},
            allegro_trace_id=trace_id,
        )
    return account


class AccountTokenSource:
    """``allegro.transport.TokenSource`` for one account, backed by ``AccountToken``.

    Keeps the current access token in memory until it nears expiry, so most requests touch no
    database; a refresh goes through the row-locked single flight above.
    """

    def __init__(self, *, account_id: int) -> None:
        self.account_id = account_id
        self._lock = threading.Lock()
        self._current: AccessToken | None = None
        self._rejected: str | None = None

    def __repr__(self) -> str:
        return f"AccountTokenSource(account_id={self.account_id})"

    def get_access_token(self) -> str:
        with self._lock:
            current = self._current
            if current is not None and current.stale_at > timezone.now():
                return current.value
            fresh = token_access_for(account_id=self.account_id, reject=self._rejected)
            self._current, self._rejected = fresh, None
            return fresh.value

    def invalidate(self, token: str) -> None:
        with self._lock:
            self._rejected = token
            self._current = None
