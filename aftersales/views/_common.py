"""What the after-sales views share: the safe "back" URL of a form, the internal work section
(assignee, handled, notes) of an inbox item's page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import Role
from aftersales.forms import AssignForm, NoteForm
from aftersales.selectors import assignable_staff, inbox_notes


def back_url(request: HttpRequest, default: str | None = None) -> str:
    """``next`` from the form when it is a path on this site, else ``default`` (the inbox)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default or reverse("aftersales:index")


def inbox_work(request: HttpRequest, *, target: Any, kind: str, role: int) -> dict[str, Any]:
    """The context of ``aftersales/_work.html`` for ``target`` (``kind`` as the inbox's action
    URLs name it), seen by a user with ``role`` on its account."""
    state = getattr(target, "inbox_state", None)
    can_operate = role >= Role.OPERATOR
    return {
        "work_kind": kind,
        "work_target": target,
        "work_state": state,
        "work_notes": inbox_notes(target=target),
        "work_can_operate": can_operate,
        "work_note_form": NoteForm(),
        "work_assign_form": AssignForm(
            initial={"assignee": getattr(state, "assignee_id", None)},
            staff=assignable_staff(account_id=target.account_id) if can_operate else [],
        ),
        "here": request.get_full_path(),
    }
