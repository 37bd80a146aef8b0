"""Saved replies: list, create, edit, delete (operators; viewers read)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from accounts.selectors import accounts_with_roles
from aftersales.forms import SavedReplyForm
from aftersales.models import SavedReply
from aftersales.selectors import saved_replies_for, saved_reply_get_for_user, user_can_edit_reply
from aftersales.services import saved_reply_delete, saved_reply_save
from backoffice.htmx import HtmxHttpRequest


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    replies = list(saved_replies_for(user=request.user))
    return render(
        request,
        "aftersales/replies/list.html",
        {
            "replies": replies,
            "can_create": user_can_edit_reply(user=request.user, reply=None),
            "editable": {r.pk for r in replies if user_can_edit_reply(user=request.user, reply=r)},
        },
    )


def _form_page(request: HtmxHttpRequest, reply: SavedReply | None) -> HttpResponse:
    if not user_can_edit_reply(user=request.user, reply=reply):
        raise PermissionDenied(_("Your role does not allow editing saved replies."))
    accounts = [
        a for a in accounts_with_roles(user=request.user) if (a.viewer_role or 0) >= Role.OPERATOR
    ]
    initial = {}
    if reply is not None:
        initial = {"title": reply.title, "text": reply.text, "account": reply.account_id or ""}
    form = SavedReplyForm(
        request.POST if request.method == "POST" else None, accounts=accounts, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved_reply_save(
                reply=reply,
                account=form.chosen_account(),
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error("text", exc)
        else:
            messages.success(
                request,
                _("Saved the reply “%(title)s”.") % {"title": form.cleaned_data["title"]},
            )
            return HttpResponseRedirect(reverse("aftersales:replies"))
    status = 422 if request.method == "POST" else 200
    return render(
        request, "aftersales/replies/form.html", {"form": form, "reply": reply}, status=status
    )


@require_http_methods(["GET", "POST"])
def create(request: HtmxHttpRequest) -> HttpResponse:
    return _form_page(request, None)


@require_http_methods(["GET", "POST"])
def edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, saved_reply_get_for_user(user=request.user, pk=pk))


@require_POST
def delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    reply = saved_reply_get_for_user(user=request.user, pk=pk)
    saved_reply_delete(reply=reply, actor=request.user)
    messages.success(request, _("Saved reply deleted."))
    return HttpResponseRedirect(reverse("aftersales:replies"))
