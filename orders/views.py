"""Order pages: the list (HTMX swaps only the rows), detail, fulfillment (with the 409 conflict
screen), tracking numbers and bulk fulfillment."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import AccountStatus, Role
from accounts.selectors import roles_by_account
from accounts.services import AccountReadOnly, account_require_writable
from allegro import errors
from backoffice.htmx import HtmxHttpRequest
from orders.forms import (
    FULFILLMENT_LABELS,
    SETTABLE_CHOICES,
    BulkFulfillmentForm,
    FulfillmentForm,
    OrderFilterForm,
    TrackingForm,
)
from orders.models import Order, OrderLineItem
from orders.selectors import (
    TIMES,
    order_detail,
    order_get_for_user,
    order_rows,
    orders_by_pks_for_user,
    orders_page_source,
)
from orders.services import (
    carriers_cache_key,
    carriers_for,
    describe_error,
    order_add_tracking,
    order_set_fulfillment,
    order_waybills_read_on_open,
    order_waybills_unread,
    orders_bulk_fulfillment,
)
from ui.listing import (
    ListPage,
    filter_querystring,
    list_template,
    selected_ids,
    unlinked_accounts,
    writable_account_ids,
)

# The filter form's fields: what the bulk form's "back to the list" link carries over.
FILTER_KEYS = OrderFilterForm.field_order


def _list_context(
    request: HtmxHttpRequest,
    params: QueryDict,
    *,
    bulk_form: BulkFulfillmentForm | None = None,
) -> dict[str, Any]:
    """The orders list for ``params`` (the query string); after a refused bulk form, with its
    errors and the orders it had ticked still ticked."""
    listing = ListPage(request, params, form_class=OrderFilterForm, source=orders_page_source)
    accounts = listing.accounts
    writable = writable_account_ids(accounts, role=Role.OPERATOR)
    bulk_data = request.POST if bulk_form is not None else QueryDict()
    return {
        **listing.context(),
        "rows": order_rows(orders=listing.page.object_list, detail_prefix=reverse("orders:index")),
        "labels": FULFILLMENT_LABELS,
        "settable": SETTABLE_CHOICES,
        "can_operate": bool(writable),
        "writable_accounts": writable,
        "unlinked_accounts": unlinked_accounts(accounts),
        "bulk_form": bulk_form,
        "bulk_status": bulk_data.get("status", ""),
        "selected": selected_ids(bulk_data, "orders"),
    }


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    context = _list_context(request, request.GET)
    return render(request, list_template("orders/list.html", htmx=bool(request.htmx)), context)


def _tracking_form(
    order: Order,
    carriers: list[tuple[str, str]],
    data: Any = None,
    *,
    line_items: list[OrderLineItem] | None = None,
) -> TrackingForm:
    items = order.line_items.all() if line_items is None else line_items
    lines = [(str(li.allegro_id), f"{li.quantity} {TIMES} {li.offer_name}") for li in items]
    return TrackingForm(
        data, carriers=carriers, line_items=lines, initial={"revision": order.revision}
    )


CARRIERS_PROBLEM_TTL = 60


def _carriers(order: Order) -> tuple[list[tuple[str, str]], str]:
    """Carriers for the tracking form; a failure is remembered for a minute so an unreachable
    Allegro does not slow down every order page."""
    key = f"orders:carriers-problem:{order.account_id}"
    cached_key = carriers_cache_key(account=order.account)
    found = cache.get_many([key, cached_key])  # one round trip for the usual page view
    problem: str | None = found.get(key)
    if problem:
        return [], problem
    if found.get(cached_key):
        return [(str(c[0]), str(c[1])) for c in found[cached_key]], ""
    try:
        return carriers_for(account=order.account), ""
    except errors.AllegroError as exc:
        problem = describe_error(exc)
        cache.set(key, problem, CARRIERS_PROBLEM_TTL)
        return [], problem


def _detail_context(request: HtmxHttpRequest, order: Order, **extra: Any) -> dict[str, Any]:
    role = getattr(order, "viewer_role", None)
    if role is None:  # an order not read by ``order_get_for_user``
        role = roles_by_account(user=request.user).get(order.account_id, 0)
    read_only = order.account.status == AccountStatus.UNLINKED
    can_operate = role >= Role.OPERATOR and not read_only
    detail = order_detail(order=order)
    context: dict[str, Any] = {
        "detail": detail,
        "order": order,
        "labels": FULFILLMENT_LABELS,
        "can_operate": can_operate,
        "read_only": read_only,
        "unlinked_accounts": [order.account] if read_only else [],
        "fulfillment_form": FulfillmentForm(
            initial={"status": order.fulfillment_status, "revision": order.revision}
        ),
    }
    if can_operate and "tracking_form" not in extra:
        carriers, problem = _carriers(order)
        lines = [row["line"] for row in detail.lines]
        context["tracking_form"] = _tracking_form(order, carriers, line_items=lines)
        context["carriers_problem"] = problem
    context.update(extra)
    return context


@require_GET
def detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    order = order_get_for_user(user=request.user, order_id=pk)
    # Waybills the initial sync left to the backfill are read now (staff lane).
    problem = order_waybills_read_on_open(order=order)
    context = _detail_context(
        request,
        order,
        waybills_unread=order_waybills_unread(order=order),
        waybills_problem=problem,
    )
    return render(request, "orders/detail.html", context)


@require_POST
def fulfillment(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Change the fulfillment status; a 409 renders the conflict screen."""
    order = order_get_for_user(user=request.user, order_id=pk)
    form = FulfillmentForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, order, fulfillment_form=form)
        return render(request, "orders/detail.html", context, status=422)
    try:
        outcome = order_set_fulfillment(
            order=order,
            actor=request.user,
            status=form.cleaned_data["status"],
            revision=form.cleaned_data["revision"] or None,
        )
    except AccountReadOnly as exc:
        return _refused(request, order, exc)
    if outcome.state == "conflict":
        order.refresh_from_db()
        context = {
            "order": order,
            "outcome": outcome,
            "wanted": form.cleaned_data["status"],
            "labels": FULFILLMENT_LABELS,
        }
        return render(request, "orders/conflict.html", context, status=409)
    if outcome.state == "done":
        messages.success(request, _("Fulfillment status saved on Allegro."))
    else:
        messages.error(request, outcome.message)
    return HttpResponseRedirect(reverse("orders:detail", args=[order.pk]))


