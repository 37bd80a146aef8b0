"""Exposes the account switcher's choices, the current scope and the accounts waiting for
re-authorisation (the banner in the base layout) to every template."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import AccountStatus
from accounts.selectors import account_scope_id, accounts_for_switcher


def account_switcher(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    accounts = accounts_for_switcher(user=user)
    scope = account_scope_id(request=request)
    current = next((account for account in accounts if account.pk == scope), None)
    reauth = [account for account in accounts if account.status == AccountStatus.REAUTH_REQUIRED]
    return {
        "switcher_accounts": accounts,
        "switcher_current": current,
        "reauth_accounts": reauth,
    }
