"""Account switcher, the Allegro accounts page, and linking / re-linking / unlinking accounts."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.allegro_setup import callback_path, redirect_uri_for
from accounts.linking import LinkFailed, link_begin, link_complete
from accounts.models import Role
from accounts.selectors import (
    account_get_for_user,
    account_rows_for,
    user_can_link_accounts,
)
from accounts.services import account_require_role, account_scope_set, account_unlink
from backoffice.htmx import HtmxHttpRequest
from backoffice.redirects import safe_back_url

logger = logging.getLogger(__name__)


def _safe_next(request: HttpRequest) -> str:
    return safe_back_url(
        request, (request.POST.get("next"), request.headers.get("referer")), reverse("dashboard")
    )


@require_POST
def switch_account(request: HtmxHttpRequest) -> HttpResponse:
    """Set the account scope (session ``account_scope``) and go back where the user was."""
    account = account_scope_set(request=request, account_id=request.POST.get("account") or None)
    if account is None:
        messages.info(request, _("Showing all your accounts."))
    else:
        messages.info(request, _("Showing account %(login)s.") % {"login": account.login})
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return HttpResponseRedirect(_safe_next(request))


def _render_list(request: HtmxHttpRequest, *, confirm_unlink: int | None = None) -> HttpResponse:
    """The Accounts page (for HTMX its rows); ``confirm_unlink``: the account whose row asks
    "Unlink …?" in place of its Unlink button."""
    rows = account_rows_for(user=request.user)
    context = {
        "rows": rows,
        "accounts": [row.account for row in rows],
        "can_link": user_can_link_accounts(user=request.user),
        "confirm_unlink": confirm_unlink,
    }
    template = "accounts/list.html#rows" if request.htmx else "accounts/list.html"
    return render(request, template, context)


@require_GET
def account_list(request: HtmxHttpRequest) -> HttpResponse:
    return _render_list(request)


@require_POST
def link_start(request: HttpRequest) -> HttpResponse:
    """Send the browser to Allegro's consent page (new account, or re-link ``account``)."""
    account = None
    if request.POST.get("account"):
        account = account_get_for_user(user=request.user, account_id=request.POST["account"])
        account_require_role(user=request.user, account=account, role=Role.MANAGER)
    elif not user_can_link_accounts(user=request.user):
        raise PermissionDenied(_("Only managers can link Allegro accounts."))
    url = link_begin(
        session=request.session,
        user_id=int(str(request.user.pk)),
        redirect_uri=redirect_uri_for(
            absolute_callback=request.build_absolute_uri(callback_path())
        ),
        account=account,
    )
    return HttpResponseRedirect(url)


@require_GET
def link_callback(request: HttpRequest) -> HttpResponse:
    """Allegro sends the browser back here with ``code`` + ``state`` (or ``error``)."""
    params = {key: request.GET.get(key, "") for key in ("state", "code", "error")}
    try:
        result = link_complete(session=request.session, user=request.user, params=params)
    except LinkFailed as exc:
        logger.info("linking an Allegro account stopped: %s", exc.code)
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("accounts:list"))
    if result.created:
        message = _("Allegro account %(login)s is linked.")
    else:
        message = _("Allegro account %(login)s is linked again.")
    messages.success(request, message % {"login": result.account.login})
    return HttpResponseRedirect(reverse("accounts:list"))


@require_POST
def unlink(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    """Unlink after a confirmation: without ``confirm`` the page (or, for HTMX, the rows) asks
    in the account's row first and nothing changes."""
    account = account_get_for_user(user=request.user, account_id=account_id)
    account_require_role(user=request.user, account=account, role=Role.MANAGER)
    if request.POST.get("confirm") != "1":
        return _render_list(request, confirm_unlink=account.pk)
    account_unlink(account=account, actor=request.user)
    messages.success(
        request,
        _("Allegro account %(login)s is unlinked; its data stays visible read-only.")
        % {"login": account.login},
    )
    if request.htmx:
        return _render_list(request)
    return HttpResponseRedirect(reverse("accounts:list"))
