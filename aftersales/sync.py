"""Write the after-sales mirror: disputes and their chat, ratings with history, return policies.

Takes the typed documents of ``allegro.api`` (parsed once there); each ``*_fields`` function is
the one mapping of a document onto its model. Called by ``aftersales.flows``; never talks HTTP.
Each function issues a fixed number of queries per page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import AllegroAccount
from aftersales.models import (
    OTHER_SIDE,
    SPEAKERS,
    Dispute,
    DisputeMessage,
    ImpliedWarranty,
    Rating,
    RatingRevision,
    ReturnPolicy,
    Warranty,
)
from allegro.api import issues as issues_api
from allegro.api import ratings as ratings_api
from allegro.api import return_policies as policies_api
from allegro.api import warranties as warranties_api

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
    "chat_active",
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


# --- ratings ----------------------------------------------------------------------------------


def rating_fields(rating: ratings_api.Rating) -> dict[str, Any]:
    """The model fields of a rating: the one mapping from Allegro's document to ours."""
    return {
        "buyer_id": rating.buyer_id or "",
        "buyer_login": rating.buyer_login or "",
        "recommended": rating.recommended,
        "comment": rating.comment or "",
        "rate_description": rating.rates.description,
        "rate_service": rating.rates.service,
        "rate_delivery_cost": rating.rates.delivery_cost,
        "rate_delivery": rating.rates.delivery,
        "checkout_form_id": rating.order_id or "",
        "answer_message": rating.answer or "",
        "answer_created_at": rating.answer_created_at,
        "removal_requested_at": rating.removal_requested_at,
        "removal_message": rating.removal_message or "",
        "removal_source": rating.removal_source or "",
        "removal_possible_to": rating.removal_possible_until,
        "excluded_from_average": rating.excluded_from_average,
        "excluded_reason": rating.excluded_reason or "",
        "created_at": rating.created,
        "edited_at": rating.edited,
        "last_changed_at": rating.last_changed,
        "raw": rating.raw,
    }


