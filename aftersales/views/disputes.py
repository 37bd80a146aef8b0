"""Dispute and claim pages: the list (filters, search), the detail with the whole chat, the
reply, the claim decision and the attachment download (through this server)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import AccountStatus, Role
from accounts.selectors import account_scope_id, accounts_with_roles
from accounts.services import AccountReadOnly
from accounts.tokens import AccountNotUsable
from aftersales.disputes import (
    ChatClosed,
    OutgoingFile,
    claim_decide,
    dispute_attachment,
    dispute_can_decide,
    dispute_chat_active,
    dispute_get_for_user,
    dispute_message_types,
    dispute_reply,
    disputes_matching,
)
from aftersales.forms_disputes import (
    DECISION_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
    ClaimDecisionForm,
    DisputeFilterForm,
    ReplyForm,
)
from aftersales.inbox import order_shipments_url, order_url
from aftersales.models import Dispute
from aftersales.selectors import claim_decision_of, dispute_chat, dispute_rows, saved_replies_for
from aftersales.views._common import attachment_response, form_allegro_errors
from allegro import errors
from allegro.api.issues import ATTACHMENT_TYPES
from backoffice.htmx import HtmxHttpRequest
from ui.errors import describe_error
from ui.listing import filter_options, filter_querystring
from ui.paging import CappedPaginator

FILTER_KEYS = DisputeFilterForm.field_order
# Disputes are counted exactly up to this many (an index-only count, about a millisecond for
# 10 000): a shop has far fewer disputes than ratings or orders, and an exact total costs less
# than the planner's estimate (one more query) the default cap would ask for.
COUNT_CAP = 10_000


def _saved_replies(request: HtmxHttpRequest, dispute: Dispute) -> list[Any]:
    return list(saved_replies_for(user=request.user, account_id=dispute.account_id))


def _fill(text: str, dispute: Dispute) -> str:
    for placeholder, value in (
        ("{buyer_login}", dispute.buyer_login),
        ("{order_id}", dispute.checkout_form_id),
        ("{offer_title}", ""),
    ):
        text = text.replace(placeholder, value)
    return text


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    accounts = accounts_with_roles(user=request.user, scope=account_scope_id(request=request))
    form = DisputeFilterForm(request.GET or None, accounts=accounts)
    # Allegro's document is not shown (it is most of a row's bytes); the account's login comes
    # from the accounts in view, not from a join
    qs = disputes_matching(accounts=accounts, query=form.query()).defer("raw")
    paginator = CappedPaginator(qs, form.page_size(), count_qs=qs, cap=COUNT_CAP)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "form": form,
        "options": filter_options(form) if not request.htmx else {},
        "page": page,
        "rows": dispute_rows(
            disputes=page.object_list,
            logins={a.pk: a.login for a in accounts},
            detail_prefix=reverse("aftersales:disputes"),
            type_labels=TYPE_LABELS,
            status_labels=STATUS_LABELS,
        ),
        "filters_qs": filter_querystring(request.GET, FILTER_KEYS),
    }
    template = (
        "aftersales/disputes/list.html#rows" if request.htmx else "aftersales/disputes/list.html"
    )
    return render(request, template, context)


def _detail(
    request: HtmxHttpRequest, dispute: Dispute, *, status: int = 200, **forms: Any
) -> HttpResponse:
    role = dispute.viewer_role or 0  # type: ignore[attr-defined]
    writable = dispute.account.status != AccountStatus.UNLINKED
    types = dispute_message_types(dispute=dispute)
    replies = _saved_replies(request, dispute) if role >= Role.OPERATOR else []
    reply_form = forms.get("reply_form")
    if reply_form is None:
        initial = ""
        for reply in replies:
            if str(reply.pk) == request.GET.get("reply", ""):
                initial = _fill(reply.text, dispute)
        reply_form = ReplyForm(initial={"text": initial, "type": "REGULAR"}, message_types=types)
    context = {
        "dispute": dispute,
        "chat": dispute_chat(
            dispute=dispute, detail_url=reverse("aftersales:dispute", args=[dispute.pk])
        ),
        "order_url": order_url(
            account_id=dispute.account_id, checkout_form_id=dispute.checkout_form_id
        ),
        "shipments_url": order_shipments_url(
            account_id=dispute.account_id, checkout_form_id=dispute.checkout_form_id
        ),
        "chat_active": dispute_chat_active(dispute=dispute),
        "can_reply": role >= Role.OPERATOR and writable,
        "can_decide": role >= Role.MANAGER and writable and dispute_can_decide(dispute=dispute),
        "reply_form": reply_form,
        "decision_form": forms.get("decision_form") or ClaimDecisionForm(),
        "replies": [(r, _fill(r.text, dispute)) for r in replies],
        "type_labels": TYPE_LABELS,
        "status_labels": STATUS_LABELS,
        "decision": claim_decision_of(dispute=dispute) if dispute.type == "CLAIM" else None,
        "decision_labels": DECISION_LABELS,
    }
    return render(request, "aftersales/disputes/detail.html", context, status=status)


@require_GET
def detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _detail(request, dispute_get_for_user(user=request.user, pk=pk))


@require_POST
def reply(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    dispute = dispute_get_for_user(user=request.user, pk=pk)
    form = ReplyForm(
        request.POST, request.FILES, message_types=dispute_message_types(dispute=dispute)
    )
    if form.is_valid():
        files = [
            OutgoingFile(name=f.name or "file", content=f.read())
            for f in form.cleaned_data["attachments"]
        ]
        try:
            dispute_reply(
                dispute=dispute,
                text=form.cleaned_data["text"] or "",
                message_type=form.cleaned_data["type"],
                files=files,
                actor=request.user,
            )
        except AccountReadOnly:
            raise
        except ChatClosed as exc:
            form.add_error(None, exc)
        except ValidationError as exc:
            form.add_error(None, exc)
        except (errors.AllegroError, AccountNotUsable) as exc:
            form_allegro_errors(
                form,
                exc,
                {
                    "text": "text",
                    "type": "type",
                    "attachments": "attachments",
                    "size": "attachments",
                },
            )
        else:
            messages.success(request, _("Message sent to the buyer on Allegro."))
            return HttpResponseRedirect(reverse("aftersales:dispute", args=[dispute.pk]))
    return _detail(request, dispute, status=422, reply_form=form)


@require_POST
def decide(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    dispute = dispute_get_for_user(user=request.user, pk=pk)
    form = ClaimDecisionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            claim_decide(
                dispute=dispute,
                decision=data["decision"],
                message=data["message"],
                refund=data.get("refund"),
                currency=data["currency"],
                actor=request.user,
            )
        except AccountReadOnly:
            raise
        except ValidationError as exc:
            form.add_error(None, exc)
        except (errors.AllegroError, AccountNotUsable) as exc:
            form_allegro_errors(
                form,
                exc,
                {"status": "decision", "message": "message", "partialRefund": "refund"},
            )
        else:
            messages.success(request, _("Decision sent to Allegro."))
            return HttpResponseRedirect(reverse("aftersales:dispute", args=[dispute.pk]))
    return _detail(request, dispute, status=422, decision_form=form)


@require_GET
def attachment(request: HtmxHttpRequest, pk: int, message_pk: int, index: int) -> HttpResponse:
    dispute = dispute_get_for_user(user=request.user, pk=pk)
    try:
        got = dispute_attachment(dispute=dispute, message_pk=message_pk, index=index)
    except (errors.AllegroError, AccountNotUsable) as exc:
        return HttpResponse(describe_error(exc), status=502, content_type="text/plain")
    return attachment_response(got, inline_types=ATTACHMENT_TYPES)
