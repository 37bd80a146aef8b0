"""Refunds (a durable job per refund, never sent twice) and commission refund claims.

``refund_create`` stores the refund with a fresh ``commandId`` *before* anything is sent and
queues an ``aftersales.refund`` job. The job sends ``POST /payments/refunds`` with that command
id: a retry after a timeout, a killed worker or a second click resends the same id and Allegro
answers with the first refund. It then follows the refund until ``SUCCESS``/``CANCELED``.
Managers only; every refund is audited once, with Allegro's trace id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.audit import audit_log
from accounts.models import AllegroAccount, Role
from accounts.services import account_require_role, account_require_writable, allegro_client_for
from aftersales.models import CustomerReturn, Refund, RefundClaim, RefundLine
from aftersales.sync_returns import claim_fields, refund_fields, refund_lines_replace
from allegro import errors
from allegro.api import orders as orders_api
from allegro.api import refunds as refunds_api
from allegro.api._base import Money
from jobs.models import ItemStatus, Job, JobItem
from jobs.registry import FINISHED, Step, again
from jobs.services import ItemSpec, job_audit_once, job_create, job_item_update

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

REFUND_KIND = "aftersales.refund"
REFUND_LABEL = gettext_lazy("Refund")
FOLLOW_SECONDS = 5.0


@dataclass(frozen=True, kw_only=True)
class RefundLineInput:
    """A line item refunded by ``quantity`` or by ``amount`` (one of them)."""

    line_item_id: str
    quantity: int | None = None
    amount: Decimal | None = None


def refund_create(
    *,
    actor: AnyUser,
    account: AllegroAccount,
    order_id: str,
    lines: Sequence[RefundLineInput],
    reason: refunds_api.RefundReason,
    delivery: Decimal | None = None,
    currency: str = "PLN",
    seller_comment: str = "",
    customer_return: CustomerReturn | None = None,
    payment_id: str | None = None,
    command_id: str | None = None,
) -> Refund:
    """Store the refund with its command id and queue the job that sends it.

    ``command_id`` (e.g. from the form, generated when it was shown) makes a double submission
    return the refund the first one created instead of a second one.
    """
    account_require_role(user=actor, account=account, role=Role.MANAGER)
    account_require_writable(account=account)
    command_id = command_id or str(uuid.uuid4())
    existing = Refund.objects.filter(account=account, command_id=command_id).first()
    if existing is not None:
        return existing
    if not payment_id:
        form = orders_api.get_checkout_form(
            allegro_client_for(account=account), checkout_form_id=order_id
        )
        payment_id = form.payment.id
    request = refunds_api.RefundRequest(
        command_id=command_id,
        payment_id=payment_id,
        order_id=order_id,
        reason=reason,
        lines=[
            refunds_api.RefundLine(
                line_item_id=line.line_item_id,
                type="QUANTITY" if line.quantity is not None else "AMOUNT",
                quantity=Decimal(line.quantity) if line.quantity is not None else None,
                value=Money(amount=line.amount, currency=currency)
                if line.amount is not None
                else None,
            )
            for line in lines
        ],
        delivery=Money(amount=delivery, currency=currency) if delivery else None,
        seller_comment=seller_comment,
    )
    try:
        with transaction.atomic():
            refund = Refund.objects.create(
                account=account,
                command_id=command_id,
                local_state=Refund.Local.PENDING,
                order_id=order_id,
                payment_id=payment_id,
                customer_return=customer_return,
                reason=reason,
                delivery=delivery,
                currency=currency,
                seller_comment=seller_comment,
                request=request.as_json(),
                requested_by_id=actor.pk if actor.is_authenticated else None,
                created_at=timezone.now(),
            )
            RefundLine.objects.bulk_create(
                RefundLine(
                    refund=refund,
                    line_item_id=line.line_item_id,
                    type="QUANTITY" if line.quantity is not None else "AMOUNT",
                    quantity=line.quantity,
                    amount=line.amount,
                )
                for line in lines
            )
            job_create(
                kind=REFUND_KIND,
                actor=actor,
                account=account,
                title=str(REFUND_LABEL),
                params={"refund": refund.pk},
                items=[
                    ItemSpec(
                        account=account,
                        key=str(refund.pk),
                        label=order_id,
                        command_id=command_id,
                        data=request.as_json(),
                    )
                ],
            )
    except IntegrityError:  # the same command id won a race: that refund is the one
        return Refund.objects.get(account=account, command_id=command_id)
    return refund


def _store(*, refund: Refund, doc: refunds_api.Refund) -> Refund:
    """Keep Allegro's answer on the refund (a mirrored copy of it, if any, is folded in)."""
    with transaction.atomic():
        Refund.objects.filter(account=refund.account, allegro_id=doc.id).exclude(
            pk=refund.pk
        ).delete()
        for name, value in refund_fields(doc).items():
            setattr(refund, name, value)
        refund.allegro_id = doc.id
        refund.local_state = Refund.Local.SENT
        refund.synced_at = timezone.now()
        refund.save()
        refund_lines_replace(refund=refund, doc=doc)
    return refund


