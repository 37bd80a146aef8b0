"""Order pages: the list (HTMX swaps only the rows), detail, fulfillment (with the 409 conflict
screen), tracking numbers and bulk fulfillment."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role
from accounts.selectors import accounts_in_scope
from accounts.services import account_require_role
from allegro import errors
from backoffice.htmx import HtmxHttpRequest
from offers.selectors import accounts_with_roles, roles_by_account
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
    orders_bulk_fulfillment,
)
from ui.listing import filter_options, filter_querystring
from ui.paging import CappedPaginator

# The filter form's fields: what the pager and sort links carry over.
FILTER_KEYS = OrderFilterForm.field_order


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    scope = accounts_in_scope(request=request)
    accounts = accounts_with_roles(accounts=scope, user=request.user)
    form = OrderFilterForm(request.GET or None, accounts=accounts)
    query = form.query()
    rows, count_qs = orders_page_source(
        accounts=accounts, account_ids=[a.pk for a in accounts], query=query
    )
    page = CappedPaginator(rows, form.page_size(), count_qs=count_qs).get_page(
        request.GET.get("page")
    )
    context = {
        "form": form,
        "options": filter_options(form) if not request.htmx else {},
        "page": page,
        "rows": order_rows(orders=page.object_list, detail_prefix=reverse("orders:index")),
        "filters_qs": filter_querystring(request.GET, FILTER_KEYS),
        "filters_qs_sortless": filter_querystring(request.GET, FILTER_KEYS, sort=None),
        "sort": query.sort,
        "labels": FULFILLMENT_LABELS,
        "settable": SETTABLE_CHOICES,
        "can_operate": any((a.viewer_role or 0) >= Role.OPERATOR for a in accounts),
    }
    template = "orders/list.html#rows" if request.htmx else "orders/list.html"
    return render(request, template, context)


def _tracking_form(
    order: Order,
    carriers: list[tuple[str, str]],
    data: Any = None,
    *,
    line_items: list[OrderLineItem] | None = None,
) -> TrackingForm:
    items = order.line_items.all() if line_items is None else line_items
    lines = [(str(li.allegro_id), f"{li.quantity} x {li.offer_name}") for li in items]
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
    can_operate = role >= Role.OPERATOR
    detail = order_detail(order=order)
    context: dict[str, Any] = {
        "detail": detail,
        "order": order,
        "labels": FULFILLMENT_LABELS,
        "can_operate": can_operate,
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
    return render(request, "orders/detail.html", _detail_context(request, order))


@require_POST
def fulfillment(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Change the fulfillment status; a 409 renders the conflict screen."""
    order = order_get_for_user(user=request.user, order_id=pk)
    account_require_role(user=request.user, account=order.account, role=Role.OPERATOR)
    form = FulfillmentForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, order, fulfillment_form=form)
        return render(request, "orders/detail.html", context, status=422)
    outcome = order_set_fulfillment(
        order=order,
        actor=request.user,
        status=form.cleaned_data["status"],
        revision=form.cleaned_data["revision"] or None,
    )
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
    account_require_role(user=request.user, account=order.account, role=Role.OPERATOR)
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


@require_POST
def bulk_fulfillment(request: HtmxHttpRequest) -> HttpResponse:
    """Set one status on the ticked orders; the page lists the outcome per order."""
    form = BulkFulfillmentForm(request.POST)
    if not form.is_valid():
        for error in form.errors.as_data().values():
            messages.error(request, " ".join(str(m) for e in error for m in e.messages))
        return HttpResponseRedirect(reverse("orders:index"))
    orders = list(orders_by_pks_for_user(user=request.user, pks=form.cleaned_data["orders"]))
    rows = orders_bulk_fulfillment(
        orders=orders, actor=request.user, status=form.cleaned_data["status"]
    )
    context = {"rows": rows, "status": form.cleaned_data["status"], "labels": FULFILLMENT_LABELS}
    return render(request, "orders/bulk_result.html", context)
