"""Allegro errors as messages for people: one sentence for the page, or errors per form field.

Each domain names what differs for its documents (the unlinked-account sentence, errors with a
domain-specific meaning such as ``Conflict`` on an offer) and the form fields Allegro's error
``path`` points at; the rest is shared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from accounts.models import AccountStatus
from accounts.tokens import AccountNotUsable
from allegro import errors

Text = str | Promise


def describe_error(
    exc: Exception,
    *,
    unlinked: Text | None = None,
    by_type: Sequence[tuple[type[Exception], Text]] = (),
) -> str:
    """One sentence for ``exc``.

    ``unlinked`` is said when the account is unlinked (read-only here); ``by_type`` pairs an
    error class with what it means for the domain, checked before the general cases.
    """
    if isinstance(exc, AccountNotUsable):
        if unlinked is not None and exc.account_status == AccountStatus.UNLINKED:
            return str(unlinked)
        return _("This Allegro account must be linked again before it can be changed.")
    for kind, text in by_type:
        if isinstance(exc, kind):
            return str(text)
    if isinstance(exc, errors.TransientError):
        return _("Allegro did not answer in time. Nothing was changed here; try again.")
    if isinstance(exc, errors.AllegroError):
        return exc.user_message
    return str(exc)


def field_for_path(
    path: str | None,
    *,
    fields: Mapping[str, str],
    keyed: Mapping[str, Callable[[str], str]] | None = None,
) -> str | None:
    """The form field an Allegro error ``path`` names (``None``: not a field of the form).

    ``fields`` maps the path's first segment (``name``, ``sellingMode[0]`` → ``sellingMode``)
    to a field; ``keyed`` maps a first segment whose next segment is a key (a marketplace id)
    to the function naming that key's field.
    """
    if not path:
        return None
    head, _dot, rest = path.partition(".")
    head = head.split("[", 1)[0]
    if keyed and head in keyed:
        key = rest.split(".", 1)[0]
        return keyed[head](key) if key else None
    return fields.get(head)


def errors_by_field(
    exc: errors.AllegroError,
    *,
    field_of: Callable[[str | None], str | None],
    describe: Callable[[Exception], str] = describe_error,
) -> dict[str | None, list[str]]:
    """Allegro's errors grouped by form field (``None`` = the form as a whole)."""
    out: dict[str | None, list[str]] = {}
    for error in exc.errors:
        text = error.user_message or error.message or error.code
        out.setdefault(field_of(error.path), []).append(text)
    if not out:
        out[None] = [describe(exc)]
    return out
