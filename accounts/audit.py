"""The audit log's one writer: every state-changing staff action (and the system's own, such as
an account marked re-authorisation-needed) is recorded through :func:`audit_log`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts.models import AllegroAccount, AuditLogEntry

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def audit_log(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    account: AllegroAccount | None,
    action: str,
    target: str,
    before: Any,
    after: Any,
    allegro_trace_id: str | None = None,
) -> AuditLogEntry:
    """Record one state-changing action. ``before``/``after`` must be JSON-serialisable."""
    return AuditLogEntry.objects.create(
        actor_id=actor.pk if actor is not None and actor.is_authenticated else None,
        account=account,
        action=action,
        target=target[:255],
        before=before,
        after=after,
        allegro_trace_id=allegro_trace_id or "",
    )
