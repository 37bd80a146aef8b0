"""The sync progress fragment (polled by HTMX from the Accounts page)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import AllegroAccount
from accounts.selectors import account_get_for_user
from mirror.selectors import quarantined_orders_for, sync_progress_for


def progress_context(*, account: AllegroAccount) -> dict[str, object]:
    rows = sync_progress_for(account=account)
    return {
        "account": account,
        "rows": rows,
        "polling": any(r.running for r in rows),
        "quarantined": quarantined_orders_for(account=account)[:20],
    }


@require_GET
def sync_progress(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get_for_user(user=request.user, account_id=account_id)
    return render(request, "mirror/progress.html#progress", progress_context(account=account))
