"""Dashboard and the health endpoint."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.selectors import accounts_in_scope
from backoffice.celery import app as celery_app
from backoffice.selectors import dashboard_for

logger = logging.getLogger(__name__)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """What needs doing today per account in view and in total, and the sync's health."""
    board = dashboard_for(accounts=accounts_in_scope(request=request))
    return render(
        request, "backoffice/dashboard.html", {"board": board, "accounts": board.accounts}
    )


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("healthz: database unreachable", exc_info=True)
        return False
    return True


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=1, interval_max=1, timeout=3
            )
    except Exception:
        logger.warning("healthz: broker unreachable", exc_info=True)
        return False
    return True


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the Celery broker answer, else 503 naming the failed part."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    body = {name: "ok" if ok else "unreachable" for name, ok in checks.items()}
    return JsonResponse(body, status=200 if all(checks.values()) else 503)
