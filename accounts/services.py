"""State changes for accounts: the audit log, role checks, the account switcher, and the Allegro
client for an account (linking itself is in ``accounts.linking``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.allegro_setup import allegro_endpoints, process_governor, retry_policy
from accounts.audit import audit_log
from accounts.clients import AccountAllegroClient
from accounts.models import AccountStatus, AllegroAccount, Role
from accounts.selectors import (
    SCOPE_SESSION_KEY,
    account_get_for_user,
    account_role_for,
)
from accounts.tokens import AccountNotUsable, AccountTokenSource, token_delete
from allegro.governor import Lane

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def account_require_role(
    *, user: AbstractBaseUser | AnonymousUser, account: AllegroAccount, role: Role
) -> Role:
    """Return the user's role, or raise ``PermissionDenied`` (403) if it is below ``role``.

    Callers get ``account`` through a selector first, so "no grant at all" is already a 404.
    """
    current = account_role_for(user=user, account=account)
    if current is None or current < role:
        raise PermissionDenied("Your role on this account does not allow this action.")
    return current


class AccountReadOnly(PermissionDenied):
    """A write asked for on an unlinked account: its mirrored data is kept read-only."""

    def __init__(self, account: AllegroAccount) -> None:
        self.account = account
        super().__init__(
            _(
                "Allegro account %(login)s is unlinked: its data is read-only here. "
                "Link it again to make changes."
            )
            % {"login": account.login}
        )


def account_require_writable(*, account: AllegroAccount) -> None:
    """Raise ``AccountReadOnly`` (a 403) for an unlinked account; services call it before any
    write, views use ``account.status`` only to hide the forms."""
    if account.status == AccountStatus.UNLINKED:
        raise AccountReadOnly(account)


def account_scope_set(
    *, request: HttpRequest, account_id: int | str | None
) -> AllegroAccount | None:
    """Point the account switcher at one visible account, or at all (``None``/empty)."""
    if account_id in (None, ""):
        request.session[SCOPE_SESSION_KEY] = None
        return None
    assert account_id is not None
    account = account_get_for_user(user=request.user, account_id=account_id)
    request.session[SCOPE_SESSION_KEY] = account.pk
    return account


# --- Allegro: the client for an account, linking, unlinking ----------------------------------


def allegro_client_for(*, account: AllegroAccount, lane: Lane = Lane.STAFF) -> AccountAllegroClient:
    """The only way an app gets an Allegro client for ``account``.

    ``lane`` is the rate governor's priority lane: ``staff`` (the default: services called from
    views and staff jobs), ``sync`` (the mirror's scheduled passes) or ``backfill`` (work
    nobody waits for).

    Wires the account's token source (encrypted tokens, row-locked single-flight refresh), the
    process-wide rate governor and the pooled transport; calls record ``last_success_at`` /
    ``last_error`` on the account. Raises ``AccountNotUsable`` for an account that is unlinked
    or waiting for re-authorisation.
    """
    if account.status != AccountStatus.ACTIVE:
        raise AccountNotUsable(
            f"Allegro account {account.pk} is {account.status}",
            account_id=account.pk,
            status=account.status,
        )
    return AccountAllegroClient(
        allegro_endpoints().api_url,
        AccountTokenSource(account_id=account.pk),
        process_governor(),
        account_id=account.pk,
        account_key=f"account:{account.pk}",
        lane=lane,
        retry=retry_policy(),
    )


@transaction.atomic
def account_unlink(
    *, account: AllegroAccount, actor: AbstractBaseUser | AnonymousUser
) -> AllegroAccount:
    """Delete the account's tokens and mark it unlinked; its mirrored data stays (read-only)."""
    before = account.status
    token_delete(account=account)
    account.status = AccountStatus.UNLINKED
    account.save(update_fields=["status", "updated_at"])
    audit_log(
        actor=actor,
        account=account,
        action="account.unlinked",
        target=f"allegro_account:{account.pk}",
        before={"status": before},
        after={"status": account.status},
    )
    return account


def account_delete(*, account: AllegroAccount, actor: AbstractBaseUser | AnonymousUser) -> None:
    """Delete the account with its tokens, grants and mirrored data (admin, after confirmation)."""
    audit_log(
        actor=actor,
        account=None,
        action="account.deleted",
        target=f"allegro_account:{account.pk}",
        before={"login": account.login, "allegro_user_id": account.allegro_user_id},
        after=None,
    )
    account.delete()
