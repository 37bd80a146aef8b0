"""The message center (``/messaging``): threads, messages, read flags, attachments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from allegro.api._base import (
    JsonDict,
    Traced,
    body,
    dig,
    items,
    opt_bool,
    opt_int,
    opt_str,
    parse_time,
)
from allegro.client import AllegroClient

THREADS_PAGE_LIMIT = 20  # the spec's maximum
THREADS_MAX_OFFSET = 15_000_000
MESSAGES_PAGE_LIMIT = 20
MESSAGES_MAX_OFFSET = 15_000
MAX_TEXT_LENGTH = 2000
MAX_ATTACHMENT_SIZE = 5_242_880
ATTACHMENT_TYPES = (
    "image/png",
    "image/gif",
    "image/bmp",
    "image/tiff",
    "image/jpeg",
    "application/pdf",
)
# Sending (``POST …/messages``) is limited to 1 request per second per user.
SEND_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True, kw_only=True)
class Thread(Traced):
    id: str
    read: bool
    last_message_at: datetime | None
    interlocutor_login: str
    interlocutor_avatar: str

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> Thread:
        return cls(
            id=str(data["id"]),
            read=bool(opt_bool(data.get("read"))),
            last_message_at=parse_time(data.get("lastMessageDateTime")),
            interlocutor_login=opt_str(dig(data, "interlocutor", "login")) or "",
            interlocutor_avatar=opt_str(dig(data, "interlocutor", "avatarUrl")) or "",
            trace_id=trace_id,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class MessageAttachment:
    file_name: str
    mime_type: str
    url: str
    status: str

    @property
    def attachment_id(self) -> str:
        """The id at the end of the download URL (``/messaging/message-attachments/{id}``)."""
        return self.url.rstrip("/").rsplit("/", 1)[-1] if self.url else ""


@dataclass(frozen=True, kw_only=True)
class Message(Traced):
    id: str
    thread_id: str
    status: str
    type: str
    created_at: datetime | None
    created: str
    author_login: str
    author_is_interlocutor: bool
    text: str
    subject: str
    order_id: str
    offer_id: str
    attachments: list[MessageAttachment] = field(default_factory=list)

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> Message:
        return cls(
            id=str(data["id"]),
            thread_id=opt_str(dig(data, "thread", "id")) or "",
            status=opt_str(data.get("status")) or "",
            type=opt_str(data.get("type")) or "",
            created_at=parse_time(data.get("createdAt")),
            created=opt_str(data.get("createdAt")) or "",
            author_login=opt_str(dig(data, "author", "login")) or "",
            author_is_interlocutor=bool(opt_bool(dig(data, "author", "isInterlocutor"))),
            text=opt_str(data.get("text")) or "",
            subject=opt_str(data.get("subject")) or "",
            order_id=opt_str(dig(data, "relatesTo", "order", "id")) or "",
            offer_id=opt_str(dig(data, "relatesTo", "offer", "id")) or "",
            attachments=[
                MessageAttachment(
                    file_name=opt_str(a.get("fileName")) or "",
                    mime_type=opt_str(a.get("mimeType")) or "",
                    url=opt_str(a.get("url")) or "",
                    status=opt_str(a.get("status")) or "",
                )
                for a in items(data, "attachments")
            ],
            trace_id=trace_id,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class ThreadsPage(Traced):
    threads: list[Thread]
    offset: int
    limit: int


def list_threads(
    client: AllegroClient, *, offset: int = 0, limit: int = THREADS_PAGE_LIMIT
) -> ThreadsPage:
    """Newest last message first."""
    response = client.get("/messaging/threads", params={"offset": offset, "limit": limit})
    data = body(response)
    return ThreadsPage(
        threads=[Thread.parse(t) for t in items(data, "threads")],
        offset=opt_int(data.get("offset")) or offset,
        limit=opt_int(data.get("limit")) or limit,
        trace_id=response.trace_id,
        raw=data,
    )


def get_thread(client: AllegroClient, *, thread_id: str) -> Thread:
    response = client.get(f"/messaging/threads/{thread_id}")
    return Thread.parse(body(response), trace_id=response.trace_id)


def mark_thread_read(client: AllegroClient, *, thread_id: str, read: bool = True) -> Thread:
    response = client.request("PUT", f"/messaging/threads/{thread_id}/read", json={"read": read})
    return Thread.parse(body(response), trace_id=response.trace_id)


def list_messages(
    client: AllegroClient,
    *,
    thread_id: str,
    offset: int | None = None,
    limit: int = MESSAGES_PAGE_LIMIT,
    before: str | None = None,
    after: str | None = None,
) -> list[Message]:
    """Newest first; ``before``/``after`` are exclusive (``before`` excludes ``offset``)."""
    params = {"limit": limit, "offset": offset, "before": before, "after": after}
    data = body(client.get(f"/messaging/threads/{thread_id}/messages", params=params))
    return [Message.parse(m) for m in items(data, "messages")]


def thread_messages(
    client: AllegroClient, *, thread_id: str, after: str | None = None
) -> list[Message]:
    """Every message of the thread newer than ``after`` (all without it), newest first:
    paged with ``before`` the oldest one seen, so offsets never run out."""
    found: list[Message] = []
    before: str | None = None
    while True:
        page = list_messages(
            client, thread_id=thread_id, before=before, after=after, limit=MESSAGES_PAGE_LIMIT
        )
        found.extend(page)
        if len(page) < MESSAGES_PAGE_LIMIT or not page[-1].created:
            return found
        before = page[-1].created


def get_message(client: AllegroClient, *, message_id: str) -> Message:
    response = client.get(f"/messaging/messages/{message_id}")
    return Message.parse(body(response), trace_id=response.trace_id)


def _attachments(attachment_ids: Sequence[str]) -> list[JsonDict] | None:
    return [{"id": a} for a in attachment_ids] or None


def post_in_thread(
    client: AllegroClient, *, thread_id: str, text: str, attachment_ids: Sequence[str] = ()
) -> Message:
    """``POST /messaging/threads/{id}/messages`` (1 request/s per user: a 429 is
    ``RateLimited``). Never retried by the transport: it is not idempotent."""
    payload: JsonDict = {"text": text}
    if attachment_ids:
        payload["attachments"] = _attachments(attachment_ids)
    response = client.request(
        "POST", f"/messaging/threads/{thread_id}/messages", json=payload, ok=(201,)
    )
    return Message.parse(body(response), trace_id=response.trace_id)


def post_to_buyer(
    client: AllegroClient,
    *,
    login: str,
    order_id: str,
    text: str,
    attachment_ids: Sequence[str] = (),
) -> Message:
    """``POST /messaging/messages``: a new message to an order's buyer."""
    payload: JsonDict = {"recipient": {"login": login}, "text": text, "order": {"id": order_id}}
    if attachment_ids:
        payload["attachments"] = _attachments(attachment_ids)
    response = client.request("POST", "/messaging/messages", json=payload, ok=(201,))
    return Message.parse(body(response), trace_id=response.trace_id)


