"""Linking an Allegro account: the authorization-code flow with ``state`` and PKCE (S256).

``link_begin`` remembers a flow in the staff member's session (random ``state``, PKCE verifier,
who started it, when, and which account is being re-linked) and returns Allegro's authorization
URL. ``link_complete`` (the callback) accepts a ``state`` once, only from the same staff member
and only within ``ALLEGRO_LINK_STATE_TTL`` seconds, exchanges the code, asks ``GET /me`` who the
seller is, and only then writes anything: the account (created, or updated by
``(environment, allegro_user_id)``), its encrypted tokens, a manager grant, an audit entry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.allegro_setup import (
    allegro_endpoints,
    allegro_environment,
    oauth_client,
    process_governor,
    product_scopes,
    retry_policy,
)
from accounts.models import AccountGrant, AccountStatus, AllegroAccount, Role
from accounts.signals import account_ready_for_sync
from accounts.tokens import token_store
from allegro import errors
from allegro.api.me import Me, get_me
from allegro.client import AllegroClient
from allegro.oauth import InvalidGrant, TokenPair, new_pkce, new_state
from allegro.transport import StaticTokenSource

SESSION_KEY = "allegro_link_flows"
MAX_PENDING_FLOWS = 5


class LinkFailed(Exception):
    """Linking stopped; ``message`` is for the staff member (translated), nothing was saved."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, kw_only=True)
class LinkResult:
    account: AllegroAccount
    created: bool
    restored: bool


def _flows(session: SessionBase) -> dict[str, dict[str, Any]]:
    flows = session.get(SESSION_KEY)
    return dict(flows) if isinstance(flows, dict) else {}


def _ttl() -> float:
    return float(settings.ALLEGRO_LINK_STATE_TTL)


def link_begin(
    *,
    session: SessionBase,
    user_id: int,
    redirect_uri: str,
    account: AllegroAccount | None = None,
) -> str:
    """Start a flow bound to ``session``; returns the URL to send the browser to."""
    state, pkce = new_state(), new_pkce()
    now = time.time()
    flows = {k: v for k, v in _flows(session).items() if now - float(v["created"]) < _ttl()}
    while len(flows) >= MAX_PENDING_FLOWS:
        flows.pop(min(flows, key=lambda k: float(flows[k]["created"])))
    flows[state] = {
        "verifier": pkce.verifier,
        "created": now,
        "user": user_id,
        "account": account.pk if account is not None else None,
        "redirect_uri": redirect_uri,
    }
    session[SESSION_KEY] = flows
    return oauth_client(for_browser=True).authorization_url(
        state=state,
        code_challenge=pkce.challenge,
        scopes=product_scopes(),
        redirect_uri=redirect_uri,
    )


def _take_flow(*, session: SessionBase, state: str, user_id: int) -> dict[str, Any]:
    """Remove and return the flow for ``state`` (single use), or raise ``LinkFailed``."""
    flows = _flows(session)
    flow = flows.pop(state, None) if state else None
    session[SESSION_KEY] = flows
    if flow is None or flow.get("user") != user_id:
        raise LinkFailed(
            _("This link request is unknown or was already used. Start linking the account again."),
            code="state_invalid",
        )
    if time.time() - float(flow["created"]) >= _ttl():
        raise LinkFailed(
            _("This link request has expired. Start linking the account again."),
            code="state_expired",
        )
    return flow


def _exchange(*, flow: dict[str, Any], code: str) -> TokenPair:
    try:
        return oauth_client().exchange_code(
            code=code, code_verifier=str(flow["verifier"]), redirect_uri=str(flow["redirect_uri"])
        )
    except InvalidGrant as exc:
        raise LinkFailed(
            _(
                "Allegro did not accept the authorisation code (it expired or was already used). "
                "Start linking the account again."
            ),
            code="code_rejected",
        ) from exc
    except errors.AllegroError as exc:
        raise LinkFailed(
            _("Allegro could not finish the authorisation. Try again in a moment."),
            code="token_failed",
        ) from exc


