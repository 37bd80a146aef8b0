"""Buyer messages: threads across accounts (unread first), a thread (marked read on Allegro),
a reply with attachments (queued: shown as sending), a new message to an order's buyer."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from accounts.selectors import account_scope_id, accounts_with_roles
from accounts.services import account_require_role
from accounts.tokens import AccountNotUsable
from aftersales.forms_returns import MessageForm, NewMessageForm, ThreadFilterForm
from aftersales.inbox import order_url
from aftersales.messaging import Upload, message_attachment, message_send, thread_mark_read
from aftersales.models import Message, MessageThread
from aftersales.selectors import reply_fill, saved_replies_for
from aftersales.selectors_returns import (
    account_get_for_user,
    messages_outgoing,
    thread_get_for_user,
    thread_messages,
    threads_matching,
)
from aftersales.views._common import attachment_response, inbox_work, may_act, on_allegro
from allegro import errors
from allegro.api.messaging import ATTACHMENT_TYPES
from backoffice.htmx import HtmxHttpRequest
from ui.errors import describe_error
from ui.listing import filter_options, filter_querystring
from ui.paging import CappedPaginator

FILTER_KEYS = ThreadFilterForm.field_order
OUTGOING_FAILED_FOR = timedelta(days=7)  # a new message that failed stays listed this long


def _uploads(form: MessageForm) -> list[Upload]:
    return [
        Upload(filename=f.name or "file", content=f.read(), content_type=f.content_type)
        for f in form.cleaned_data["attachments"]
    ]


def _queued(request: HtmxHttpRequest, to: str) -> HttpResponse:
    messages.success(request, _("Message queued: it is being sent to the buyer."))
    return HttpResponseRedirect(to)


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    accounts = accounts_with_roles(user=request.user, scope=account_scope_id(request=request))
    form = ThreadFilterForm(request.GET or None, accounts=accounts)
    qs = threads_matching(accounts=accounts, **form.query())
    page = CappedPaginator(qs, form.page_size(), count_qs=qs).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "page": page,
        "filters_qs": filter_querystring(request.GET, FILTER_KEYS),
    }
    if request.htmx:
        return render(request, "aftersales/messages/list.html#rows", context)
    context["form"] = form
    context["options"] = filter_options(form)
    context["outgoing"] = messages_outgoing(
        accounts=accounts,
        account_ids=tuple(form.account_ids()),
        since=timezone.now() - OUTGOING_FAILED_FOR,
    )
    return render(request, "aftersales/messages/list.html", context)


def _thread_page(
    request: HtmxHttpRequest,
    thread: MessageThread,
    *,
    form: MessageForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_reply = may_act(
        viewer_role=thread.viewer_role,  # type: ignore[attr-defined]
        account=thread.account,
        role=Role.OPERATOR,
    )
    saved = saved_replies_for(user=request.user, account_id=thread.account_id) if can_reply else ()
    replies = [
        (
            r,
            reply_fill(
                text=r.text, buyer_login=thread.interlocutor_login, order_id=thread.order_id
            ),
        )
        for r in saved
    ]
    if form is None:
        chosen = request.GET.get("reply", "")
        form = MessageForm(
            initial={"text": next((text for r, text in replies if str(r.pk) == chosen), "")}
        )
    chat = thread_messages(thread=thread)
    context = {
        "thread": thread,
        "chat": chat,
        "sending": any(m.local_state == Message.Local.SENDING for m in chat),
        "order_url": order_url(account_id=thread.account_id, checkout_form_id=thread.order_id),
        "can_reply": can_reply,
        "form": form,
        "replies": replies,
        **inbox_work(
            request,
            target=thread,
            kind="thread",
            role=thread.viewer_role or 0,  # type: ignore[attr-defined]
        ),
    }
    template = (
        "aftersales/messages/thread.html#chat"
        if request.htmx and request.GET.get("part") == "chat"
        else "aftersales/messages/thread.html"
    )
    return render(request, template, context, status=status)


@require_GET
def thread(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    item = thread_get_for_user(user=request.user, pk=pk)
    operator = may_act(
        viewer_role=item.viewer_role,  # type: ignore[attr-defined]
        account=item.account,
        role=Role.OPERATOR,
    )
    if not item.read and operator:
        # still unread on Allegro when this fails; the page is readable anyway
        with contextlib.suppress(errors.AllegroError, AccountNotUsable):
            thread_mark_read(actor=request.user, thread=item)
    return _thread_page(request, item)


@require_GET
def attachment(request: HtmxHttpRequest, pk: int, message_pk: int, index: int) -> HttpResponse:
    item = thread_get_for_user(user=request.user, pk=pk)
    try:
        got = message_attachment(thread=item, message_pk=message_pk, index=index)
    except (errors.AllegroError, AccountNotUsable) as exc:
        return HttpResponse(describe_error(exc), status=502, content_type="text/plain")
    return attachment_response(got, inline_types=ATTACHMENT_TYPES)


@require_POST
def reply(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    item = thread_get_for_user(user=request.user, pk=pk)
    account_require_role(user=request.user, account=item.account, role=Role.OPERATOR)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        sent = on_allegro(
            form,
            {"text": "text", "attachments": "attachments"},
            lambda: message_send(
                actor=request.user,
                account=item.account,
                text=form.cleaned_data["text"],
                thread=item,
                files=_uploads(form),
            ),
        )
        if sent is not None:
            return _queued(request, reverse("aftersales:thread", args=[item.pk]))
    return _thread_page(request, item, form=form, status=422)


@require_http_methods(["GET", "POST"])
def new(request: HtmxHttpRequest) -> HttpResponse:
    accounts = [
        a
        for a in accounts_with_roles(user=request.user)
        if may_act(viewer_role=a.viewer_role, account=a, role=Role.OPERATOR)
    ]
    if not accounts:
        return HttpResponse(_("You may not write to buyers on any account."), status=403)
    if request.method == "GET":
        form = NewMessageForm(
            initial={
                "account": request.GET.get("account"),
                "login": request.GET.get("login", "")[:128],
                "order": request.GET.get("order", "")[:64],
            },
            accounts=accounts,
        )
        return render(request, "aftersales/messages/new.html", {"form": form})
    form = NewMessageForm(request.POST, request.FILES, accounts=accounts)
    if form.is_valid():
        account = account_get_for_user(user=request.user, pk=form.cleaned_data["account"])
        sent = on_allegro(
            form,
            {"text": "text", "order": "order", "recipient": "login"},
            lambda: message_send(
                actor=request.user,
                account=account,
                text=form.cleaned_data["text"],
                order_id=form.cleaned_data["order"],
                login=form.cleaned_data["login"],
                files=_uploads(form),
            ),
        )
        if sent is not None:
            return _queued(request, reverse("aftersales:messages"))
    return render(request, "aftersales/messages/new.html", {"form": form}, status=422)
