"""Offer pages: the list (HTMX swaps only the rows), detail + edit, activate / end, bulk actions.

Views parse input with forms and call selectors / services; the rules live in the services.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import AccountStatus, Role
from accounts.selectors import (
    account_scope_id,
    accounts_scoped,
    roles_by_account,
)
from accounts.services import AccountReadOnly, account_require_role
from backoffice.htmx import HtmxHttpRequest
from jobs.models import Job
from offers.forms import (
    BULK_ACTIONS,
    BulkActionForm,
    OfferEditForm,
    OfferFilterForm,
    OfferPublicationForm,
)
from offers.models import Offer
from offers.selectors import (
    offer_audit_trail,
    offer_get_by_allegro_id,
    offer_get_for_user,
    offer_marketplace_prices,
    offers_by_pks_for_user,
    offers_filtered,
    offers_page_source,
)
from offers.services import (
    EditOutcome,
    bulk_job_create,
    bulk_job_get,
    bulk_job_kind,
    bulk_job_report,
    bulk_job_rows,
    bulk_job_title,
    offer_edit,
    offer_edit_job_get,
    offer_edit_outcome,
    offer_edit_pending,
    offer_set_publication,
)
from ui.export import csv_delimiter, csv_safe
from ui.listing import (
    ListPage,
    list_template,
    selected_ids,
    unlinked_accounts,
    writable_account_ids,
)

# Offers named on the bulk "end" confirmation (the rest are counted).
BULK_CONFIRM_SHOWN = 50


def _list_context(
    request: HtmxHttpRequest, params: QueryDict, *, bulk_form: BulkActionForm | None = None
) -> dict[str, Any]:
    """The offers list for ``params`` (the query string); after a refused bulk form, with its
    errors, its action and value, and the offers it had ticked still ticked."""
    listing = ListPage(request, params, form_class=OfferFilterForm, source=offers_page_source)
    accounts = listing.accounts
    writable = writable_account_ids(accounts, role=Role.MANAGER)
    bulk_data = request.POST if bulk_form is not None else QueryDict()
    return {
        **listing.context(),
        "detail_prefix": reverse("offers:index"),
        "accounts": accounts,
        "can_bulk": bool(writable),
        "writable_accounts": writable,
        "unlinked_accounts": unlinked_accounts(accounts),
        "bulk_actions": BULK_ACTIONS,
        "bulk_form": bulk_form,
        "bulk_action": bulk_data.get("action", ""),
        "bulk_value": bulk_data.get("value", ""),
        "bulk_all": bool(bulk_data.get("all_matching")),
        "selected": selected_ids(bulk_data, "offers"),
    }


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    """The offers list: filters and page live in the query string."""
    context = _list_context(request, request.GET)
    return render(request, list_template("offers/list.html", htmx=bool(request.htmx)), context)


def _detail_context(request: HtmxHttpRequest, offer: Offer, **extra: Any) -> dict[str, Any]:
    role = getattr(offer, "viewer_role", None)
    if role is None:  # an offer not read by ``offer_get_for_user``
        role = roles_by_account(user=request.user).get(offer.account_id, 0)
    prices = offer_marketplace_prices(offer=offer)
    trail = offer_audit_trail(offer=offer)
    read_only = offer.account.status == AccountStatus.UNLINKED
    return {
        "offer": offer,
        "prices": prices,
        "base_marketplace": next((p["marketplace"] for p in prices if p["base"]), ""),
        "trail": trail,
        "pending_edit": _pending_edit(offer, trail),
        "can_edit": role >= Role.MANAGER and not read_only,
        "read_only": read_only,
        "unlinked_accounts": [offer.account] if read_only else [],
        **extra,
    }


def _pending_edit(offer: Offer, trail: list[Any]) -> EditOutcome | None:
    """An edit of this offer Allegro is still applying (202): the page polls its status."""
    item = offer_edit_pending(offer=offer, trail=trail)
    return None if item is None else offer_edit_outcome(item=item)


def _edit_form_for(offer: Offer, data: QueryDict | None = None) -> OfferEditForm:
    """The edit form: title, base price, a price per additional marketplace, stock."""
    return OfferEditForm(
        data,
        initial={
            "title": offer.name,
            "price": offer.price_amount,
            "stock": offer.stock_available,
        },
        offer_status=offer.status,
        marketplace_prices=offer_marketplace_prices(offer=offer),
    )


@require_GET
def by_id(request: HtmxHttpRequest, account_pk: int, allegro_id: str) -> HttpResponse:
    """An offer named by Allegro's id (an order line's link): its page, or 404."""
    offer = offer_get_by_allegro_id(user=request.user, account_id=account_pk, allegro_id=allegro_id)
    return HttpResponseRedirect(reverse("offers:detail", args=[offer.pk]))


@require_GET
def detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    offer = offer_get_for_user(user=request.user, offer_id=pk)
    return render(
        request, "offers/detail.html", _detail_context(request, offer, form=_edit_form_for(offer))
    )


def _redirect(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """A redirect; for HTMX a full-page one (``HX-Redirect``) rather than a swapped fragment."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _apply_outcome(form: OfferEditForm, outcome: EditOutcome) -> None:
    for field, texts in outcome.field_errors.items():
        target = field if field in form.fields else None  # e.g. a marketplace not shown here
        for text in texts:
            form.add_error(target, text)


