"""Billing: the fees Allegro charged per account and period (by type, offer or order), and an
order's fees as a fragment its page loads by htmx (by URL: orders never import after-sales)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import Count, Sum
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.selectors import account_scope_id, accounts_with_roles
from aftersales.billing import billing_by_type, billing_entries_of, billing_of_order
from aftersales.forms_returns import BillingFilterForm
from aftersales.selectors_returns import account_get_for_user
from aftersales.views._common import order_id_or_404
from backoffice.htmx import HtmxHttpRequest
from ui.listing import filter_options, filter_querystring
from ui.paging import CappedPaginator

FILTER_KEYS = BillingFilterForm.field_order


def _start(day: object) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))  # type: ignore[arg-type]


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    accounts = accounts_with_roles(user=request.user, scope=account_scope_id(request=request))
    form = BillingFilterForm(request.GET or None, accounts=accounts)
    data = form.valid_data()
    chosen = [a for a in accounts if a.pk in form.account_ids()] or accounts
    since = _start(data.get("since"))
    until = _start(data.get("until"))
    if until is not None:
        until += timedelta(days=1)
    group = data.get("group") or "type"
    entries = billing_entries_of(accounts=chosen, since=since, until=until)
    if data.get("q"):
        entries = entries.filter(offer_name__icontains=data["q"]) | entries.filter(
            order_id__icontains=data["q"]
        )
    if group == "type":
        rows = billing_by_type(accounts=chosen, since=since, until=until)
    else:
        key = "offer_id" if group == "offer" else "order_id"
        rows = [
            dict(r)
            for r in entries.exclude(**{key: ""})
            .values("account_id", key, "currency", *(["offer_name"] if group == "offer" else []))
            .annotate(count=Count("pk"), total=Sum("amount"))
            .order_by("total")[:200]
        ]
    logins = {a.pk: a.login for a in accounts}
    for row in rows:
        row["account"] = logins.get(row["account_id"], "")
    ordered = entries.order_by("-occurred_at", "-pk")
    page = CappedPaginator(ordered, form.page_size(), count_qs=ordered).get_page(
        request.GET.get("page")
    )
    context = {
        "form": form,
        "options": filter_options(form),
        "group": group,
        "rows": rows,
        "page": page,
        "filters_qs": filter_querystring(request.GET, FILTER_KEYS),
    }
    return render(request, "aftersales/billing/index.html", context)


@require_GET
def order_fees(request: HtmxHttpRequest, account_id: int, order_id: str) -> HttpResponse:
    account = account_get_for_user(user=request.user, pk=account_id)
    order_id = order_id_or_404(order_id)
    entries = list(billing_of_order(account=account, order_id=order_id))
    totals: dict[str, object] = {}
    for e in entries:
        totals[e.currency] = totals.get(e.currency, 0) + (e.amount or 0)  # type: ignore[operator]
    return render(
        request,
        "aftersales/billing/_order.html",
        {
            "entries": entries,
            "totals": sorted(totals.items()),
            "account": account,
            "order_id": order_id,
        },
    )
