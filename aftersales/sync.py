"""Write the after-sales mirror: disputes and their chat, ratings with history, return policies.

Called by ``mirror.services``; never talks HTTP. Each function issues a fixed number of queries
per page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from accounts.models import AllegroAccount
from aftersales.models import Dispute, DisputeMessage, Rating, RatingRevision, ReturnPolicy
from offers.sync import parse_time

RATING_FIELDS = [
    "buyer_id",
    "buyer_login",
    "recommended",
    "comment",
    "rate_description",
    "rate_service",
    "rate_delivery_cost",
    "rate_delivery",
    "checkout_form_id",
    "answer_message",
    "answer_created_at",
    "removal_requested_at",
    "removal_message",
    "removal_source",
    "removal_possible_to",
    "excluded_from_average",
    "excluded_reason",
    "created_at",
    "edited_at",
    "last_changed_at",
    "deleted_at",
    "synced_at",
    "raw",
]
DISPUTE_FIELDS = [
    "type",
    "status",
    "subject",
    "reference_number",
    "buyer_id",
    "buyer_login",
    "checkout_form_id",
    "offer_id",
    "opened_at",
    "decision_due_at",
    "messages_count",
    "last_message_at",
    "synced_at",
    "raw",
]
MESSAGE_FIELDS = ["text", "author_login", "author_role", "attachments", "created_at", "raw"]
POLICY_FIELDS = [
    "name",
    "availability",
    "withdrawal_period",
    "return_cost_covered_by",
    "is_fulfillment",
    "synced_at",
    "raw",
]


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- ratings ----------------------------------------------------------------------------------


def rating_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    excluded = doc.get("excludedFromAverageRates")
    return {
        "buyer_id": _text(_dig(doc, "buyer", "id")),
        "buyer_login": _text(_dig(doc, "buyer", "login")),
        "recommended": bool(doc.get("recommended")),
        "comment": _text(doc.get("comment")),
        "rate_description": _int(_dig(doc, "rates", "description")),
        "rate_service": _int(_dig(doc, "rates", "service")),
        "rate_delivery_cost": _int(_dig(doc, "rates", "deliveryCost")),
        "rate_delivery": _int(_dig(doc, "rates", "delivery")),
        "checkout_form_id": _text(_dig(doc, "order", "id")),
        "answer_message": _text(_dig(doc, "answer", "message")),
        "answer_created_at": parse_time(_dig(doc, "answer", "createdAt")),
        "removal_requested_at": parse_time(_dig(doc, "removal", "request", "createdAt")),
        "removal_message": _text(_dig(doc, "removal", "request", "message")),
        "removal_source": _text(_dig(doc, "removal", "request", "source")),
        "removal_possible_to": parse_time(_dig(doc, "removal", "possibleTo")),
        "excluded_from_average": excluded if isinstance(excluded, bool) else None,
        "excluded_reason": _text(doc.get("excludedFromAverageRatesReason")),
        "created_at": parse_time(doc.get("createdAt")),
        "edited_at": parse_time(doc.get("editedAt")),
        "last_changed_at": parse_time(doc.get("lastChangedAt")),
        "raw": dict(doc),
    }


def ratings_upsert(
    *, account: AllegroAccount, docs: Sequence[Mapping[str, Any]], synced_at: datetime
) -> int:
    """Upsert a page of ratings; a new or changed one gets a ``RatingRevision`` (history).

    Ratings whose document did not change only get ``synced_at`` (the deletion sweep's mark).
    """
    incoming = {str(d["id"]): d for d in docs}
    if not incoming:
        return 0
    stored = {
        r.allegro_id: r
        for r in Rating.objects.filter(account=account, allegro_id__in=list(incoming)).only(
            "id", "allegro_id", "raw", "deleted_at"
        )
    }
    rows: list[Rating] = []
    kinds: dict[str, str] = {}
    for key, doc in incoming.items():
        old = stored.get(key)
        if old is not None and old.raw == doc and old.deleted_at is None:
            continue
        kinds[key] = RatingRevision.Kind.CREATED if old is None else RatingRevision.Kind.EDITED
        rows.append(
            Rating(
                account=account,
                allegro_id=key,
                synced_at=synced_at,
                deleted_at=None,
                **rating_fields(doc),
            )
        )
    unchanged = [r.pk for k, r in stored.items() if k not in kinds]
    if unchanged:
        Rating.objects.filter(pk__in=unchanged).update(synced_at=synced_at)
    if not rows:
        return 0
    saved = Rating.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["account", "allegro_id"],
        update_fields=RATING_FIELDS,
    )
    RatingRevision.objects.bulk_create(
        [
            RatingRevision(
                account=account,
                rating=r,
                kind=kinds[r.allegro_id],
                last_changed_at=r.last_changed_at,
                recorded_at=synced_at,
                snapshot=r.raw,
            )
            for r in saved
        ]
    )
    return len(saved)


def ratings_mark_deleted(*, account: AllegroAccount, seen_since: datetime, now: datetime) -> int:
    """After a complete pass: ratings the pass did not see were deleted on Allegro."""
    gone = list(
        Rating.objects.filter(
            account=account, synced_at__lt=seen_since, deleted_at__isnull=True
        ).only("id", "raw", "last_changed_at")
    )
    if not gone:
        return 0
    Rating.objects.filter(pk__in=[r.pk for r in gone]).update(deleted_at=now)
    RatingRevision.objects.bulk_create(
        [
            RatingRevision(
                account=account,
                rating=r,
                kind=RatingRevision.Kind.DELETED,
                last_changed_at=r.last_changed_at,
                recorded_at=now,
                snapshot=r.raw,
            )
            for r in gone
        ]
    )
    return len(gone)


# --- disputes ---------------------------------------------------------------------------------


def dispute_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": _text(doc.get("type")),
        "status": _text(_dig(doc, "currentState", "status")),
        "subject": _text(doc.get("subject"))[:255],
        "reference_number": _text(doc.get("referenceNumber")),
        "buyer_id": _text(_dig(doc, "buyer", "id")),
        "buyer_login": _text(_dig(doc, "buyer", "login")),
        "checkout_form_id": _text(_dig(doc, "checkoutForm", "id")),
        "offer_id": _text(_dig(doc, "offer", "id")),
        "opened_at": parse_time(doc.get("openedDate")),
        "decision_due_at": parse_time(doc.get("decisionDueDate")),
        "messages_count": _int(_dig(doc, "chat", "messagesCount")),
        "last_message_at": parse_time(_dig(doc, "chat", "lastMessage", "createdAt")),
        "raw": dict(doc),
    }


def disputes_changed(*, account: AllegroAccount, docs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Ids of the issues whose document differs from the mirror (their chat needs a refresh)."""
    stored = dict(
        Dispute.objects.filter(
            account=account, allegro_id__in=[str(d["id"]) for d in docs]
        ).values_list("allegro_id", "raw")
    )
    return [str(d["id"]) for d in docs if stored.get(str(d["id"])) != d]


def disputes_upsert(
    *,
    account: AllegroAccount,
    docs: Sequence[Mapping[str, Any]],
    chats: Mapping[str, Sequence[Mapping[str, Any]]],
    synced_at: datetime,
) -> int:
    """Upsert changed issues and replace the chat of each issue in ``chats``."""
    if not docs:
        return 0
    saved = Dispute.objects.bulk_create(
        [
            Dispute(
                account=account, allegro_id=str(d["id"]), synced_at=synced_at, **dispute_fields(d)
            )
            for d in docs
        ],
        update_conflicts=True,
        unique_fields=["account", "allegro_id"],
        update_fields=DISPUTE_FIELDS,
    )
    by_id = {d.allegro_id: d for d in saved}
    messages: list[DisputeMessage] = []
    for issue_id, chat in chats.items():
        dispute = by_id.get(issue_id)
        if dispute is None:
            continue
        for msg in chat:
            messages.append(
                DisputeMessage(
                    account=account,
                    dispute=dispute,
                    allegro_id=str(msg["id"]),
                    text=_text(msg.get("text")),
                    author_login=_text(_dig(msg, "author", "login")),
                    author_role=_text(_dig(msg, "author", "role")),
                    attachments=list(msg.get("attachments") or []),
                    created_at=parse_time(msg.get("createdAt")),
                    raw=dict(msg),
                )
            )
    kept: list[int] = []
    if messages:
        kept = [
            m.pk
            for m in DisputeMessage.objects.bulk_create(
                messages,
                update_conflicts=True,
                unique_fields=["account", "allegro_id"],
                update_fields=[*MESSAGE_FIELDS, "dispute"],
            )
        ]
    refreshed = [by_id[i].pk for i in chats if i in by_id]
    DisputeMessage.objects.filter(dispute__in=refreshed).exclude(pk__in=kept).delete()
    return len(saved)


def disputes_sweep(*, account: AllegroAccount, seen_ids: Iterable[str]) -> int:
    """Issues Allegro no longer lists are dropped (the listing covers every status)."""
    deleted, _ = (
        Dispute.objects.filter(account=account).exclude(allegro_id__in=list(seen_ids)).delete()
    )
    return deleted


# --- return policies --------------------------------------------------------------------------


def policy_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": _text(doc.get("name"))[:255],
        "availability": _text(_dig(doc, "availability", "range")),
        "withdrawal_period": _text(doc.get("withdrawalPeriod")),
        "return_cost_covered_by": _text(_dig(doc, "returnCost", "coveredBy")),
        "is_fulfillment": bool(doc.get("isFulfillment")),
        "raw": dict(doc),
    }


def return_policies_replace(
    *, account: AllegroAccount, docs: Sequence[Mapping[str, Any]], synced_at: datetime
) -> int:
    """Make the account's policies equal to the complete listing ``docs``."""
    if docs:
        ReturnPolicy.objects.bulk_create(
            [
                ReturnPolicy(
                    account=account,
                    allegro_id=str(d["id"]),
                    synced_at=synced_at,
                    **policy_fields(d),
                )
                for d in docs
            ],
            update_conflicts=True,
            unique_fields=["account", "allegro_id"],
            update_fields=POLICY_FIELDS,
        )
    ReturnPolicy.objects.filter(account=account).exclude(
        allegro_id__in=[str(d["id"]) for d in docs]
    ).delete()
    return len(docs)