def _send(job: Job, item: JobItem, refund: Refund) -> bool:
    """Send (or resend: the same command id) the refund; False when Allegro refused it."""
    client = allegro_client_for(account=item.account)
    job_item_update(item=item, status=ItemStatus.SENT)
    Refund.objects.filter(pk=refund.pk).update(local_state=Refund.Local.SENT)
    data = refund.request
    request = refunds_api.RefundRequest(
        command_id=refund.command_id,
        payment_id=data["payment"]["id"],
        order_id=data["order"]["id"],
        reason=data["reason"],
        lines=[
            refunds_api.RefundLine(
                line_item_id=li["id"],
                type=li["type"],
                quantity=Decimal(li["quantity"]) if "quantity" in li else None,
                value=Money.parse(li.get("value")),
            )
            for li in data.get("lineItems", [])
        ],
        delivery=Money.parse((data.get("delivery") or {}).get("value")),
        seller_comment=data.get("sellerComment", ""),
    )
    try:
        doc = refunds_api.create_refund(client, request=request)
    except errors.TransientError:
        raise
    except errors.AllegroError as exc:
        first = exc.errors[0] if exc.errors else None
        message = (first.user_message or first.message) if first else str(exc)
        field = (first.path or "") if first else ""
        Refund.objects.filter(pk=refund.pk).update(
            local_state=Refund.Local.FAILED, error=message[:2000], error_field=field[:128]
        )
        job_item_update(
            item=item,
            status=ItemStatus.FAILED,
            message=message[:2000],
            field=field[:128],
            trace_id=exc.trace_id or "",
        )
        job_audit_once(
            item=item,
            actor=job.actor,
            action="refund.refused",
            target=f"order:{refund.order_id}",
            before=None,
            after={"request": data, "error": message},
            trace_id=exc.trace_id,
        )
        return False
    _store(refund=refund, doc=doc)
    job_item_update(item=item, trace_id=doc.trace_id or "", after={"id": doc.id})
    job_audit_once(
        item=item,
        actor=job.actor,
        action="refund.create",
        target=f"order:{refund.order_id}",
        before=None,
        after={"refund": doc.id, "request": data},
        trace_id=doc.trace_id,
    )
    return True


def refund_step(job: Job) -> Step:
    """The job runner: send once (by command id), then follow until SUCCESS or CANCELED."""
    for item in job.items.select_related("account").exclude(
        status__in=[ItemStatus.SUCCESS, ItemStatus.FAILED, ItemStatus.SKIPPED]
    ):
        refund = Refund.objects.select_related("account").get(pk=int(item.key))
        if not refund.allegro_id and not _send(job, item, refund):
            continue
        refund.refresh_from_db()
        if refund.status not in refunds_api.FINAL_STATUSES:
            doc = refunds_api.get_refund(
                allegro_client_for(account=item.account), refund_id=refund.allegro_id
            )
            if doc is not None:
                _store(refund=refund, doc=doc)
            if doc is None or not doc.final:
                return again(FOLLOW_SECONDS)
        job_item_update(
            item=item,
            status=ItemStatus.SUCCESS if refund.status == "SUCCESS" else ItemStatus.FAILED,
            message="" if refund.status == "SUCCESS" else refund.status,
        )
    return FINISHED


def refunds_of_order(*, account: AllegroAccount, order_id: str) -> dict[str, Any]:
    """What was refunded of an order (sent or on its way): per line item, delivery, total."""
    quantity: dict[str, int] = {}
    amount: dict[str, Decimal] = {}
    delivery = total = Decimal(0)
    refunds = (
        Refund.objects.filter(account=account, order_id=order_id)
        .exclude(local_state=Refund.Local.FAILED)
        .exclude(status="CANCELED")
    )
    for refund in refunds.prefetch_related("lines"):
        for line in refund.lines.all():
            if line.quantity:
                quantity[line.line_item_id] = quantity.get(line.line_item_id, 0) + line.quantity
            if line.amount:
                amount[line.line_item_id] = amount.get(line.line_item_id, Decimal(0)) + line.amount
        delivery += refund.delivery or Decimal(0)
        total += refund.total or Decimal(0)
    return {"quantity": quantity, "amount": amount, "delivery": delivery, "total": total}


# --- commission refund claims -----------------------------------------------------------------


def refund_claim_file(
    *, actor: AnyUser, account: AllegroAccount, line_item_id: str, quantity: int
) -> RefundClaim:
    """File a commission refund claim for a cancelled or unpaid order's line item."""
    account_require_role(user=actor, account=account, role=Role.MANAGER)
    account_require_writable(account=account)
    client = allegro_client_for(account=account)
    created = refunds_api.create_refund_claim(client, line_item_id=line_item_id, quantity=quantity)
    doc = refunds_api.get_refund_claim(client, claim_id=created.id)
    with transaction.atomic():
        claim, _ = RefundClaim.objects.update_or_create(
            account=account,
            allegro_id=doc.id,
            defaults={**claim_fields(doc), "synced_at": timezone.now()},
        )
        audit_log(
            actor=actor,
            account=account,
            action="refund_claim.create",
            target=f"refund_claim:{doc.id}",
            before=None,
            after={"lineItem": line_item_id, "quantity": quantity},
            allegro_trace_id=created.trace_id,
        )
    return claim


def refund_claim_cancel(*, actor: AnyUser, claim: RefundClaim) -> RefundClaim:
    account_require_role(user=actor, account=claim.account, role=Role.MANAGER)
    account_require_writable(account=claim.account)
    client = allegro_client_for(account=claim.account)
    trace = refunds_api.cancel_refund_claim(client, claim_id=claim.allegro_id)
    doc = refunds_api.get_refund_claim(client, claim_id=claim.allegro_id)
    with transaction.atomic():
        before = claim.status
        for name, value in claim_fields(doc).items():
            setattr(claim, name, value)
        claim.synced_at = timezone.now()
        claim.save()
        audit_log(
            actor=actor,
            account=claim.account,
            action="refund_claim.cancel",
            target=f"refund_claim:{claim.allegro_id}",
            before={"status": before},
            after={"status": claim.status},
            allegro_trace_id=trace,
        )
    return claim