@require_POST
def edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Save title / prices / stock on Allegro; 202 leads to the operation page."""
    offer = offer_get_for_user(user=request.user, offer_id=pk)
    form = _edit_form_for(offer, request.POST)
    if form.is_valid():
        try:
            outcome = offer_edit(
                offer=offer,
                actor=request.user,
                title=form.cleaned_data["title"],
                price=form.cleaned_data["price"],
                stock=form.cleaned_data["stock"],
                marketplace_prices=form.marketplace_prices(),
            )
        except AccountReadOnly as exc:
            return _refused(request, offer, exc)
        if outcome.state == "pending":
            assert outcome.token is not None
            return _redirect(request, reverse("offers:operation", args=[offer.pk, outcome.token]))
        if outcome.state in ("done", "unchanged"):
            messages.success(
                request,
                _("Saved on Allegro.") if outcome.state == "done" else _("Nothing to change."),
            )
            return _redirect(request, reverse("offers:detail", args=[offer.pk]))
        _apply_outcome(form, outcome)
    context = _detail_context(request, offer, form=form)
    template = "offers/detail.html#edit" if request.htmx else "offers/detail.html"
    return render(request, template, context, status=200 if request.htmx else 422)


@require_GET
def operation(request: HtmxHttpRequest, pk: int, token: str) -> HttpResponse:
    """Where Allegro's asynchronous edit stands (202 → its job → done / errors), read from the
    edit's job; the job's task does the polling. Done: back to the offer with a message."""
    offer = offer_get_for_user(user=request.user, offer_id=pk)
    item = offer_edit_job_get(offer=offer, user=request.user, job_id=token)
    if item is None:
        return _redirect(request, reverse("offers:detail", args=[offer.pk]))
    outcome = offer_edit_outcome(item=item)
    if outcome.state == "done":
        messages.success(request, _("Allegro finished the change."))
        return _redirect(request, reverse("offers:detail", args=[offer.pk]))
    fields = _edit_form_for(offer).fields
    errors = [
        (str(fields[name].label) if name in fields else "", texts)
        for name, texts in outcome.field_errors.items()
    ]
    context = {"offer": offer, "outcome": outcome, "token": token, "errors": errors}
    template = "offers/_edit_status.html" if request.htmx else "offers/operation.html"
    return render(request, template, context)


def _refused(request: HtmxHttpRequest, offer: Offer, exc: AccountReadOnly) -> HttpResponse:
    """A write on an unlinked account: the read-only page, saying why (403)."""
    messages.error(request, str(exc))
    context = _detail_context(request, offer, form=_edit_form_for(offer))
    return render(request, "offers/detail.html", context, status=403)


@require_POST
def publication(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Activate or end an offer. Ending asks first: without ``confirm`` the answer is a
    confirmation page (for HTMX, a panel in place of the button) and nothing is sent."""
    offer = offer_get_for_user(user=request.user, offer_id=pk)
    account_require_role(user=request.user, account=offer.account, role=Role.MANAGER)
    form = OfferPublicationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to activate or to end the offer."))
        return HttpResponseRedirect(reverse("offers:detail", args=[offer.pk]))
    action = form.cleaned_data["action"]
    if action == "END" and not form.cleaned_data["confirm"]:
        template = "offers/confirm_end.html#panel" if request.htmx else "offers/confirm_end.html"
        return render(request, template, {"offer": offer})
    try:
        outcome = offer_set_publication(offer=offer, actor=request.user, action=action)
    except AccountReadOnly as exc:
        return _refused(request, offer, exc)
    if outcome.ok:
        messages.success(request, _("Allegro confirmed the change."))
    else:
        messages.error(request, outcome.message)
    return _redirect(request, reverse("offers:detail", args=[offer.pk]))