def ratings_upsert(
    *, account: AllegroAccount, ratings: Sequence[ratings_api.Rating], synced_at: datetime
) -> int:
    """Upsert a page of ratings; a new or changed one gets a ``RatingRevision`` (history).

    Ratings whose document did not change only get ``synced_at`` (the deletion sweep's mark).
    """
    incoming = {r.id: r for r in ratings}
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
    for key, rating in incoming.items():
        old = stored.get(key)
        if old is not None and old.raw == rating.raw and old.deleted_at is None:
            continue
        kinds[key] = RatingRevision.Kind.CREATED if old is None else RatingRevision.Kind.EDITED
        rows.append(
            Rating(
                account=account,
                allegro_id=key,
                synced_at=synced_at,
                deleted_at=None,
                **rating_fields(rating),
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


def dispute_fields(issue: issues_api.Issue) -> dict[str, Any]:
    """The model fields of an issue: the one mapping from Allegro's document to ours."""
    return {
        "type": issue.type or "",
        "status": issue.status or "",
        "subject": (issue.subject or "")[:255],
        "reference_number": issue.reference_number or "",
        "buyer_id": issue.buyer_id or "",
        "buyer_login": issue.buyer_login or "",
        "checkout_form_id": issue.checkout_form_id or "",
        "offer_id": issue.offer_id or "",
        "opened_at": issue.opened_at,
        "decision_due_at": issue.decision_due_at,
        "chat_active": issue.chat_active,
        "messages_count": issue.messages_count,
        "last_message_at": issue.last_message_at,
        "raw": issue.raw,
    }


def message_fields(message: issues_api.IssueMessage) -> dict[str, Any]:
    return {
        "allegro_id": message.id,
        "text": message.text or "",
        "author_login": message.author_login or "",
        "author_role": message.author_role or "",
        "attachments": list(message.attachments),
        "created_at": message.created_at,
        "raw": message.raw,
    }


def disputes_changed(*, account: AllegroAccount, issues: Sequence[issues_api.Issue]) -> list[str]:
    """Ids of the issues whose document differs from the mirror (their chat needs a refresh)."""
    stored = dict(
        Dispute.objects.filter(account=account, allegro_id__in=[i.id for i in issues]).values_list(
            "allegro_id", "raw"
        )
    )
    return [i.id for i in issues if stored.get(i.id) != i.raw]


def disputes_upsert(
    *,
    account: AllegroAccount,
    issues: Sequence[issues_api.Issue],
    chats: Mapping[str, Sequence[issues_api.IssueMessage]],
    synced_at: datetime,
) -> int:
    """Upsert changed issues and replace the chat of each issue in ``chats``."""
    if not issues:
        return 0
    saved = Dispute.objects.bulk_create(
        [
            Dispute(account=account, allegro_id=i.id, synced_at=synced_at, **dispute_fields(i))
            for i in issues
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
            messages.append(DisputeMessage(account=account, dispute=dispute, **message_fields(msg)))
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
    dispute_turns_refresh(dispute_ids=[d.pk for d in saved])
    return len(saved)


def _latest(roles: Sequence[str], column: str) -> Subquery:
    return Subquery(
        DisputeMessage.objects.filter(dispute_id=OuterRef("pk"), author_role__in=roles)
        .order_by("-created_at", "-id")
        .values(column)[:1]
    )


def dispute_turns_refresh(*, dispute_ids: Sequence[int]) -> int:
    """Keep whose turn it is on the disputes (one ``UPDATE``), from their chats as stored:
    ``last_speaker`` (the last BUYER, SELLER or ADMIN message's author; system notices do not
    count; empty when nobody spoke) and ``waiting_since`` (the buyer's or an advisor's last
    message, else the opening). Called wherever a chat is written: the mirror's upsert and a
    reply sent from here."""
    if not dispute_ids:
        return 0
    return Dispute.objects.filter(pk__in=list(dispute_ids)).update(
        last_speaker=Coalesce(_latest(SPEAKERS, "author_role"), Value("")),
        waiting_since=Coalesce(_latest(OTHER_SIDE, "created_at"), F("opened_at"), F("synced_at")),
    )


def disputes_sweep(*, account: AllegroAccount, seen_ids: Iterable[str]) -> int:
    """Issues Allegro no longer lists are dropped (the listing covers every status)."""
    deleted, _ = (
        Dispute.objects.filter(account=account).exclude(allegro_id__in=list(seen_ids)).delete()
    )
    return deleted


# --- return policies --------------------------------------------------------------------------


def policy_fields(policy: policies_api.ReturnPolicy) -> dict[str, Any]:
    """The model fields of a return policy: the one mapping from Allegro's document to ours."""
    return {
        "name": policy.name[:255],
        "availability": policy.availability or "",
        "withdrawal_period": policy.withdrawal_period or "",
        "return_cost_covered_by": policy.return_cost_by or "",
        "is_fulfillment": policy.is_fulfillment,
        "raw": policy.raw,
    }


def return_policies_replace(
    *, account: AllegroAccount, policies: Sequence[policies_api.ReturnPolicy], synced_at: datetime
) -> int:
    """Make the account's policies equal to the complete listing ``policies``."""
    if policies:
        ReturnPolicy.objects.bulk_create(
            [
                ReturnPolicy(
                    account=account, allegro_id=p.id, synced_at=synced_at, **policy_fields(p)
                )
                for p in policies
            ],
            update_conflicts=True,
            unique_fields=["account", "allegro_id"],
            update_fields=POLICY_FIELDS,
        )
    ReturnPolicy.objects.filter(account=account).exclude(
        allegro_id__in=[p.id for p in policies]
    ).delete()
    return len(policies)


# --- warranties -------------------------------------------------------------------------------

WARRANTY_FIELDS = [
    "name",
    "type",
    "individual_period",
    "individual_lifetime",
    "corporate_period",
    "corporate_lifetime",
    "attachment_name",
    "description",
    "synced_at",
    "raw",
]
IMPLIED_FIELDS = [
    "name",
    "individual_period",
    "corporate_period",
    "address",
    "description",
    "synced_at",
    "raw",
]


def warranty_fields(doc: warranties_api.Warranty) -> dict[str, Any]:
    return {
        "name": doc.name[:255],
        "type": doc.type or "",
        "individual_period": (doc.individual_period or "")[:16],
        "individual_lifetime": bool(doc.individual_lifetime),
        "corporate_period": (doc.corporate_period or "")[:16],
        "corporate_lifetime": bool(doc.corporate_lifetime),
        "attachment_name": (doc.attachment_name or "")[:255],
        "description": doc.description or "",
        "raw": doc.raw,
    }


def implied_warranty_fields(doc: warranties_api.ImpliedWarranty) -> dict[str, Any]:
    parts = [
        doc.address_name,
        doc.address_street,
        " ".join(p for p in (doc.address_post_code, doc.address_city) if p),
        doc.address_country_code,
    ]
    return {
        "name": doc.name[:255],
        "individual_period": (doc.individual_period or "")[:16],
        "corporate_period": (doc.corporate_period or "")[:16],
        "address": ", ".join(p for p in parts if p)[:700],
        "description": doc.description or "",
        "raw": doc.raw,
    }


def warranties_replace(
    *,
    account: AllegroAccount,
    warranties: Sequence[warranties_api.Warranty],
    implied: Sequence[warranties_api.ImpliedWarranty],
    synced_at: datetime,
) -> int:
    """Make the account's warranties and implied warranties equal to the complete listings."""
    if warranties:
        Warranty.objects.bulk_create(
            [
                Warranty(
                    account=account, allegro_id=w.id, synced_at=synced_at, **warranty_fields(w)
                )
                for w in warranties
            ],
            update_conflicts=True,
            unique_fields=["account", "allegro_id"],
            update_fields=WARRANTY_FIELDS,
        )
    Warranty.objects.filter(account=account).exclude(
        allegro_id__in=[w.id for w in warranties]
    ).delete()
    if implied:
        ImpliedWarranty.objects.bulk_create(
            [
                ImpliedWarranty(
                    account=account,
                    allegro_id=w.id,
                    synced_at=synced_at,
                    **implied_warranty_fields(w),
                )
                for w in implied
            ],
            update_conflicts=True,
            unique_fields=["account", "allegro_id"],
            update_fields=IMPLIED_FIELDS,
        )
    ImpliedWarranty.objects.filter(account=account).exclude(
        allegro_id__in=[w.id for w in implied]
    ).delete()
    return len(warranties) + len(implied)
