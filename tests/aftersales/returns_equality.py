"""Compare the mirrored returns, refunds, threads (with messages) and billing entries with the
simulator's public API; the expected values are derived here from the documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sandbox.http import BETA, V1
from tests.mirror.equality import Diff, SimulatorReader, _compare, _m, _s, _t


def _pages(
    reader: SimulatorReader, path: str, key: str, limit: int, media: str = V1
) -> Iterator[Any]:
    offset = 0
    while True:
        r = reader.get(path, {"offset": offset, "limit": limit}, media)
        r.raise_for_status()
        items = r.json()[key]
        yield from items
        if len(items) < limit:
            return
        offset += limit


def diff_after_sales(*, account: Any, sim: Any) -> dict[str, Diff]:
    from aftersales.models import BillingEntry, CustomerReturn, Message, MessageThread, Refund

    reader = SimulatorReader(sim, account.allegro_user_id)
    try:
        diffs: dict[str, Diff] = {}
        exp = {
            d["id"]: {
                "status": d["status"],
                "order_id": d["orderId"],
                "buyer_login": d["buyer"]["login"],
                "rejection_code": _s((d.get("rejection") or {}).get("code")),
                "waybills": sorted(p["waybill"] for p in d["parcels"]),
                "items": sorted((i["offerId"], i["quantity"]) for i in d["items"]),
            }
            for d in _pages(reader, "/order/customer-returns", "customerReturns", 1000, BETA)
        }
        act = {
            r.allegro_id: {
                "status": r.status,
                "order_id": r.order_id,
                "buyer_login": r.buyer_login,
                "rejection_code": r.rejection_code,
                "waybills": sorted(p.waybill for p in r.parcels.all()),
                "items": sorted((i.offer_id, i.quantity) for i in r.items.all()),
            }
            for r in CustomerReturn.objects.filter(account=account).prefetch_related(
                "items", "parcels"
            )
        }
        diffs["returns"] = _compare(exp, act)
        exp = {
            d["id"]: {
                "status": d["status"],
                "order_id": d["order"]["id"],
                "total": _m(d["totalValue"]["amount"]),
                "created_at": _t(d["createdAt"]),
            }
            for d in _pages(reader, "/payments/refunds", "refunds", 100)
        }
        act = {
            r.allegro_id: {
                "status": r.status,
                "order_id": r.order_id,
                "total": r.total,
                "created_at": r.created_at,
            }
            for r in Refund.objects.filter(account=account).exclude(allegro_id="")
        }
        diffs["refunds"] = _compare(exp, act)
        exp = {}
        exp_messages: dict[str, Any] = {}
        for d in _pages(reader, "/messaging/threads", "threads", 20):
            exp[d["id"]] = {
                "read": d["read"],
                "last_message_at": _t(d["lastMessageDateTime"]),
                "interlocutor_login": d["interlocutor"]["login"],
            }
            for m in _pages(reader, f"/messaging/threads/{d['id']}/messages", "messages", 20):
                exp_messages[m["id"]] = {
                    "thread": d["id"],
                    "text": m["text"],
                    "author_is_buyer": m["author"]["isInterlocutor"],
                    "created_at": _t(m["createdAt"]),
                }
        act = {
            t.allegro_id: {
                "read": t.read,
                "last_message_at": t.last_message_at,
                "interlocutor_login": t.interlocutor_login,
            }
            for t in MessageThread.objects.filter(account=account)
        }
        diffs["threads"] = _compare(exp, act)
        act_messages = {
            m.allegro_id: {
                "thread": m.thread.allegro_id if m.thread else "",
                "text": m.text,
                "author_is_buyer": m.author_is_buyer,
                "created_at": m.created_at,
            }
            for m in Message.objects.filter(account=account)
            .exclude(allegro_id="")
            .select_related("thread")
        }
        diffs["messages"] = _compare(exp_messages, act_messages)
        exp = {
            d["id"]: {
                "occurred_at": _t(d["occurredAt"]),
                "type_id": d["type"]["id"],
                "amount": _m(d["value"]["amount"]),
                "order_id": _s((d.get("order") or {}).get("id")),
                "balance": _m(d["balance"]["amount"]),
            }
            for d in _pages(reader, "/billing/billing-entries", "billingEntries", 100)
        }
        act = {
            b.allegro_id: {
                "occurred_at": b.occurred_at,
                "type_id": b.type_id,
                "amount": b.amount,
                "order_id": b.order_id,
                "balance": b.balance,
            }
            for b in BillingEntry.objects.filter(account=account)
        }
        diffs["billing"] = _compare(exp, act)
        return diffs
    finally:
        reader.close()


def explain(diffs: dict[str, Diff]) -> str:
    return "\n".join(
        f"{k}: missing={d.missing[:3]} extra={d.extra[:3]} stale={list(d.stale.items())[:3]}"
        for k, d in diffs.items()
        if not d.clean
    )


__all__ = ["diff_after_sales", "explain"]
