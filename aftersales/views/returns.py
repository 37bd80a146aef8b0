"""Customer returns (list across accounts, detail, rejection) and refunds (the form from an
order or a return, its status followed, commission refund claims)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import AllegroAccount, Role
from accounts.selectors import account_scope_id, accounts_visible_to, accounts_with_roles
from accounts.services import account_require_role, allegro_client_for
from accounts.tokens import AccountNotUsable
from aftersales.forms_returns import (
    REFUND_REASON_LABELS,
    REJECTION_LABELS,
    RETURN_STATUS_LABELS,
    ClaimForm,
    OrderLine,
    RefundForm,
    RejectForm,
    ReturnFilterForm,
)
from aftersales.inbox import order_url
from aftersales.models import CustomerReturn, Refund, RefundClaim
from aftersales.refunds import RefundLineInput, refund_claim_file, refund_create, refunds_of_order
from aftersales.returns import return_reject
from aftersales.selectors_returns import (
    account_get_for_user,
    customer_return_get_for_user,
    customer_returns_matching,
)
from aftersales.views._common import inbox_work, may_act, on_allegro, order_id_or_404
from allegro import errors
from allegro.api import orders as orders_api
from allegro.api import refunds as refunds_api
from backoffice.htmx import HtmxHttpRequest
from ui.errors import describe_error
from ui.listing import filter_options, filter_querystring
from ui.paging import CappedPaginator

FILTER_KEYS = ReturnFilterForm.field_order


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    accounts = accounts_with_roles(user=request.user, scope=account_scope_id(request=request))
    form = ReturnFilterForm(request.GET or None, accounts=accounts)
    qs = customer_returns_matching(accounts=accounts, query=form.query())
    page = CappedPaginator(qs, form.page_size(), count_qs=qs).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "options": filter_options(form) if not request.htmx else {},
        "page": page,
        "filters_qs": filter_querystring(request.GET, FILTER_KEYS),
        "status_labels": RETURN_STATUS_LABELS,
    }
    template = (
        "aftersales/returns/list.html#rows" if request.htmx else "aftersales/returns/list.html"
    )
    return render(request, template, context)


def _return_page(
    request: HtmxHttpRequest,
    ret: CustomerReturn,
    *,
    form: RejectForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_manage = may_act(
        viewer_role=ret.viewer_role,  # type: ignore[attr-defined]
        account=ret.account,
        role=Role.MANAGER,
    )
    context = {
        "ret": ret,
        "items": list(ret.items.order_by("position")),
        "parcels": list(ret.parcels.order_by("position")),
        "refunds": list(ret.refunds.order_by("-created_at")),
        "order_url": order_url(account_id=ret.account_id, checkout_form_id=ret.order_id),
        "status_labels": RETURN_STATUS_LABELS,
        "rejection_labels": REJECTION_LABELS,
        "can_manage": can_manage,
        "can_reject": can_manage and ret.status != "REJECTED",
        "reject_form": form or RejectForm(),
        **inbox_work(
            request,
            target=ret,
            kind="return",
            role=ret.viewer_role or 0,  # type: ignore[attr-defined]
        ),
    }
    return render(request, "aftersales/returns/detail.html", context, status=status)


@require_GET
def detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _return_page(request, customer_return_get_for_user(user=request.user, pk=pk))


@require_POST
def reject(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    ret = customer_return_get_for_user(user=request.user, pk=pk)
    account_require_role(user=request.user, account=ret.account, role=Role.MANAGER)
    form = RejectForm(request.POST)
    if form.is_valid():
        rejected = on_allegro(
            form,
            {"rejection": "code", "code": "code", "reason": "reason"},
            lambda: return_reject(
                actor=request.user,
                customer_return=ret,
                code=form.cleaned_data["code"],
                reason=form.cleaned_data["reason"],
            ),
        )
        if rejected is not None:
            messages.success(request, _("Return rejected on Allegro."))
            return HttpResponseRedirect(reverse("aftersales:return", args=[ret.pk]))
    return _return_page(request, ret, form=form, status=422)


# --- refunds ------------------------------------------------------------------------------------


def _currency(checkout: orders_api.CheckoutForm) -> str:
    paid = checkout.payment.paid
    return (paid.currency if paid else "") or "PLN"


def _order_lines(
    account: AllegroAccount, order_id: str
) -> tuple[orders_api.CheckoutForm, list[OrderLine], Decimal, dict[str, Any]]:
    form = orders_api.get_checkout_form(
        allegro_client_for(account=account), checkout_form_id=order_id
    )
    done = refunds_of_order(account=account, order_id=order_id)
    lines = [
        OrderLine(
            id=li.id,
            name=li.offer_name or li.offer_id or li.id,
            quantity=li.quantity,
            price=li.price.amount if li.price and li.price.amount is not None else Decimal(0),
            refunded_quantity=done["quantity"].get(li.id, 0),
            refunded_amount=done["amount"].get(li.id, Decimal(0)),
            currency=(li.price.currency if li.price else "") or _currency(form),
        )
        for li in form.line_items
    ]
    paid = (
        form.payment.paid.amount if form.payment.paid and form.payment.paid.amount else Decimal(0)
    )
    return form, lines, paid, done


def _refund_page(
    request: HtmxHttpRequest,
    account: AllegroAccount,
    order_id: str,
    *,
    post: Any = None,
    claim_post: Any = None,
) -> HttpResponse:
    ret_pk = request.POST.get("return") or request.GET.get("return") or ""
    ret = None
    if ret_pk.isdigit() and len(ret_pk) < 18:
        ret = CustomerReturn.objects.filter(
            account=account, pk=int(ret_pk), order_id=order_id
        ).first()
    try:
        checkout, lines, paid, done = _order_lines(account, order_id)
    except (errors.AllegroError, AccountNotUsable) as exc:
        return render(
            request,
            "aftersales/refunds/form.html",
            {"account": account, "order_id": order_id, "problem": describe_error(exc)},
            status=502 if isinstance(exc, errors.TransientError) else 404,
        )
    form = RefundForm(
        post,
        lines=lines,
        paid=paid,
        refunded=done["total"],
        currency=_currency(checkout),
        initial={"command_id": str(uuid.uuid4()), "reason": "REFUND"},
    )
    claim_form = ClaimForm(claim_post, lines=lines)
    status = 200
    if post is not None and form.is_valid():
        data = form.cleaned_data
        refund = on_allegro(
            form,
            {},
            lambda: refund_create(
                actor=request.user,
                account=account,
                order_id=order_id,
                lines=[
                    RefundLineInput(line_item_id=i, quantity=q, amount=a)
                    for i, q, a in data["lines"]
                ],
                reason=data["reason"],
                delivery=data.get("delivery"),
                currency=_currency(checkout),
                seller_comment=data.get("comment") or "",
                customer_return=ret,
                payment_id=checkout.payment.id or None,
                command_id=data["command_id"],
            ),
        )
        if refund is not None:
            messages.success(request, _("Refund queued: it is sent to Allegro now."))
            return HttpResponseRedirect(reverse("aftersales:refund_status", args=[refund.pk]))
        status = 422
    elif post is not None:
        status = 422
    claimable = checkout.status == "CANCELLED" or checkout.payment.paid is None
    if claim_post is not None and claimable and claim_form.is_valid():
        filed = on_allegro(
            claim_form,
            {"lineItem": "line_item", "quantity": "quantity"},
            lambda: refund_claim_file(
                actor=request.user,
                account=account,
                line_item_id=claim_form.cleaned_data["line_item"],
                quantity=claim_form.cleaned_data["quantity"],
            ),
        )
        if filed is not None:
            messages.success(request, _("Commission refund claim filed on Allegro."))
            return HttpResponseRedirect(reverse("aftersales:refund", args=[account.pk, order_id]))
        status = 422
    elif claim_post is not None:
        if not claimable:
            claim_form.add_error(
                None, _("Only a cancelled or unpaid order's commission can be claimed.")
            )
        status = 422
    context = {
        "account": account,
        "order_id": order_id,
        "order_url": order_url(account_id=account.pk, checkout_form_id=order_id),
        "checkout": checkout,
        "form": form,
        "claim_form": claim_form,
        "claimable": claimable,
        "claims": list(
            RefundClaim.objects.filter(
                account=account, line_item_id__in=[line.id for line in lines]
            ).order_by("-created_at")
        ),
        "paid": paid,
        "currency": _currency(checkout),
        "done": done,
        "ret": ret,
        "refunds": list(
            Refund.objects.filter(account=account, order_id=order_id).order_by("-created_at")
        ),
        "reason_labels": REFUND_REASON_LABELS,
    }
    return render(request, "aftersales/refunds/form.html", context, status=status)


def _manager_account(request: HtmxHttpRequest, account_id: int) -> AllegroAccount:
    account = account_get_for_user(user=request.user, pk=account_id)
    account_require_role(user=request.user, account=account, role=Role.MANAGER)
    return account


@require_http_methods(["GET", "POST"])
def refund(request: HtmxHttpRequest, account_id: int, order_id: str) -> HttpResponse:
    account = _manager_account(request, account_id)
    order_id = order_id_or_404(order_id)
    if request.method == "POST":
        command = str(request.POST.get("command_id", ""))[:64]
        existing = Refund.objects.filter(account=account, command_id=command).first()
        if command and existing is not None:  # a double click: the refund the first one made
            return HttpResponseRedirect(reverse("aftersales:refund_status", args=[existing.pk]))
        return _refund_page(request, account, order_id, post=request.POST)
    return _refund_page(request, account, order_id)


@require_POST
def claim(request: HtmxHttpRequest, account_id: int, order_id: str) -> HttpResponse:
    account = _manager_account(request, account_id)
    return _refund_page(request, account, order_id_or_404(order_id), claim_post=request.POST)


@require_GET
def refund_status(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    refund = get_object_or_404(
        Refund.objects.select_related("account", "customer_return").prefetch_related("lines"),
        pk=pk,
        account__in=accounts_visible_to(user=request.user),
    )
    final = refund.status in refunds_api.FINAL_STATUSES or refund.local_state == Refund.Local.FAILED
    context = {
        "refund": refund,
        "final": final,
        "order_url": order_url(account_id=refund.account_id, checkout_form_id=refund.order_id),
        "reason_labels": REFUND_REASON_LABELS,
    }
    template = (
        "aftersales/refunds/status.html#state" if request.htmx else "aftersales/refunds/status.html"
    )
    return render(request, template, context)
