"""Buyer messages: threads across accounts (unread first), a thread (marked read on Allegro),
a reply with attachments (queued: shown as sending), a new message to an order's buyer."""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import AccountStatus, Role
from accounts.selectors import account_scope_id, accounts_with_roles
from accounts.services import AccountReadOnly, account_require_role
from accounts.tokens import AccountNotUsable
from aftersales.forms_returns import MessageForm, NewMessageForm, ThreadFilterForm
from aftersales.inbox import order_url
from aftersales.messaging import Upload, message_send, thread_mark_read
from aftersales.models import MessageThread
from aftersales.selectors import saved_replies_for
from aftersales.selectors_returns import (
    account_get_for_user,
    thread_get_for_user,
    thread_messages,
    threads_matching,
)
from aftersales.views._common import inbox_work
from aftersales.views.disputes import _allegro_errors
from allegro import errors
from backoffice.htmx import HtmxHttpRequest
from ui.listing import filter_options, filter_querystring
from ui.paging import CappedPaginator

FILTER_KEYS = ThreadFilterForm.field_order


def _fill(text: str, *, login: str, order_id: str) -> str:
    for placeholder, value in (
        ("{buyer_login}", login),
        ("{order_id}", order_id),
        ("{offer_title}", ""),
    ):
        text = text.replace(placeholder, value)
    return text


def _uploads(form: MessageForm) -> list[Upload]:
    return [
        Upload(filename=f.name or "file", content=f.read(), content_type=f.content_type)
        for f in form.cleaned_data["attachments"]
    ]


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    accounts = accounts_with_roles(user=request.user, scope=account_scope_id(request=request))
    form = ThreadFilterForm(request.GET or None, accounts=accounts)
    qs = threads_matching(accounts=accounts, **form.query())
    page = CappedPaginator(qs, form.page_size(), count_qs=qs).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "options": filter_options(form) if not request.htmx else {},
        "page": page,
        "filters_qs": filter_querystring(request.GET, FILTER_KEYS),
    }
    template = (
        "aftersales/messages/list.html#rows" if request.htmx else "aftersales/messages/list.html"
    )
    return render(request, template, context)


def _thread_page(
    request: HtmxHttpRequest,
    thread: MessageThread,
    *,
    form: MessageForm | None = None,
    status: int = 200,
) -> HttpResponse:
    role = thread.viewer_role or 0  # type: ignore[attr-defined]
    writable = thread.account.status != AccountStatus.UNLINKED
    can_reply = role >= Role.OPERATOR and writable
    replies = (
        list(saved_replies_for(user=request.user, account_id=thread.account_id))
        if can_reply
        else []
    )
    fill = {"login": thread.interlocutor_login, "order_id": thread.order_id}
    if form is None:
        initial = ""
        for reply in replies:
            if str(reply.pk) == request.GET.get("reply", ""):
                initial = _fill(reply.text, **fill)
        form = MessageForm(initial={"text": initial})
    chat = thread_messages(thread=thread)
    context = {
        "thread": thread,
        "chat": chat,
        "sending": any(m.local_state == "sending" for m in chat),
        "order_url": order_url(account_id=thread.account_id, checkout_form_id=thread.order_id),
        "can_reply": can_reply,
        "form": form,
        "replies": [(r, _fill(r.text, **fill)) for r in replies],
        **inbox_work(request, target=thread, kind="thread", role=role),
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
    role = item.viewer_role or 0  # type: ignore[attr-defined]
    if not item.read and role >= Role.OPERATOR and item.account.status != AccountStatus.UNLINKED:
        # still unread on Allegro when this fails; the page is readable anyway
        with contextlib.suppress(errors.AllegroError, AccountNotUsable):
            thread_mark_read(actor=request.user, thread=item)
    return _thread_page(request, item)


@require_POST
def reply(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    item = thread_get_for_user(user=request.user, pk=pk)
    account_require_role(user=request.user, account=item.account, role=Role.OPERATOR)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            message_send(
                actor=request.user,
                account=item.account,
                text=form.cleaned_data["text"],
                thread=item,
                files=_uploads(form),
            )
        except AccountReadOnly:
            raise
        except (errors.AllegroError, AccountNotUsable) as exc:
            _allegro_errors(form, exc, {"text": "text", "attachments": "attachments"})
        else:
            messages.success(request, _("Message queued: it is being sent to the buyer."))
            return HttpResponseRedirect(reverse("aftersales:thread", args=[item.pk]))
    return _thread_page(request, item, form=form, status=422)


@require_http_methods(["GET", "POST"])
def new(request: HtmxHttpRequest) -> HttpResponse:
    accounts = [
        a
        for a in accounts_with_roles(user=request.user)
        if (a.viewer_role or 0) >= Role.OPERATOR and a.status != AccountStatus.UNLINKED
    ]
    if request.method == "POST":
        form: Any = NewMessageForm(request.POST, request.FILES, accounts=accounts)
        if form.is_valid():
            account = account_get_for_user(user=request.user, pk=form.cleaned_data["account"])
            try:
                message = message_send(
                    actor=request.user,
                    account=account,
                    text=form.cleaned_data["text"],
                    order_id=form.cleaned_data["order"],
                    login=form.cleaned_data["login"],
                    files=_uploads(form),
                )
            except AccountReadOnly:
                raise
            except (errors.AllegroError, AccountNotUsable) as exc:
                _allegro_errors(form, exc, {"text": "text", "order": "order"})
            else:
                messages.success(request, _("Message queued: it is being sent to the buyer."))
                del message
                return HttpResponseRedirect(reverse("aftersales:messages"))
        status = 422
    else:
        form = NewMessageForm(
            initial={
                "account": request.GET.get("account"),
                "login": request.GET.get("login", "")[:128],
                "order": request.GET.get("order", "")[:64],
            },
            accounts=accounts,
        )
        status = 200
    if not accounts:
        return HttpResponse(_("You may not write to buyers on any account."), status=403)
    return render(request, "aftersales/messages/new.html", {"form": form}, status=status)
