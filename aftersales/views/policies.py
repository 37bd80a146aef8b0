"""Return policy pages (list per account, create, edit, delete, copy to other accounts) and the
read-only warranties."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import AccountStatus, AllegroAccount, Role
from accounts.selectors import (
    account_get_for_user,
    account_role_for,
    account_scope_id,
    accounts_with_roles,
)
from accounts.services import AccountReadOnly
from accounts.tokens import AccountNotUsable
from aftersales.forms_policies import CopyForm, ReturnPolicyForm, field_of
from aftersales.models import ReturnPolicy
from aftersales.policies import (
    implied_warranties_of,
    return_policies_of,
    return_policy_copy,
    return_policy_create,
    return_policy_delete,
    return_policy_get_for_user,
    return_policy_input_of,
    return_policy_update,
    warranties_of,
)
from allegro import errors
from backoffice.htmx import HtmxHttpRequest
from ui.errors import describe_error, errors_by_field


def _managed(request: HtmxHttpRequest) -> list[Any]:
    """The accounts in view this user manages (and may write to)."""
    return [
        a
        for a in accounts_with_roles(user=request.user, scope=account_scope_id(request=request))
        if (a.viewer_role or 0) >= Role.MANAGER and a.status != AccountStatus.UNLINKED
    ]


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    accounts = accounts_with_roles(user=request.user, scope=account_scope_id(request=request))
    policies = list(return_policies_of(accounts=accounts))
    managed = {a.pk for a in _managed(request)}
    groups = [(a, [p for p in policies if p.account_id == a.pk], a.pk in managed) for a in accounts]
    return render(
        request,
        "aftersales/policies/list.html",
        {"groups": groups, "can_create": bool(managed)},
    )


@require_GET
def warranties(request: HtmxHttpRequest) -> HttpResponse:
    accounts = accounts_with_roles(user=request.user, scope=account_scope_id(request=request))
    return render(
        request,
        "aftersales/policies/warranties.html",
        {
            "warranties": list(warranties_of(accounts=accounts)),
            "implied": list(implied_warranties_of(accounts=accounts)),
        },
    )


def _allegro_errors(form: Any, exc: Exception) -> None:
    if not isinstance(exc, errors.AllegroError) or isinstance(exc, errors.TransientError):
        form.add_error(None, describe_error(exc))
        return
    for name, texts in errors_by_field(exc, field_of=field_of, describe=describe_error).items():
        for text in texts:
            form.add_error(name if name in form.fields else None, text)


def _form_page(
    request: HtmxHttpRequest,
    form: ReturnPolicyForm,
    *,
    account: AllegroAccount,
    policy: ReturnPolicy | None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "aftersales/policies/form.html",
        {"form": form, "account": account, "policy": policy},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def create(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    account = account_get_for_user(user=request.user, account_id=account_id)
    if request.method == "GET" and (account_role_for(user=request.user, account=account) or 0) < (
        Role.MANAGER
    ):
        raise PermissionDenied(_("Only a manager of this account creates return policies."))
    form = ReturnPolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            policy = return_policy_create(
                account=account, data=form.policy_input(), actor=request.user
            )
        except AccountReadOnly:
            raise
        except (errors.AllegroError, AccountNotUsable) as exc:
            _allegro_errors(form, exc)
        else:
            messages.success(request, _("Return policy created on Allegro."))
            return HttpResponseRedirect(reverse("aftersales:policy", args=[policy.pk]))
    status = 422 if request.method == "POST" else 200
    return _form_page(request, form, account=account, policy=None, status=status)


@require_http_methods(["GET", "POST"])
def edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    policy = return_policy_get_for_user(user=request.user, pk=pk)
    initial = ReturnPolicyForm.initial_of(return_policy_input_of(policy=policy))
    form = ReturnPolicyForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            policy = return_policy_update(
                policy=policy, data=form.policy_input(), actor=request.user
            )
        except AccountReadOnly:
            raise
        except (errors.AllegroError, AccountNotUsable) as exc:
            _allegro_errors(form, exc)
        else:
            messages.success(request, _("Return policy saved on Allegro."))
            return HttpResponseRedirect(reverse("aftersales:policy", args=[policy.pk]))
    status = 422 if request.method == "POST" else 200
    can_edit = (policy.viewer_role or 0) >= Role.MANAGER  # type: ignore[attr-defined]
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "aftersales/policies/form.html",
        {
            "form": form,
            "account": policy.account,
            "policy": policy,
            "can_edit": can_edit and policy.account.status != AccountStatus.UNLINKED,
            "copy_form": CopyForm(
                accounts=[a for a in _managed(request) if a.pk != policy.account_id]
            ),
        },
        status=status,
    )


@require_POST
def delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    policy = return_policy_get_for_user(user=request.user, pk=pk)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Confirm the deletion first."))
        return HttpResponseRedirect(reverse("aftersales:policy", args=[policy.pk]))
    try:
        return_policy_delete(policy=policy, actor=request.user)
    except AccountReadOnly:
        raise
    except (errors.AllegroError, AccountNotUsable) as exc:
        messages.error(request, describe_error(exc))
        return HttpResponseRedirect(reverse("aftersales:policy", args=[policy.pk]))
    messages.success(request, _("Return policy deleted on Allegro."))
    return HttpResponseRedirect(reverse("aftersales:policies"))


@require_POST
def copy(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    policy = return_policy_get_for_user(user=request.user, pk=pk)
    targets = [a for a in _managed(request) if a.pk != policy.account_id]
    form = CopyForm(request.POST, accounts=targets)
    if not form.is_valid():
        for errs in form.errors.values():
            for text in errs:
                messages.error(request, str(text))
        return HttpResponseRedirect(reverse("aftersales:policy", args=[policy.pk]))
    chosen = [a for a in targets if a.pk in form.cleaned_data["targets"]]
    job = return_policy_copy(policy=policy, targets=chosen, actor=request.user)
    job.refresh_from_db()
    if job.status == "done":
        results = list(job.items.select_related("account").order_by("position"))
        for item in results:
            if item.status == "success":
                messages.success(request, _("Copied to %(login)s.") % {"login": item.account.login})
            else:
                messages.error(
                    request,
                    _("Not copied to %(login)s: %(reason)s")
                    % {"login": item.account.login, "reason": item.message or item.status},
                )
        return HttpResponseRedirect(reverse("aftersales:policies"))
    messages.info(request, _("The copy runs in the background; follow it on the Jobs page."))
    return HttpResponseRedirect(reverse("jobs:detail", args=[job.pk]))
