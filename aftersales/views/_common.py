"""What the after-sales views share: the safe "back" URL of a form, who may act on an object,
Allegro's refusals put on a form, an attachment's download, the internal work section
(assignee, handled, notes) of an inbox item's page."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from accounts.models import AccountStatus, AllegroAccount, Role
from accounts.tokens import AccountNotUsable
from aftersales.forms import AssignForm, NoteForm
from aftersales.selectors import assignable_staff, inbox_notes
from allegro import errors
from backoffice.redirects import safe_back_url
from ui.errors import describe_error, errors_by_field

if TYPE_CHECKING:
    from aftersales.disputes import AttachmentDownload

T = TypeVar("T")


def back_url(request: HttpRequest, default: str | None = None) -> str:
    """``next`` from the form when it is a path on this site, else ``default`` (the inbox)."""
    return safe_back_url(
        request,
        (request.POST.get("next"), request.GET.get("next")),
        default or reverse("aftersales:index"),
    )


def may_act(*, viewer_role: int | None, account: AllegroAccount, role: int) -> bool:
    """Whether the viewer (``viewer_role`` on ``account``, from a selector) may offer an action
    that needs ``role``: the role, and an account still linked (an unlinked one is read-only).
    The service checks again; this only decides what the page shows."""
    return (viewer_role or 0) >= role and account.status != AccountStatus.UNLINKED


def order_id_or_404(order_id: str) -> str:
    """An Allegro order (checkout form) id from a URL, normalised; 404 for anything else."""
    try:
        return str(uuid.UUID(order_id))
    except ValueError:
        raise Http404("Not an order id.") from None


def form_allegro_errors(form: Any, exc: Exception, fields: Mapping[str, str]) -> None:
    """Allegro's refusal on the form: each error on the field its ``path`` names (``fields``
    maps the path's first part to a form field), the rest, and any transient failure or
    unusable account, as a form error."""
    if not isinstance(exc, errors.AllegroError) or isinstance(exc, errors.TransientError):
        form.add_error(None, describe_error(exc))
        return
    by_field = errors_by_field(
        exc,
        field_of=lambda path: fields.get((path or "").split(".", 1)[0]),
        describe=describe_error,
    )
    for name, texts in by_field.items():
        for text in texts:
            form.add_error(name, text)


def on_allegro(form: Any, fields: Mapping[str, str], action: Callable[[], T]) -> T | None:
    """``action()``'s result; ``None`` when Allegro refused or the account cannot call it, with
    the reasons put on ``form`` (see ``form_allegro_errors``)."""
    try:
        return action()
    except (errors.AllegroError, AccountNotUsable) as exc:
        form_allegro_errors(form, exc, fields)
        return None


def attachment_response(got: AttachmentDownload, *, inline_types: Collection[str]) -> HttpResponse:
    """The file for the browser: shown inline when it is one of ``inline_types`` (images, PDF),
    else downloaded; the name stripped to safe characters, the type never sniffed."""
    safe = "".join(c for c in got.name if c.isalnum() or c in "._- ") or "attachment"
    inline = got.content_type in inline_types
    response = HttpResponse(
        got.content, content_type=got.content_type if inline else "application/octet-stream"
    )
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{safe}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


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
