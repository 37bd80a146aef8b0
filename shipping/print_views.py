"""Pages that print and hand over shipments: one label, a label batch (job page and its file),
dispatch protocols, pickups, cancelling a shipment and the packing station."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from csp.decorators import csp_replace
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.audit import audit_log
from accounts.models import AccountStatus, Role
from accounts.selectors import accounts_visible_to, roles_by_account
from accounts.services import account_require_role, allegro_client_for
from allegro import errors
from allegro.api import shipments as api
from backoffice.htmx import HtmxHttpRequest
from backoffice.redirects import safe_back_url
from jobs.models import ItemStatus
from jobs.selectors import job_get_for_user
from offers.selectors import offers_by_ean_for_user
from orders.models import Order, OrderLineItem
from orders.selectors import id_prefix, order_ref
from shipping import dispatch, labels
from shipping.models import LIVE_STATUSES, Shipment, ShipmentPackage, ShipmentStatus
from shipping.print_forms import LabelsForm, PickupForm, ScanForm, selected_ids
from shipping.selectors import QueueQuery, queue_orders
from shipping.services import CREATE_KIND, shipments_bulk_create_start
from ui.errors import describe_error


def _shipments(request: HtmxHttpRequest, pks: list[int]) -> list[Shipment]:
    """The ticked shipments the user can see, in the order they were ticked."""
    rows = (
        Shipment.objects.filter(pk__in=pks, account__in=accounts_visible_to(user=request.user))
        .select_related("account", "order", "pickup")
        .prefetch_related(
            Prefetch("packages", queryset=ShipmentPackage.objects.order_by("position"))
        )
    )
    by_pk = {s.pk: s for s in rows}
    return [by_pk[pk] for pk in pks if pk in by_pk]


def _shipment(request: HtmxHttpRequest, pk: int) -> Shipment:
    found = _shipments(request, [pk])
    if not found:
        raise Http404
    return found[0]


# A label or protocol is shown by the browser's PDF viewer (a plugin: ``object-src``) and the
# packing station loads a label into a frame of its own page to print it.
_PDF_POLICY = {"object-src": ["'self'"], "frame-ancestors": ["'self'"]}
_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def _pdf_policy(view: _View) -> _View:
    return cast(_View, csp_replace(_PDF_POLICY)(cast(Any, view)))


def _inline(content: bytes, name: str, content_type: str = "application/pdf") -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _back(request: HtmxHttpRequest) -> HttpResponseRedirect:
    """Back where the action was asked from (the order page or the shipments list)."""
    return HttpResponseRedirect(
        safe_back_url(
            request,
            (request.POST.get("back"), request.GET.get("back")),
            f"{reverse('shipping:index')}?tab=shipments",
        )
    )


# --- one label -------------------------------------------------------------------------------


@require_GET
@xframe_options_sameorigin
@_pdf_policy
def shipment_label(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """One shipment's label, straight from Allegro, shown inline for printing."""
    shipment = _shipment(request, pk)
    try:
        account_require_role(user=request.user, account=shipment.account, role=Role.OPERATOR)
    except PermissionDenied:
        return HttpResponse(_("Printing needs the operator role."), status=403)
    if shipment.status != ShipmentStatus.CREATED or not shipment.allegro_id:
        raise Http404
    client = allegro_client_for(account=shipment.account)
    try:
        doc = api.get_label(client, shipment_ids=[shipment.allegro_id])
    except errors.AllegroError as exc:
        return HttpResponse(describe_error(exc), status=502, content_type="text/plain")
    if not doc.available:
        raise Http404
    Shipment.objects.filter(pk=shipment.pk).update(label_printed_at=timezone.now())
    audit_log(
        actor=request.user,
        account=shipment.account,
        action="shipment.label_printed",
        target=f"order:{shipment.order.allegro_id}",
        before=None,
        after={"shipment": shipment.allegro_id},
        allegro_trace_id=doc.trace_id,
    )
    waybill = next((p.waybill for p in shipment.packages.all() if p.waybill), shipment.allegro_id)
    if doc.is_pdf:
        return _inline(doc.content, f"{waybill}.pdf")
    return _inline(doc.content, f"{waybill}.zpl", "application/octet-stream")


# --- label batches ---------------------------------------------------------------------------


@require_POST
def labels_print(request: HtmxHttpRequest) -> HttpResponse:
    form = LabelsForm(request.POST)
    pks = selected_ids(request.POST.getlist("shipments"))
    if not form.is_valid() or not pks:
        messages.error(request, _("Select the shipments whose labels to print."))
        return _back(request)
    shipments = _shipments(request, pks)
    data = form.cleaned_data
    options = labels.LabelOptions(
        ordering=data["ordering"],
        layout=data["layout"],
        cut_lines=bool(data.get("cut_lines")),
        start=int(data.get("start") or 1),
        summary=bool(data.get("summary")),
    )
    try:
        job = labels.labels_batch_start(user=request.user, shipments=shipments, options=options)
    except PermissionDenied:
        messages.error(request, _("Printing needs the operator role on every chosen account."))
        return _back(request)
    except labels.NothingToPrint:
        messages.error(request, _("None of the chosen shipments has a label to print."))
        return _back(request)
    return HttpResponseRedirect(reverse("shipping:labels_job", args=[job.pk]))