def _bulk_selection(request: HtmxHttpRequest, form: BulkActionForm) -> list[Offer]:
    if form.cleaned_data["all_matching"]:
        params = QueryDict(form.cleaned_data["filters"] or "")
        scope = account_scope_id(request=request)
        visible = list(accounts_scoped(user=request.user, scope=scope))
        filters = OfferFilterForm(params or None, accounts=visible)
        qs = offers_filtered(user=request.user, query=filters.query(), scope=scope)
    else:
        qs = offers_by_pks_for_user(user=request.user, pks=form.cleaned_data["offers"])
    return list(
        qs.select_related("account").only(
            "id",
            "account",
            "allegro_id",
            "name",
            "price_amount",
            "price_currency",
            "stock_available",
            "status",
            "account__login",
        )[:20_000]
    )


def _bulk_refused(request: HtmxHttpRequest, form: BulkActionForm) -> HttpResponse:
    """The list again (422) with the form's errors and the selection still ticked; for HTMX
    only the errors, in the panel under the bulk bar (the page keeps its ticks)."""
    if request.htmx:
        return render(request, "offers/bulk_confirm.html#panel", {"bulk_form": form})
    params = QueryDict((request.POST.get("filters") or "")[:2000])
    context = _list_context(request, params, bulk_form=form)
    return render(request, "offers/list.html", context, status=422)


@require_POST
def bulk(request: HtmxHttpRequest) -> HttpResponse:
    """Start a bulk action (a Celery task) and go to its progress page. Ending offers asks
    first: without ``confirm`` a page (or panel) lists what would end."""
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        return _bulk_refused(request, form)
    offers = _bulk_selection(request, form)
    if not offers:
        form.add_error(None, _("None of the selected offers is visible to you."))
        return _bulk_refused(request, form)
    if form.cleaned_data["action"] == "end" and not form.cleaned_data["confirm"]:
        context = {
            "bulk_form": form,
            "offers": offers[:BULK_CONFIRM_SHOWN],
            "count": len(offers),
            "more": max(len(offers) - BULK_CONFIRM_SHOWN, 0),
            "selected": form.cleaned_data["offers"],
            "filters_qs": form.cleaned_data["filters"] or "",
        }
        template = "offers/bulk_confirm.html#panel" if request.htmx else "offers/bulk_confirm.html"
        return render(request, template, context)
    try:
        job = bulk_job_create(
            actor=request.user,
            offers=offers,
            action=form.cleaned_data["action"],
            value=form.cleaned_data["value"],
        )
    except AccountReadOnly as exc:
        form.add_error(None, str(exc))
        return _bulk_refused(request, form)
    return _redirect(request, reverse("offers:bulk_job", args=[job.pk]))


def _job_or_404(request: HtmxHttpRequest, job_id: str) -> Job:
    job = bulk_job_get(job_id=job_id, user=request.user)
    if job is None:
        raise Http404("No such job.")
    return job


@require_GET
def bulk_job(request: HtmxHttpRequest, job_id: str) -> HttpResponse:
    """A bulk job's report, read from the job: what was done, old → new per offer, results."""
    job = _job_or_404(request, job_id)
    rows = bulk_job_rows(job=job)
    summary = {
        "success": sum(1 for r in rows if r["status"] == "SUCCESS"),
        "failed": sum(1 for r in rows if r["status"] == "FAIL"),
        "pending": sum(1 for r in rows if r["status"] == "PENDING"),
    }
    context = {
        "job": job,
        "title": bulk_job_title(action=job.params["action"], value=job.params.get("value")),
        "kind": bulk_job_kind(job),
        "rows": rows,
        "summary": summary,
        "percent": job.percent,
    }
    template = "offers/bulk_job.html#progress" if request.htmx else "offers/bulk_job.html"
    return render(request, template, context)


@require_GET
def bulk_job_csv(request: HtmxHttpRequest, job_id: str) -> HttpResponse:
    """The report in the interface language: translated headers and results, numbers in the
    locale's format. Where the decimal separator is a comma (Polish) the columns are separated by
    semicolons, as spreadsheets set to that locale expect; a BOM tells them it is UTF-8."""
    job = _job_or_404(request, job_id)
    header, rows = bulk_job_report(job=job)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bulk-{job.pk}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=csv_delimiter())
    writer.writerow(header)
    for line in rows:
        writer.writerow([csv_safe(cell) for cell in line])
    return response