@require_POST
def tracking(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    order = order_get_for_user(user=request.user, order_id=pk)
    try:
        account_require_writable(account=order.account)
    except AccountReadOnly as exc:  # before the carriers are asked for
        return _refused(request, order, exc)
    carriers, _problem = _carriers(order)
    form = _tracking_form(order, carriers, request.POST)
    if not form.is_valid():
        context = _detail_context(request, order, tracking_form=form)
        return render(request, "orders/detail.html", context, status=422)
    data = form.cleaned_data
    outcome = order_add_tracking(
        order=order,
        actor=request.user,
        carrier_id=data["carrier"],
        carrier_name=data["carrier_name"],
        waybill=data["waybill"],
        line_item_ids=data["line_items"],
        set_sent=data["set_sent"],
        seen_revision=data["revision"] or None,
    )
    if outcome.state == "conflict":
        order.refresh_from_db()
        context = {
            "order": order,
            "outcome": outcome,
            "wanted": "SENT",
            "labels": FULFILLMENT_LABELS,
        }
        return render(request, "orders/conflict.html", context, status=409)
    if outcome.state == "done":
        messages.success(request, _("Tracking number added on Allegro."))
        return HttpResponseRedirect(reverse("orders:detail", args=[order.pk]))
    form.add_error(None, outcome.message)
    context = _detail_context(request, order, tracking_form=form)
    return render(request, "orders/detail.html", context, status=422)


def _refused(request: HtmxHttpRequest, order: Order, exc: AccountReadOnly) -> HttpResponse:
    """A write on an unlinked account: the read-only page, saying why (403)."""
    messages.error(request, str(exc))
    return render(request, "orders/detail.html", _detail_context(request, order), status=403)


def _bulk_back(request: HtmxHttpRequest) -> QueryDict:
    """The list's query string the bulk form was sent from (its hidden ``filters``)."""
    return QueryDict((request.POST.get("filters") or "")[:2000])


@require_POST
def bulk_fulfillment(request: HtmxHttpRequest) -> HttpResponse:
    """Set one status on the ticked orders, after a confirmation step.

    Without ``confirm`` the page (or, for HTMX, a panel under the bulk bar) lists what will
    change and asks; a refused form shows the list again with the orders still ticked.
    """
    form = BulkFulfillmentForm(request.POST)
    filters_qs = filter_querystring(_bulk_back(request), FILTER_KEYS)
    if not form.is_valid():
        if request.htmx:
            context = {"bulk_form": form, "filters_qs": filters_qs}
            return render(request, "orders/bulk_confirm.html#panel", context)
        context = _list_context(request, _bulk_back(request), bulk_form=form)
        return render(request, "orders/list.html", context, status=422)
    orders = list(orders_by_pks_for_user(user=request.user, pks=form.cleaned_data["orders"]))
    status = form.cleaned_data["status"]
    if not form.cleaned_data["confirm"]:
        context = {
            "bulk_form": form,
            "orders": orders,
            "status": status,
            "labels": FULFILLMENT_LABELS,
            "filters_qs": filters_qs,
        }
        template = "orders/bulk_confirm.html#panel" if request.htmx else "orders/bulk_confirm.html"
        return render(request, template, context)
    rows = orders_bulk_fulfillment(orders=orders, actor=request.user, status=status)
    context = {"rows": rows, "status": status, "labels": FULFILLMENT_LABELS}
    return render(request, "orders/bulk_result.html", context)