@require_GET
def labels_job(request: HtmxHttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = job_get_for_user(user=request.user, job_id=str(job_id))
    if job.kind != labels.LABELS_KIND:
        raise Http404
    failed = list(job.items.filter(status=ItemStatus.FAILED).order_by("position"))
    context = {
        "job": job,
        "result": job.result or {},
        "failed": failed,
        "file_url": reverse("shipping:labels_file", args=[job.pk])
        if labels.labels_file(job=job)
        else "",
    }
    template = "shipping/labels_job.html#status" if request.htmx else "shipping/labels_job.html"
    return render(request, template, context)


@require_GET
@xframe_options_sameorigin
@_pdf_policy
def labels_file(request: HtmxHttpRequest, job_id: uuid.UUID) -> HttpResponseBase:
    """The batch's file, inline (the browser's viewer prints it); kept for re-printing."""
    job = job_get_for_user(user=request.user, job_id=str(job_id))
    path = labels.labels_file(job=job) if job.kind == labels.LABELS_KIND else None
    if path is None:
        raise Http404
    is_pdf = path.suffix == ".pdf"
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        content_type="application/pdf" if is_pdf else "application/octet-stream",
    )
    response["Content-Disposition"] = f'inline; filename="etykiety-{str(job.pk)[:8]}{path.suffix}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- protocols, pickups, cancelling ----------------------------------------------------------


@require_POST
@xframe_options_sameorigin
@_pdf_policy
def protocol(request: HtmxHttpRequest) -> HttpResponse:
    shipments = _shipments(request, selected_ids(request.POST.getlist("shipments")))
    if not shipments:
        messages.error(request, _("Select the shipments to hand over first."))
        return _back(request)
    try:
        content = dispatch.protocols_pdf(user=request.user, shipments=shipments)
    except PermissionDenied:
        messages.error(request, _("Printing needs the operator role on every chosen account."))
        return _back(request)
    except dispatch.DispatchRefused as exc:
        messages.error(request, str(exc))
        return _back(request)
    except errors.AllegroError as exc:
        messages.error(request, describe_error(exc))
        return _back(request)
    return _inline(content, "protokol-nadania.pdf")


