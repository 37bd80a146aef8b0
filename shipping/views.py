"""Shipping pages: the "to ship" queue and the shipments list (one page, two tabs), the order
page's shipping fragment, the create form, bulk create and the create job's report."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import AccountStatus, Role
from accounts.selectors import account_scope_id, accounts_with_roles, roles_by_account
from allegro import errors
from backoffice.htmx import HtmxHttpRequest
from jobs.selectors import job_get_for_user
from orders.models import Order
from orders.selectors import order_get_for_user, order_ref
from shipping import selectors
from shipping.forms import (
    BulkCreateForm,
    Limits,
    QueueFilterForm,
    ShipmentCreateForm,
    ShipmentFilterForm,
    field_of_path,
)
from shipping.models import ShipmentStatus
from shipping.print_forms import LabelsForm
from shipping.services import (
    CREATE_KIND,
    PackageInput,
    ShipmentExists,
    shipment_create_prepare,
    shipment_create_start,
    shipment_request_build,
    shipments_bulk_create_start,
    shipments_retry_failed,
)
from ui.errors import describe_error
from ui.listing import filter_options, filter_querystring
from ui.paging import CappedPaginator

BULK_LIMIT = 500


def _writable(accounts: list[Any]) -> list[int]:
    return [
        a.pk
        for a in accounts
        if (a.viewer_role or 0) >= Role.OPERATOR and a.status != AccountStatus.UNLINKED
    ]


def _queue_query(
    params: QueryDict, accounts: list[Any], methods: list[str]
) -> tuple[QueueFilterForm, selectors.QueueQuery]:
    form = QueueFilterForm(params or None, accounts=accounts, methods=methods)
    data = form.valid_data()
    chosen = [a for a in accounts if a.pk in form.account_ids()] or accounts
    query = selectors.QueueQuery(
        accounts=chosen,
        delivery_method=data.get("delivery") or "",
        carrier=data.get("carrier") or "",
        deadline=data.get("deadline") or "",
        marketplace=data.get("marketplace") or "",
    )
    return form, query


def _queue_context(request: HtmxHttpRequest, params: QueryDict) -> dict[str, Any]:
    accounts = accounts_with_roles(user=request.user, scope=account_scope_id(request=request))
    methods = selectors.queue_delivery_methods(accounts=accounts)
    form, query = _queue_query(params, accounts, methods)
    chosen = list(query.accounts)
    qs = selectors.queue_orders(query=query)
    page = CappedPaginator(qs.select_related("account"), form.page_size(), count_qs=qs).get_page(
        params.get("page")
    )
    writable = _writable(accounts)
    return {
        "tab": "queue",
        "form": form,
        "options": filter_options(form),
        "page": page,
        "rows": [{"order": o, "ref": order_ref(o.allegro_id)} for o in page.object_list],
        "counts": selectors.queue_counts(accounts=chosen),
        "filters_qs": filter_querystring(params, QueueFilterForm.field_order),
        "can_operate": bool(writable),
        "writable_accounts": writable,
    }


def _shipments_context(request: HtmxHttpRequest, params: QueryDict) -> dict[str, Any]:
    accounts = accounts_with_roles(user=request.user, scope=account_scope_id(request=request))
    carriers = selectors.shipment_carriers(accounts=accounts)
    form = ShipmentFilterForm(params, accounts=accounts, carriers=carriers)
    data = form.valid_data()
    chosen = [a for a in accounts if a.pk in form.account_ids()] or accounts
    query = selectors.ShipmentQuery(
        accounts=chosen,
        carrier=data.get("carrier") or "",
        created_from=data.get("created_from"),
        created_to=data.get("created_to"),
        label=data.get("label") or "",
        protocol=data.get("protocol") or "",
        pickup=data.get("pickup") or "",
        cancelled=data.get("cancelled") or "",
        q=data.get("q") or "",
    )
    qs = selectors.shipments_list(query=query)
    page = CappedPaginator(qs, form.page_size(), count_qs=qs).get_page(params.get("page"))
    writable = _writable(accounts)
    return {
        "tab": "shipments",
        "form": form,
        "options": filter_options(form),
        "page": page,
        "filters_qs": filter_querystring(params, ShipmentFilterForm.field_order),
        "can_operate": bool(writable),
        "writable_accounts": writable,
        "labels_form": LabelsForm(),
    }


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    if request.GET.get("tab") == "shipments":
        context = _shipments_context(request, request.GET)
    else:
        context = _queue_context(request, request.GET)
    template = "shipping/index.html#rows" if request.htmx else "shipping/index.html"
    return render(request, template, context)


# --- the order page's fragment and the create form ------------------------------------------


def _order_context(request: HtmxHttpRequest, order: Order) -> dict[str, Any]:
    role = getattr(order, "viewer_role", None)
    if role is None:
        role = roles_by_account(user=request.user).get(order.account_id, 0)
    shipments = selectors.order_shipments(order=order)
    live = [s for s in shipments if s.status in (ShipmentStatus.CREATING, ShipmentStatus.CREATED)]
    job = selectors.order_active_job(order=order, kind=CREATE_KIND)
    writable = role >= Role.OPERATOR and order.account.status != AccountStatus.UNLINKED
    return {
        "order": order,
        "shipments": shipments,
        "job": job,
        "swa": selectors.is_swa(order),
        "can_create": writable and selectors.is_swa(order) and not live and job is None,
        "can_operate": writable,  # print, protocol, pickup, cancel
    }


@require_GET
def order_shipping(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The order page's "Wysyłka" section (loaded with htmx; a page of its own without JS)."""
    order = order_get_for_user(user=request.user, order_id=pk)
    context = _order_context(request, order)
    template = "shipping/order.html#fragment" if request.htmx else "shipping/order.html"
    return render(request, template, context)


