"""Customer returns: rejecting a return's refund (managers), reads for the pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import Role
from accounts.services import account_require_role, account_require_writable, allegro_client_for
from aftersales.inbox import returns_waiting
from aftersales.models import CustomerReturn
from aftersales.sync_returns import returns_upsert
from allegro.api import returns as returns_api
from ui.paging import Accounts, account_filter

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


def customer_returns_of(*, accounts: Accounts) -> QuerySet[CustomerReturn]:
    return CustomerReturn.objects.filter(account__in=account_filter(accounts)).select_related(
        "account"
    )


def customer_returns_waiting_for_refund(*, accounts: Accounts) -> QuerySet[CustomerReturn]:
    """Returned parcels delivered to the seller, neither refunded nor rejected: the buyer waits
    for the money (the inbox's definition, ``aftersales.inbox.returns_waiting``)."""
    return returns_waiting(accounts=accounts).select_related("account")


def return_reject(
    *,
    actor: AnyUser,
    customer_return: CustomerReturn,
    code: returns_api.RejectionCode,
    reason: str = "",
) -> CustomerReturn:
    """``POST …/rejection``; Allegro's 422 (already rejected, missing reason) propagates for the
    view to map onto the form (``ui.errors.errors_by_field``)."""
    account = customer_return.account
    account_require_role(user=actor, account=account, role=Role.MANAGER)
    account_require_writable(account=account)
    before = {"status": customer_return.status}
    doc = returns_api.reject_return(
        allegro_client_for(account=account),
        return_id=customer_return.allegro_id,
        code=code,
        reason=reason or None,
    )
    with transaction.atomic():
        (row,) = returns_upsert(account=account, returns=[doc], synced_at=timezone.now())
        audit_log(
            actor=actor,
            account=account,
            action="customer_return.reject",
            target=f"customer_return:{doc.id}",
            before=before,
            after={"status": doc.status, "code": code, "reason": reason},
            allegro_trace_id=doc.trace_id,
        )
    return row