@require_http_methods(["GET", "POST"])
def pickup(request: HtmxHttpRequest) -> HttpResponse:
    """Allegro's proposed dates for the chosen shipments; the chosen one is ordered as a job."""
    source = request.POST if request.method == "POST" else request.GET
    shipments = _shipments(request, selected_ids(source.getlist("shipments")))
    if not shipments:
        messages.error(request, _("Select the shipments to be picked up first."))
        return _back(request)
    try:
        slots = dispatch.pickup_slots(user=request.user, shipments=shipments)
    except PermissionDenied:
        messages.error(request, _("Ordering a pickup needs the operator role."))
        return _back(request)
    except dispatch.DispatchRefused as exc:
        messages.error(request, str(exc))
        return _back(request)
    except errors.AllegroError as exc:
        messages.error(request, describe_error(exc))
        return _back(request)
    by_key = {slot.key: slot for slot in slots}
    # the shipments list and the order page post only the ticked shipments: the dates first
    chosen = request.method == "POST" and "slot" in request.POST
    form = PickupForm(request.POST if chosen else None, slots=list(by_key))
    if chosen and form.is_valid():
        job = dispatch.pickup_create_start(
            user=request.user, shipments=shipments, slot=by_key[form.cleaned_data["slot"]]
        )
        return HttpResponseRedirect(reverse("jobs:detail", args=[job.pk]))
    context = {"form": form, "shipments": shipments, "slots": slots}
    return render(request, "shipping/pickup.html", context, status=422 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
def cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Cancel one shipment, after a confirmation page."""
    shipment = _shipment(request, pk)
    role = roles_by_account(user=request.user).get(shipment.account_id, 0)
    if role < Role.OPERATOR:
        return HttpResponse(_("Cancelling needs the operator role."), status=403)
    if request.method == "GET" or request.POST.get("confirm") != "1":
        return render(request, "shipping/cancel.html", {"shipment": shipment})
    try:
        outcome = dispatch.shipment_cancel(user=request.user, shipment=shipment)
    except PermissionDenied as exc:
        return HttpResponse(str(exc), status=403)
    except dispatch.DispatchRefused as exc:
        messages.error(request, str(exc))
        return _back(request)
    except errors.AllegroError as exc:
        messages.error(request, describe_error(exc))
        return _back(request)
    (messages.success if outcome.cancelled else messages.error)(request, outcome.message)
    return HttpResponseRedirect(reverse("orders:detail", args=[shipment.order_id]))


# --- the packing station ---------------------------------------------------------------------


def _writable_accounts(request: HtmxHttpRequest) -> list[Any]:
    roles = roles_by_account(user=request.user)
    return [
        a
        for a in accounts_visible_to(user=request.user).exclude(status=AccountStatus.UNLINKED)
        if roles.get(a.pk, 0) >= Role.OPERATOR
    ]


def pack_find(*, user: Any, accounts: list[Any], text: str) -> tuple[Order | None, int]:
    """The one order to ship that ``text`` names: an order id (any unique prefix), a buyer
    login or an offer's EAN; with the number of matches (0, 1, or more)."""
    text = text.strip()
    if not text or not accounts:
        return None, 0
    to_ship = queue_orders(query=QueueQuery(accounts=accounts))
    candidates: QuerySet[Order]
    prefix = id_prefix(text)
    if prefix is not None:
        low = uuid.UUID(prefix.ljust(32, "0"))
        high = uuid.UUID(prefix.ljust(32, "f"))
        candidates = Order.objects.filter(
            account__in=accounts, allegro_id__gte=low, allegro_id__lte=high
        )
        if not candidates.exists():
            candidates = to_ship.filter(buyer_login__iexact=text)
    else:
        candidates = to_ship.filter(buyer_login__iexact=text)
    if not candidates.exists() and text.isdigit():
        offer_ids = list(
            offers_by_ean_for_user(
                user=user, ean=text, accounts=[a.pk for a in accounts]
            ).values_list("allegro_id", flat=True)[:50]
        )
        candidates = to_ship.filter(
            pk__in=OrderLineItem.objects.filter(
                account__in=accounts, offer_id__in=offer_ids
            ).values("order_id")
        )
    found = list(candidates.select_related("account").order_by("dispatch_by", "pk")[:2])
    return (found[0] if len(found) == 1 else None), len(found)


@require_GET
def pack(request: HtmxHttpRequest) -> HttpResponse:
    accounts = _writable_accounts(request)
    if not accounts:
        raise PermissionDenied
    form = ScanForm(request.GET or None)
    text = str(form.cleaned_data.get("q") or "") if form.is_bound and form.is_valid() else ""
    order: Order | None = None
    matches = 0
    if text:
        order, matches = pack_find(user=request.user, accounts=accounts, text=text)
    elif request.GET.get("order"):
        pks = selected_ids([request.GET["order"]])
        order = (
            Order.objects.filter(pk__in=pks, account__in=accounts).select_related("account").first()
        )
    context: dict[str, Any] = {"form": ScanForm(), "order": order, "matches": matches}
    context["searched"] = bool(text) or (form.is_bound and not form.is_valid())
    if order is not None:
        shipment = (
            Shipment.objects.filter(order=order, status__in=LIVE_STATUSES)
            .prefetch_related("packages")
            .first()
        )
        job = None
        if request.GET.get("job"):
            try:
                job = job_get_for_user(user=request.user, job_id=request.GET["job"])
            except Http404:
                job = None
        created = shipment is not None and shipment.status == ShipmentStatus.CREATED
        context.update(
            {
                "ref": order_ref(order.allegro_id),
                "lines": list(order.line_items.all()),
                "shipment": shipment,
                "job": job,
                "job_item": job.items.first() if job is not None else None,
                # the station stops polling once the shipment is created, even if its job is
                # still finishing: another swap would take away the label frame it just printed
                "polling": job is not None and job.is_active and not created,
                # the label prints itself once: when the station's Enter created the shipment
                # (its label not printed yet), or when Enter asks for it again
                "print_label": created
                and shipment is not None
                and (
                    request.GET.get("print") == "1"
                    or (job is not None and shipment.label_printed_at is None)
                ),
            }
        )
    template = "shipping/pack.html#result" if request.htmx else "shipping/pack.html"
    return render(request, template, context)


@require_POST
def pack_action(request: HtmxHttpRequest) -> HttpResponse:
    """The station's one field: a scan opens an order; Enter on the empty field creates the
    open order's shipment (its delivery method's default package) whose label then prints by
    itself; Enter again prints the label once more."""
    accounts = _writable_accounts(request)
    if not accounts:
        raise PermissionDenied
    station = reverse("shipping:pack")
    text = (request.POST.get("q") or "").strip()[:64]
    if text:
        return HttpResponseRedirect(f"{station}?{urlencode({'q': text})}")
    pks = selected_ids([request.POST.get("order") or ""])
    order = Order.objects.filter(pk__in=pks, account__in=accounts).select_related("account").first()
    if order is None:
        return HttpResponseRedirect(station)
    shipment = Shipment.objects.filter(order=order, status__in=LIVE_STATUSES).first()
    if shipment is None:
        job = shipments_bulk_create_start(user=request.user, orders=[order])
        assert job.kind == CREATE_KIND
        return HttpResponseRedirect(f"{station}?{urlencode({'order': order.pk, 'job': job.pk})}")
    if shipment.status == ShipmentStatus.CREATED:
        return HttpResponseRedirect(f"{station}?{urlencode({'order': order.pk, 'print': '1'})}")
    job_id = request.POST.get("job") or ""
    return HttpResponseRedirect(f"{station}?{urlencode({'order': order.pk, 'job': job_id})}")