def _failed_errors(order: Order) -> dict[str | None, list[str]]:
    """The last failed attempt's message, on the field Allegro's ``path`` names."""
    failed = [s for s in selectors.order_shipments(order=order) if s.status == "failed"]
    if not failed or not failed[0].error_message:
        return {}
    return {field_of_path(failed[0].error_field): [failed[0].error_message]}


def _address_lines(address: Any) -> list[str]:
    """A proposal's sender or receiver as lines to show (with its pickup point)."""
    if not isinstance(address, dict):
        return []
    text = {k: str(v) for k, v in address.items() if isinstance(v, str | int) and str(v).strip()}
    lines = [
        " · ".join(v for v in (text.get("company"), text.get("name")) if v),
        text.get("street", ""),
        " ".join(v for v in (text.get("postalCode"), text.get("city")) if v),
    ]
    if text.get("point"):
        lines.append(_("Pickup point: %(point)s") % {"point": text["point"]})
    return [line for line in lines if line]


@require_http_methods(["GET", "POST"])
def create(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    order = order_get_for_user(user=request.user, order_id=pk)
    detail_url = reverse("orders:detail", args=[order.pk])
    try:
        prepared = shipment_create_prepare(user=request.user, order=order)
    except ShipmentExists:
        messages.info(request, _("This order already has a shipment."))
        return HttpResponseRedirect(detail_url)
    except PermissionDenied as exc:
        return render(
            request, "shipping/refused.html", {"order": order, "message": str(exc)}, status=403
        )
    except errors.AllegroError as exc:
        context = {"order": order, "message": describe_error(exc)}
        return render(request, "shipping/refused.html", context, status=502)
    proposal = prepared.proposal
    limits = Limits(proposal.delivery_options)
    cod_allowed = limits.cod_available and order.payment_type == "CASH_ON_DELIVERY"
    kwargs: dict[str, Any] = {
        "presets": prepared.presets,
        "limits": limits,
        "cod_allowed": cod_allowed,
    }
    if request.method == "POST":
        form = ShipmentCreateForm(request.POST, **kwargs)
        if form.is_valid() and proposal.delivery_options:
            data = form.cleaned_data
            package = PackageInput(
                type=data["package_type"],
                length=data["length"],
                width=data["width"],
                height=data["height"],
                weight=data["weight"],
                text_on_label=data.get("text_on_label") or "",
            )
            request_body = shipment_request_build(
                suggested=proposal.suggested_input,
                package=package,
                label_format=data["label_format"],
                insurance=data.get("insurance"),
                cash_on_delivery=data.get("cash_on_delivery"),
                currency=order.currency or "PLN",
                reference_number=data.get("reference_number") or "",
            )
            try:
                shipment_create_start(user=request.user, order=order, request=request_body)
            except ShipmentExists:
                messages.info(request, _("This order already has a shipment."))
            else:
                messages.success(request, _("The shipment is being created on Allegro."))
            return HttpResponseRedirect(detail_url)
        allegro: dict[str | None, list[str]] = {}
        status = 422
    else:
        initial: dict[str, Any] = {"preset": str(prepared.default.pk)}
        if cod_allowed and order.total_amount is not None:
            initial["cash_on_delivery"] = order.total_amount
        form = ShipmentCreateForm(initial=initial, **kwargs)
        allegro = _failed_errors(order)
        status = 200
    suggested = proposal.suggested_input
    general = [t for f, texts in allegro.items() if f not in form.fields for t in texts]
    context = {
        "order": order,
        "form": form,
        "fields": [(form[name], allegro.get(name, [])) for name in form.fields],
        "allegro_errors": general,
        "sender": _address_lines(suggested.get("sender")),
        "receiver": _address_lines(suggested.get("receiver")),
        "options": proposal.delivery_options,
        "limits": limits,
        "dims": "x".join(f"{side:g}" for side in limits.sides),
    }
    return render(request, "shipping/create.html", context, status=status)


# --- bulk create and the job's report --------------------------------------------------------


@require_POST
def bulk_create(request: HtmxHttpRequest) -> HttpResponse:
    """Create shipments for the ticked queue orders (or all matching the filter), after a
    confirmation step, as one job."""
    form = BulkCreateForm(request.POST)
    back = QueryDict((request.POST.get("filters") or "")[:2000])
    if not form.is_valid():
        return HttpResponseRedirect(reverse("shipping:index"))
    accounts = accounts_with_roles(user=request.user, scope=account_scope_id(request=request))
    writable = [a for a in accounts if a.pk in _writable(accounts)]
    if form.cleaned_data["all_matching"]:
        methods = selectors.queue_delivery_methods(accounts=writable)
        _form, query = _queue_query(back, writable, methods)
        orders = list(selectors.queue_orders(query=query).select_related("account")[:BULK_LIMIT])
    else:
        orders = selectors.queue_orders_by_pks(
            accounts=writable, pks=list(form.cleaned_data["orders"])[:BULK_LIMIT]
        )
    if not orders:
        messages.error(request, _("Select the orders to ship first."))
        return HttpResponseRedirect(f"{reverse('shipping:index')}?{back.urlencode()}")
    if not form.cleaned_data["confirm"]:
        context = {
            "orders": orders,
            "all_matching": form.cleaned_data["all_matching"],
            "filters": request.POST.get("filters") or "",
        }
        return render(request, "shipping/bulk_confirm.html", context)
    job = shipments_bulk_create_start(user=request.user, orders=orders)
    return HttpResponseRedirect(reverse("shipping:job", args=[job.pk]))


@require_GET
def job(request: HtmxHttpRequest, job_id: str) -> HttpResponse:
    found = job_get_for_user(user=request.user, job_id=job_id)
    if found.kind != CREATE_KIND:
        return HttpResponseRedirect(reverse("jobs:detail", args=[found.pk]))
    context = {"job": found, "rows": selectors.job_rows(job=found)}
    template = "shipping/job.html#report" if request.htmx else "shipping/job.html"
    return render(request, template, context)


@require_POST
def job_retry(request: HtmxHttpRequest, job_id: str) -> HttpResponse:
    found = job_get_for_user(user=request.user, job_id=job_id)
    try:
        retry = shipments_retry_failed(user=request.user, job=found)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("shipping:job", args=[found.pk]))
    if retry is None:
        messages.info(request, _("No order failed: nothing to retry."))
        return HttpResponseRedirect(reverse("shipping:job", args=[found.pk]))
    return HttpResponseRedirect(reverse("shipping:job", args=[retry.pk]))
