"""Billing reads: the fees Allegro charged, per order, and summed by type for a period."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from accounts.models import AllegroAccount
from aftersales.models import BillingEntry
from ui.paging import Accounts, account_filter


def billing_entries_of(
    *, accounts: Accounts, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[BillingEntry]:
    entries = BillingEntry.objects.filter(account__in=account_filter(accounts)).select_related(
        "account"
    )
    if since is not None:
        entries = entries.filter(occurred_at__gte=since)
    if until is not None:
        entries = entries.filter(occurred_at__lt=until)
    return entries


def billing_of_order(*, account: AllegroAccount, order_id: str) -> QuerySet[BillingEntry]:
    """An order's fees (and credits), oldest first, for its page."""
    return BillingEntry.objects.filter(account=account, order_id=order_id).order_by("occurred_at")


def billing_order_total(*, account: AllegroAccount, order_id: str) -> Decimal:
    total = billing_of_order(account=account, order_id=order_id).aggregate(s=Sum("amount"))["s"]
    return total or Decimal(0)


def billing_by_type(
    *, accounts: Accounts, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Per account and fee type: count and sum, largest charges first."""
    rows = (
        billing_entries_of(accounts=accounts, since=since, until=until)
        .values("account_id", "type_id", "type_name", "currency")
        .annotate(count=Count("pk"), total=Sum("amount"))
        .order_by("total")
    )
    return [dict(row) for row in rows]