def _who(pair: TokenPair) -> Me:
    client = AllegroClient(
        allegro_endpoints().api_url,
        StaticTokenSource(pair.access_token),
        process_governor(),
        account_key="linking",
        retry=retry_policy(),
    )
    try:
        return get_me(client)
    except errors.AllegroError as exc:
        raise LinkFailed(
            _("Allegro did not tell us which account was authorised. Try again in a moment."),
            code="me_failed",
        ) from exc


def link_complete(*, session: SessionBase, user: Any, params: dict[str, str]) -> LinkResult:
    """Finish the flow from the callback's query ``params``; raises ``LinkFailed``."""
    flow = _take_flow(session=session, state=params.get("state", ""), user_id=user.pk)
    if params.get("error"):
        if params["error"] == "access_denied":
            raise LinkFailed(
                _("Access was denied on Allegro, so no account was linked."), code="denied"
            )
        raise LinkFailed(
            _("Allegro refused the authorisation request (%(error)s).")
            % {"error": params["error"][:64]},
            code="refused",
        )
    code = params.get("code", "")
    if not code:
        raise LinkFailed(_("Allegro sent no authorisation code."), code="no_code")
    pair = _exchange(flow=flow, code=code)
    me = _who(pair)
    expected = flow.get("account")
    if expected is not None:
        _check_relink_target(account_id=int(expected), me=me)
    return account_link_save(user=user, me=me, pair=pair)


def _check_relink_target(*, account_id: int, me: Me) -> None:
    target = AllegroAccount.objects.filter(pk=account_id).first()
    if target is None:
        return
    if target.allegro_user_id != me.id or target.environment != allegro_environment():
        raise LinkFailed(
            _(
                "You signed in to Allegro as %(login)s, not as %(expected)s. "
                "Nothing was changed; sign in as %(expected)s to re-link it."
            )
            % {"login": me.login, "expected": target.login},
            code="wrong_account",
        )


@transaction.atomic
def account_link_save(*, user: Any, me: Me, pair: TokenPair) -> LinkResult:
    """Create or update the account for ``me``, store tokens, grant ``user`` manager, audit."""
    from accounts.audit import audit_log

    environment = allegro_environment()
    account = (
        AllegroAccount.objects.select_for_update()
        .filter(environment=environment, allegro_user_id=me.id)
        .first()
    )
    created = account is None
    before = None if account is None else {"status": account.status, "login": account.login}
    if account is None:
        account = AllegroAccount(environment=environment, allegro_user_id=me.id)
    restored = not created and account.status != AccountStatus.ACTIVE
    account.login = me.login or me.id
    account.company_name = me.company_name or ""
    account.base_marketplace = me.base_marketplace or account.base_marketplace or "allegro-pl"
    account.status = AccountStatus.ACTIVE
    account.linked_at = timezone.now()
    account.last_error = ""
    account.last_error_at = None
    account.save()
    token_store(account=account, pair=pair)
    _grant_manager(user=user, account=account)
    audit_log(
        actor=user,
        account=account,
        action="account.linked" if created else "account.relinked",
        target=f"allegro_account:{account.pk}",
        before=before,
        after={"status": account.status, "login": account.login, "scopes": list(pair.scopes)},
        allegro_trace_id=me.trace_id,
    )
    if created or restored:
        # mirror queues the initial sync; its tasks are sent when this transaction commits.
        account_ready_for_sync.send(sender=AllegroAccount, account=account)
    return LinkResult(account=account, created=created, restored=restored)


def _grant_manager(*, user: Any, account: AllegroAccount) -> None:
    grant, made = AccountGrant.objects.get_or_create(
        user=user, account=account, defaults={"role": Role.MANAGER}
    )
    if not made and grant.role < Role.MANAGER:
        grant.role = Role.MANAGER
        grant.save(update_fields=["role"])