@dataclass(frozen=True, kw_only=True)
class AttachmentId(Traced):
    id: str


def declare_attachment(client: AllegroClient, *, filename: str, size: int) -> AttachmentId:
    response = client.request(
        "POST",
        "/messaging/message-attachments",
        json={"filename": filename, "size": size},
        ok=(201,),
    )
    data = body(response)
    return AttachmentId(id=str(data["id"]), trace_id=response.trace_id, raw=data)


def upload_attachment(
    client: AllegroClient, *, attachment_id: str, content: bytes, content_type: str
) -> AttachmentId:
    response = client.request(
        "PUT",
        f"/messaging/message-attachments/{attachment_id}",
        content=content,
        content_type=content_type,
        idempotent=True,
    )
    data = body(response)
    return AttachmentId(id=str(data.get("id") or attachment_id), trace_id=response.trace_id)


@dataclass(frozen=True, kw_only=True)
class AttachmentFile(Traced):
    content: bytes
    content_type: str
    disposition: str


def download_attachment(client: AllegroClient, *, attachment_id: str) -> AttachmentFile:
    response = client.request(
        "GET", f"/messaging/message-attachments/{attachment_id}", accept="*/*"
    )
    kind = str(response.headers.get("Content-Type") or "application/octet-stream")
    return AttachmentFile(
        content=response.content,
        content_type=kind.split(";")[0],
        disposition=str(response.headers.get("Content-Disposition") or ""),
        trace_id=response.trace_id,
    )
