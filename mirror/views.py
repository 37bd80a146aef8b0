"""The sync progress fragment (polled by HTMX from the Accounts page)."""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import AllegroAccount
from accounts.selectors import account_get_for_user
from mirror.models import QuarantinedOrder
from mirror.selectors import (
    ProgressRow,
    quarantined_orders_for,
    quarantined_orders_for_accounts,
    sync_progress_for,
    sync_progress_for_accounts,
)

QUARANTINED_SHOWN = 20


def progress_context(*, account: AllegroAccount) -> dict[str, object]:
    rows = sync_progress_for(account=account)
    quarantined = list(quarantined_orders_for(account=account)[:QUARANTINED_SHOWN])
    return _context(account=account, rows=rows, quarantined=quarantined)


def progress_contexts(*, accounts: Sequence[AllegroAccount]) -> list[dict[str, object]]:
    """``progress_context`` of each account, with a constant number of queries."""
    rows = sync_progress_for_accounts(accounts=accounts)
    quarantined = quarantined_orders_for_accounts(accounts=accounts, per_account=QUARANTINED_SHOWN)
    return [_context(account=a, rows=rows[a.pk], quarantined=quarantined[a.pk]) for a in accounts]


def _context(
    *, account: AllegroAccount, rows: list[ProgressRow], quarantined: list[QuarantinedOrder]
) -> dict[str, object]:
    return {
        "account": account,
        "rows": rows,
        "polling": any(r.running for r in rows),
        "quarantined": quarantined,
    }


@require_GET
def sync_progress(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get_for_user(user=request.user, account_id=account_id)
    return render(request, "mirror/progress.html#progress", progress_context(account=account))
