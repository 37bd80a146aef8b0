"""Rating pages: the list (filters, search, the accounts' summaries), the detail with its
history, the answer and the removal request."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import AccountStatus, Role
from accounts.selectors import account_scope_id, accounts_in_scope, accounts_with_roles
from accounts.services import AccountReadOnly
from aftersales.forms import AnswerForm, AssignForm, NoteForm, RatingFilterForm, RemovalForm
from aftersales.inbox import order_url
from aftersales.models import Rating
from aftersales.selectors import (
    RatingRow,
    assignable_staff,
    rating_get_for_user,
    rating_notes,
    rating_offers,
    rating_revisions,
    rating_rows,
    ratings_matching,
    reply_render,
    saved_replies_for,
)
from aftersales.services import (
    rating_answer,
    rating_removal_possible,
    rating_request_removal,
    ratings_summaries_for,
)
from allegro import errors
from backoffice.htmx import HtmxHttpRequest
from ui.errors import describe_error, errors_by_field
from ui.listing import filter_options, filter_querystring
from ui.paging import CappedPaginator

FILTER_KEYS = RatingFilterForm.field_order
SUMMARY_ACCOUNTS = 10  # summaries shown at most (each is one cached Allegro call)


def _summaries(accounts: Any) -> list[tuple[Any, Any]]:
    return ratings_summaries_for(accounts=list(accounts)[:SUMMARY_ACCOUNTS])


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    scope = account_scope_id(request=request)
    accounts = accounts_with_roles(user=request.user, scope=scope)
    form = RatingFilterForm(request.GET or None, accounts=accounts)
    # only the columns a row shows (Allegro's document is most of a row's bytes); the account's
    # login comes from the accounts in view, not from a join
    qs = ratings_matching(accounts=accounts, query=form.query()).only(*RatingRow.COLUMNS)
    page = CappedPaginator(qs, form.page_size(), count_qs=qs).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "options": filter_options(form) if not request.htmx else {},
        "page": page,
        "rows": rating_rows(
            ratings=page.object_list,
            logins={a.pk: a.login for a in accounts},
            detail_prefix=reverse("aftersales:ratings"),
        ),
        "filters_qs": filter_querystring(request.GET, FILTER_KEYS),
        "summaries": _summaries(accounts) if not request.htmx else [],
    }
    template = (
        "aftersales/ratings/list.html#rows" if request.htmx else "aftersales/ratings/list.html"
    )
    return render(request, template, context)


@require_GET
def summary(request: HtmxHttpRequest) -> HttpResponse:
    """The ratings summaries of the accounts in view (a fragment the dashboard loads)."""
    accounts = accounts_in_scope(request=request).order_by("login", "id")
    return render(request, "aftersales/ratings/_summary.html", {"summaries": _summaries(accounts)})


def _detail(
    request: HtmxHttpRequest, rating: Rating, *, status: int = 200, **forms: Any
) -> HttpResponse:
    role = rating.viewer_role or 0  # type: ignore[attr-defined]
    writable = rating.account.status != AccountStatus.UNLINKED
    replies = list(saved_replies_for(user=request.user, account_id=rating.account_id))
    answer_form = forms.get("answer_form")
    if answer_form is None:
        initial = ""
        chosen = request.GET.get("reply", "")
        for reply in replies:
            if str(reply.pk) == chosen:
                initial = reply_render(text=reply.text, rating=rating)
        answer_form = AnswerForm(initial={"message": initial})
    context = {
        "rating": rating,
        "offers": rating_offers(rating=rating),
        "order_url": order_url(
            account_id=rating.account_id, checkout_form_id=rating.checkout_form_id
        ),
        "revisions": rating_revisions(rating=rating),
        "notes": rating_notes(rating=rating),
        "can_answer": role >= Role.OPERATOR and writable and not rating.answer_message,
        "can_operate": role >= Role.OPERATOR,
        "can_remove": role >= Role.MANAGER and writable and rating_removal_possible(rating=rating),
        "answer_form": answer_form,
        "removal_form": forms.get("removal_form") or RemovalForm(),
        "note_form": NoteForm(),
        "assign_form": AssignForm(
            initial={
                "assignee": getattr(getattr(rating, "inbox_state", None), "assignee_id", None)
            },
            staff=assignable_staff(account_id=rating.account_id) if role >= Role.OPERATOR else [],
        ),
        "replies": [(r, reply_render(text=r.text, rating=rating)) for r in replies],
        "now": timezone.now(),
        "here": request.get_full_path(),
    }
    return render(request, "aftersales/ratings/detail.html", context, status=status)


@require_GET
def detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _detail(request, rating_get_for_user(user=request.user, pk=pk))


def _allegro_errors(form: Any, exc: errors.AllegroError) -> None:
    by_field = errors_by_field(
        exc,
        field_of=lambda path: "message" if path and "message" in path else None,
        describe=describe_error,
    )
    for name, texts in by_field.items():
        for text in texts:
            form.add_error(name, text)


@require_POST
def answer(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    rating = rating_get_for_user(user=request.user, pk=pk)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            rating_answer(rating=rating, message=form.cleaned_data["message"], actor=request.user)
        except AccountReadOnly:
            raise
        except ValidationError as exc:
            form.add_error("message", exc)
        except errors.AllegroError as exc:
            _allegro_errors(form, exc)
        else:
            messages.success(request, _("Answer published on Allegro."))
            return HttpResponseRedirect(reverse("aftersales:rating", args=[rating.pk]))
    return _detail(request, rating, status=422, answer_form=form)


@require_POST
def removal(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    rating = rating_get_for_user(user=request.user, pk=pk)
    form = RemovalForm(request.POST)
    if form.is_valid():
        try:
            rating_request_removal(
                rating=rating, message=form.cleaned_data["message"], actor=request.user
            )
        except AccountReadOnly:
            raise
        except ValidationError as exc:
            form.add_error("message", exc)
        except errors.AllegroError as exc:
            _allegro_errors(form, exc)
        else:
            messages.success(request, _("Removal requested from Allegro."))
            return HttpResponseRedirect(reverse("aftersales:rating", args=[rating.pk]))
    return _detail(request, rating, status=422, removal_form=form)
