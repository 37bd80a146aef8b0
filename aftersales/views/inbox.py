"""The inbox (``/after-sales/``): what waits for the seller; its actions on the local state
(assign, mark handled, note) and the navigation badge."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import AccountStatus, Role
from accounts.selectors import account_scope_id, accounts_visible_to, accounts_with_roles
from aftersales.forms import InboxFilterForm, NoteForm
from aftersales.inbox import InboxRows, inbox_counts, inbox_items
from aftersales.selectors import inbox_target_for_user
from aftersales.services import inbox_assign, inbox_mark_handled, inbox_note_add
from aftersales.views._common import back_url
from backoffice.htmx import HtmxHttpRequest
from ui.listing import filter_options, filter_querystring

FILTER_KEYS = InboxFilterForm.field_order


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    scope = account_scope_id(request=request)
    accounts = accounts_with_roles(user=request.user, scope=scope)
    form = InboxFilterForm(request.GET or None, accounts=accounts)
    per_page, number = form.page_size(), request.GET.get("page")
    rows = InboxRows(  # one query: the page, the counts per account and kind, the total
        accounts=accounts,
        query=form.query(),
        user=request.user,
        per_page=per_page,
        page=number,
        now=now,
    )
    page = Paginator(rows, per_page).get_page(number)
    operable = [a.pk for a in accounts if (a.viewer_role or 0) >= Role.OPERATOR]
    refundable = [
        a.pk
        for a in accounts
        if (a.viewer_role or 0) >= Role.MANAGER and a.status != AccountStatus.UNLINKED
    ]
    per_account = rows.counts.per_account()
    context = {
        "form": form,
        "options": filter_options(form) if not request.htmx else {},
        "page": page,
        "items": inbox_items(
            rows=list(page.object_list),
            accounts=accounts,
            user=request.user,
            operable=operable,
            refundable=refundable,
            now=now,
        ),
        "now": now,
        "counts": [(a, per_account.get(a.pk, 0)) for a in accounts],
        "filters_qs": filter_querystring(request.GET, FILTER_KEYS),
        "here": request.get_full_path(),
    }
    template = "aftersales/inbox.html#rows" if request.htmx else "aftersales/inbox.html"
    return render(request, template, context)


@require_GET
def badge(request: HtmxHttpRequest) -> HttpResponse:
    """The navigation's count (loaded by htmx, so other pages pay no query for it)."""
    accounts = list(accounts_visible_to(user=request.user).order_by("login", "id"))
    counts = inbox_counts(accounts=accounts)
    rows = [(a, counts.get(a.pk, 0)) for a in accounts if counts.get(a.pk)]
    return render(
        request,
        "aftersales/_badge.html",
        {"total": sum(counts.values()), "rows": rows},
    )


@require_POST
def handled(request: HtmxHttpRequest, kind: str, pk: int) -> HttpResponse:
    target = inbox_target_for_user(user=request.user, kind=kind, pk=pk)
    undo = request.POST.get("undo") == "1"
    inbox_mark_handled(target=target, actor=request.user, handled=not undo)
    messages.success(
        request, _("Put back in the inbox.") if undo else _("Marked handled: out of the inbox.")
    )
    return HttpResponseRedirect(back_url(request))


@require_POST
def assign(request: HtmxHttpRequest, kind: str, pk: int) -> HttpResponse:
    """``assignee``: ``me``, empty (nobody) or a staff member's id."""
    target = inbox_target_for_user(user=request.user, kind=kind, pk=pk)
    wanted = request.POST.get("assignee", "")
    assignee = None
    if wanted == "me":
        assignee = request.user
    elif wanted:
        from aftersales.selectors import assignable_staff

        staff = {str(u.pk): u for u in assignable_staff(account_id=target.account_id)}
        if wanted not in staff:
            raise Http404("No such staff member.")
        assignee = staff[wanted]
    inbox_assign(target=target, assignee=assignee, actor=request.user)
    messages.success(request, _("Assignment saved."))
    return HttpResponseRedirect(back_url(request))


@require_POST
def note(request: HtmxHttpRequest, kind: str, pk: int) -> HttpResponse:
    target = inbox_target_for_user(user=request.user, kind=kind, pk=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            inbox_note_add(target=target, text=form.cleaned_data["text"], actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Note saved."))
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return HttpResponseRedirect(back_url(request))
