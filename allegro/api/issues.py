"""Post-purchase issues (disputes and claims): the beta ``/sale/issues`` API."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from allegro import paging
from allegro.api._base import (
    JsonDict,
    Money,
    Traced,
    body,
    dig,
    items,
    opt_int,
    opt_str,
    parse_time,
)
from allegro.client import AllegroClient
from allegro.transport import BETA

MessageType = Literal[
    "REGULAR",
    "END_REQUEST",
    "RETURN_REQUIRED_SELLER_LABEL",
    "RETURN_REQUIRED_CUSTOM",
    "RETURN_NOT_REQUIRED",
]
MAX_MESSAGE_LENGTH = 20000


@dataclass(frozen=True, kw_only=True)
class Issue(Traced):
    """A dispute or a claim (``opened_date`` is Allegro's text, ``opened_at`` parsed)."""

    id: str
    type: str | None
    status: str | None
    status_due_date: str | None
    chat_active: bool | None
    return_required: bool | None
    opened_date: str | None
    opened_at: datetime | None = None
    decision_due_at: datetime | None = None
    subject: str | None
    reference_number: str | None = None
    buyer_id: str | None = None
    buyer_login: str | None
    checkout_form_id: str | None
    offer_id: str | None = None
    messages_count: int | None
    last_message_at: datetime | None = None

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> Issue:
        return cls(
            id=str(data["id"]),
            type=opt_str(data.get("type")),
            status=opt_str(dig(data, "currentState", "status")),
            status_due_date=opt_str(dig(data, "currentState", "statusDueDate")),
            chat_active=dig(data, "currentState", "chatActive"),
            return_required=dig(data, "currentState", "returnRequired"),
            opened_date=opt_str(data.get("openedDate")),
            opened_at=parse_time(data.get("openedDate")),
            decision_due_at=parse_time(data.get("decisionDueDate")),
            subject=opt_str(data.get("subject")),
            reference_number=opt_str(data.get("referenceNumber")),
            buyer_id=opt_str(dig(data, "buyer", "id")),
            buyer_login=opt_str(dig(data, "buyer", "login")),
            checkout_form_id=opt_str(dig(data, "checkoutForm", "id")),
            offer_id=opt_str(dig(data, "offer", "id")),
            messages_count=opt_int(dig(data, "chat", "messagesCount")),
            last_message_at=parse_time(dig(data, "chat", "lastMessage", "createdAt")),
            trace_id=trace_id,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class IssuesPage(Traced):
    issues: list[Issue]


def list_issues(
    client: AllegroClient,
    *,
    checkout_form_id: str | None = None,
    statuses: Sequence[str] | None = None,
    offset: int = 0,
    limit: int = 10,
) -> IssuesPage:
    params = {
        "checkoutForm.id": checkout_form_id,
        "status": statuses,
        "offset": offset,
        "limit": limit,
    }
    response = client.get("/sale/issues", params=params, media=BETA)
    data = body(response)
    return IssuesPage(
        issues=[Issue.parse(i) for i in items(data, "issues")],
        trace_id=response.trace_id,
        raw=data,
    )


def iter_issues(
    client: AllegroClient, *, statuses: Sequence[str] | None = None, page_size: int = 100
) -> Iterator[Issue]:
    def fetch(offset: int, limit: int) -> list[Issue]:
        return list_issues(client, statuses=statuses, offset=offset, limit=limit).issues

    return paging.iter_offset(fetch, limits=paging.ISSUES, page_size=page_size)


def get_issue(client: AllegroClient, *, issue_id: str) -> Issue:
    response = client.get(f"/sale/issues/{issue_id}", media=BETA)
    return Issue.parse(body(response), trace_id=response.trace_id)


@dataclass(frozen=True, kw_only=True)
class IssueMessage(Traced):
    id: str
    text: str | None
    author_login: str | None
    author_role: str | None
    created_at: datetime | None
    attachments: list[JsonDict]

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> IssueMessage:
        return cls(
            id=str(data.get("id") or ""),
            text=opt_str(data.get("text")),
            author_login=opt_str(dig(data, "author", "login")),
            author_role=opt_str(dig(data, "author", "role")),
            created_at=parse_time(data.get("createdAt")),
            attachments=items(data, "attachments"),
            trace_id=trace_id,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class IssueChat(Traced):
    messages: list[IssueMessage]


def get_issue_chat(
    client: AllegroClient, *, issue_id: str, offset: int = 0, limit: int = 100
) -> IssueChat:
    response = client.get(
        f"/sale/issues/{issue_id}/chat", params={"offset": offset, "limit": limit}, media=BETA
    )
    data = body(response)
    return IssueChat(
        messages=[IssueMessage.parse(m) for m in items(data, "chat")],
        trace_id=response.trace_id,
        raw=data,
    )


def post_issue_message(
    client: AllegroClient,
    *,
    issue_id: str,
    text: str,
    message_type: MessageType = "REGULAR",
    attachment_ids: Sequence[str] = (),
) -> IssueMessage:
    """Post to the issue's chat (409 ``Conflict`` when its state forbids messages)."""
    payload: JsonDict = {"text": text, "type": message_type}
    if attachment_ids:
        payload["attachments"] = [{"id": a} for a in attachment_ids]
    response = client.request(
        "POST", f"/sale/issues/{issue_id}/message", json=payload, media=BETA, ok=(201,)
    )
    return IssueMessage.parse(body(response), trace_id=response.trace_id)


# --- attachments and claim decisions ----------------------------------------------------------

# The spec gives a declaration's ``size`` only ``minimum: 1``; Allegro's guide caps a file at
# 10 MB, and the upload answers 413 above it or above the declared size.
MAX_ATTACHMENT_SIZE = 10 * 1024 * 1024
MAX_ATTACHMENT_NAME = 255
ATTACHMENT_TYPES = (
    "image/png",
    "image/gif",
    "image/bmp",
    "image/tiff",
    "image/jpeg",
    "application/pdf",
)
DISPUTE_MESSAGE_TYPES: tuple[MessageType, ...] = ("REGULAR", "END_REQUEST")
CLAIM_MESSAGE_TYPES: tuple[MessageType, ...] = (
    "REGULAR",
    "RETURN_REQUIRED_SELLER_LABEL",
    "RETURN_REQUIRED_CUSTOM",
    "RETURN_NOT_REQUIRED",
)
ClaimDecision = Literal[
    "ACCEPTED_REPAIR",
    "ACCEPTED_REFUND",
    "ACCEPTED_EXCHANGE",
    "ACCEPTED_PARTIAL_REFUND",
    "REJECTED_ADDITIONAL_REQUIREMENTS_NOT_COMPLETED",
    "REJECTED_PRODUCT_NOT_RETURNED",
    "REJECTED_PRODUCT_DAMAGED_BY_USER",
    "REJECTED_PRODUCT_CONFORMS_TO_CONTRACT",
    "REJECTED_MINOR_DEFECT",
    "REJECTED_OTHER",
    "REJECTED_CLAIM_WITHDRAWN_BY_BUYER",
]
CLAIM_DECISIONS: tuple[ClaimDecision, ...] = (
    "ACCEPTED_REPAIR",
    "ACCEPTED_REFUND",
    "ACCEPTED_EXCHANGE",
    "ACCEPTED_PARTIAL_REFUND",
    "REJECTED_ADDITIONAL_REQUIREMENTS_NOT_COMPLETED",
    "REJECTED_PRODUCT_NOT_RETURNED",
    "REJECTED_PRODUCT_DAMAGED_BY_USER",
    "REJECTED_PRODUCT_CONFORMS_TO_CONTRACT",
    "REJECTED_MINOR_DEFECT",
    "REJECTED_OTHER",
    "REJECTED_CLAIM_WITHDRAWN_BY_BUYER",
)


@dataclass(frozen=True, kw_only=True)
class AttachmentDeclared(Traced):
    """A declared attachment: its id and the one-time upload URL (``Location``)."""

    id: str
    upload_url: str | None


def declare_attachment(client: AllegroClient, *, file_name: str, size: int) -> AttachmentDeclared:
    """``POST /sale/issues/attachments``: the first step of sending a file."""
    response = client.request(
        "POST",
        "/sale/issues/attachments",
        json={"fileName": file_name, "size": size},
        media=BETA,
        ok=(201,),
    )
    data = body(response)
    return AttachmentDeclared(
        id=str(data["id"]), upload_url=response.location, trace_id=response.trace_id, raw=data
    )


@dataclass(frozen=True, kw_only=True)
class AttachmentUploaded(Traced):
    id: str


def upload_attachment(
    client: AllegroClient, *, declared: AttachmentDeclared, content: bytes, content_type: str
) -> AttachmentUploaded:
    """``PUT`` the file to the URL the declaration gave (never composed, unless none came)."""
    url = declared.upload_url or f"/sale/issues/attachments/{declared.id}"
    response = client.request(
        "PUT", url, media=BETA, content=content, content_type=content_type, idempotent=True
    )
    data = body(response)
    return AttachmentUploaded(id=str(data.get("id") or declared.id), trace_id=response.trace_id)


@dataclass(frozen=True, kw_only=True)
class AttachmentFile(Traced):
    content: bytes
    content_type: str


def download_attachment(client: AllegroClient, *, attachment_id: str) -> AttachmentFile:
    """``GET /sale/issues/attachments/{id}``: the file's bytes (the account's token stays here)."""
    response = client.request(
        "GET", f"/sale/issues/attachments/{attachment_id}", media=BETA, accept="*/*"
    )
    kind = str(response.headers.get("Content-Type") or "application/octet-stream")
    return AttachmentFile(
        content=response.content, content_type=kind.split(";")[0], trace_id=response.trace_id
    )


@dataclass(frozen=True, kw_only=True)
class ClaimStatusChanged(Traced):
    issue_id: str
    decision: str


def change_claim_status(
    client: AllegroClient,
    *,
    issue_id: str,
    decision: ClaimDecision,
    message: str,
    partial_refund: Money | None = None,
) -> ClaimStatusChanged:
    """``POST /sale/issues/{id}/status``: accept or reject a claim (a partial refund's amount)."""
    payload: JsonDict = {"status": decision, "message": message}
    if partial_refund is not None:
        payload["partialRefund"] = partial_refund.as_json()
    response = client.request(
        "POST", f"/sale/issues/{issue_id}/status", json=payload, media=BETA, ok=(200, 204)
    )
    return ClaimStatusChanged(issue_id=issue_id, decision=decision, trace_id=response.trace_id)
