"""Typed Allegro documents → rows: customer returns, refunds, refund claims, threads and
messages, billing entries (one mapping function each, upserts a page at a time)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

from accounts.models import AllegroAccount
from aftersales.models import (
    BillingEntry,
    CustomerReturn,
    CustomerReturnItem,
    CustomerReturnParcel,
    Message,
    MessageThread,
    Refund,
    RefundClaim,
    RefundLine,
)
from allegro.api import billing as billing_api
from allegro.api import messaging as messaging_api
from allegro.api import refunds as refunds_api
from allegro.api import returns as returns_api


def return_fields(doc: returns_api.CustomerReturn) -> dict[str, Any]:
    return {
        "reference_number": doc.reference_number[:64],
        "order_id": doc.order_id[:64],
        "status": doc.status[:32],
        "buyer_login": doc.buyer_login[:128],
        "buyer_email": doc.buyer_email[:254],
        "marketplace_id": doc.marketplace_id[:32],
        "created_at": doc.created_at,
        "rejection_code": (doc.rejection_code or "")[:32],
        "rejection_reason": doc.rejection_reason or "",
        "rejected_at": doc.rejected_at,
        "raw": doc.raw,
    }


def returns_upsert(
    *, account: AllegroAccount, returns: Sequence[returns_api.CustomerReturn], synced_at: datetime
) -> list[CustomerReturn]:
    rows = []
    with transaction.atomic():
        for doc in returns:
            row, _ = CustomerReturn.objects.update_or_create(
                account=account,
                allegro_id=doc.id,
                defaults={**return_fields(doc), "synced_at": synced_at},
            )
            row.items.all().delete()
            row.parcels.all().delete()
            CustomerReturnItem.objects.bulk_create(
                CustomerReturnItem(
                    customer_return=row,
                    position=n,
                    offer_id=i.offer_id[:64],
                    name=i.name[:255],
                    quantity=i.quantity,
                    price=i.price.rounded if i.price else None,
                    currency=i.price.currency if i.price else "",
                    reason_type=i.reason_type[:64],
                    reason_comment=i.reason_comment,
                )
                for n, i in enumerate(doc.items)
            )
            CustomerReturnParcel.objects.bulk_create(
                CustomerReturnParcel(
                    customer_return=row,
                    position=n,
                    waybill=p.waybill[:64],
                    carrier_id=p.carrier_id[:64],
                    transporting_waybill=(p.transporting_waybill or "")[:64],
                    transporting_carrier_id=(p.transporting_carrier_id or "")[:64],
                    created_at=p.created_at,
                )
                for n, p in enumerate(doc.parcels)
            )
            rows.append(row)
    return rows


def returns_sweep(*, account: AllegroAccount, seen_ids: Sequence[str]) -> int:
    """Returns Allegro no longer lists (a full listing was read)."""
    deleted, _ = (
        CustomerReturn.objects.filter(account=account).exclude(allegro_id__in=seen_ids).delete()
    )
    return deleted


def refund_fields(doc: refunds_api.Refund) -> dict[str, Any]:
    return {
        "order_id": doc.order_id[:64],
        "payment_id": doc.payment_id[:64],
        "reason": doc.reason[:32],
        "status": doc.status[:32],
        "total": doc.total.rounded if doc.total else None,
        "delivery": doc.delivery.rounded if doc.delivery else None,
        "currency": doc.total.currency if doc.total else "",
        "seller_comment": doc.seller_comment[:250],
        "created_at": doc.created_at,
        "raw": doc.raw,
    }


def refund_lines_replace(*, refund: Refund, doc: refunds_api.Refund) -> None:
    refund.lines.all().delete()
    RefundLine.objects.bulk_create(
        RefundLine(
            refund=refund,
            line_item_id=line.line_item_id[:64],
            type=line.type,
            quantity=int(line.quantity) if line.quantity is not None else None,
            amount=line.value.rounded if line.value else None,
        )
        for line in doc.lines
    )


def refunds_upsert(
    *, account: AllegroAccount, refunds: Sequence[refunds_api.Refund], synced_at: datetime
) -> None:
    """Mirror refunds; one sent from here is matched by its Allegro id (written when the answer
    came back) and keeps its command id and link to the return."""
    with transaction.atomic():
        for doc in refunds:
            row, _ = Refund.objects.update_or_create(
                account=account,
                allegro_id=doc.id,
                defaults={**refund_fields(doc), "synced_at": synced_at},
            )
            refund_lines_replace(refund=row, doc=doc)


def claim_fields(doc: refunds_api.RefundClaim) -> dict[str, Any]:
    return {
        "status": doc.status[:32],
        "type": doc.type[:16],
        "quantity": doc.quantity,
        "commission": doc.commission.rounded if doc.commission else None,
        "currency": doc.commission.currency if doc.commission else "",
        "buyer_id": doc.buyer_id[:64],
        "line_item_id": doc.line_item_id[:64],
        "offer_id": doc.offer_id[:64],
        "bought_at": doc.bought_at,
        "created_at": doc.created_at,
        "raw": doc.raw,
    }


def claims_replace(
    *, account: AllegroAccount, claims: Sequence[refunds_api.RefundClaim], synced_at: datetime
) -> None:
    with transaction.atomic():
        for doc in claims:
            RefundClaim.objects.update_or_create(
                account=account,
                allegro_id=doc.id,
                defaults={**claim_fields(doc), "synced_at": synced_at},
            )
        RefundClaim.objects.filter(account=account).exclude(
            allegro_id__in=[c.id for c in claims]
        ).delete()


def thread_fields(doc: messaging_api.Thread) -> dict[str, Any]:
    return {
        "read": doc.read,
        "last_message_at": doc.last_message_at,
        "interlocutor_login": doc.interlocutor_login[:128],
        "interlocutor_avatar": doc.interlocutor_avatar[:500],
        "raw": doc.raw,
    }


def message_fields(doc: messaging_api.Message) -> dict[str, Any]:
    return {
        "status": doc.status[:16],
        "type": doc.type[:16],
        "created_at": doc.created_at,
        "author_login": doc.author_login[:128],
        "author_is_buyer": doc.author_is_interlocutor,
        "text": doc.text,
        "subject": doc.subject[:255],
        "order_id": doc.order_id[:64],
        "offer_id": doc.offer_id[:64],
        "attachments": [
            {
                "file_name": a.file_name,
                "mime_type": a.mime_type,
                "id": a.attachment_id,
                "status": a.status,
            }
            for a in doc.attachments
        ],
        "raw": doc.raw,
    }


def thread_upsert(
    *,
    account: AllegroAccount,
    thread: messaging_api.Thread,
    messages: Sequence[messaging_api.Message],
    synced_at: datetime,
) -> MessageThread:
    """The thread and its new messages, in one transaction (the thread's ``last_message_at``
    is the cursor of its messages: written only with them)."""
    with transaction.atomic():
        row, _ = MessageThread.objects.update_or_create(
            account=account,
            allegro_id=thread.id,
            defaults={**thread_fields(thread), "synced_at": synced_at},
        )
        newest = ""
        for doc in messages:
            Message.objects.update_or_create(
                account=account,
                allegro_id=doc.id,
                defaults={
                    **message_fields(doc),
                    "thread": row,
                    "local_state": Message.Local.MIRRORED,
                },
            )
            newest = max(newest, doc.created)
        about = next((m for m in messages if m.order_id), None)
        changed = []
        if about is not None and row.order_id != about.order_id:
            row.order_id, row.offer_id = about.order_id[:64], about.offer_id[:64]
            changed += ["order_id", "offer_id"]
        if newest and newest > row.messages_synced_to:
            row.messages_synced_to = newest
            changed.append("messages_synced_to")
        if changed:
            row.save(update_fields=changed)
    return row


def billing_fields(doc: billing_api.BillingEntry) -> dict[str, Any]:
    return {
        "occurred_at": doc.occurred_at,
        "type_id": doc.type_id[:16],
        "type_name": doc.type_name[:255],
        "offer_id": doc.offer_id[:64],
        "offer_name": doc.offer_name[:255],
        "order_id": doc.order_id[:64],
        "amount": doc.value.rounded if doc.value else None,
        "currency": doc.value.currency if doc.value else "",
        "balance": doc.balance.rounded if doc.balance else None,
        "tax_percentage": doc.tax_percentage[:16],
        "raw": doc.raw,
    }


def billing_upsert(
    *, account: AllegroAccount, entries: Sequence[billing_api.BillingEntry], synced_at: datetime
) -> None:
    fresh = {e.id: e for e in entries}
    rows = [
        BillingEntry(account=account, allegro_id=eid, synced_at=synced_at, **billing_fields(doc))
        for eid, doc in fresh.items()
    ]
    names = [*billing_fields(entries[0]).keys(), "synced_at"] if entries else []
    BillingEntry.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["account", "allegro_id"],
        update_fields=names,
    )
