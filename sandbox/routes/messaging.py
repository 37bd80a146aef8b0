"""The message center (``/messaging``): threads with buyers, messages, read flags, attachments.

Storage (generic ``documents``):
- kind ``msg_thread``: the ``Thread`` document; ``sort_key`` = ``lastMessageDateTime#id``
  (newest first), ``k1`` = the interlocutor's login;
- kind ``msg_message``: a ``Message``; ``sort_key`` = ``createdAt#seq``, ``k1`` = thread id;
- kind ``msg_attachment``: a declared (then uploaded) attachment, ``k1`` = ``uploaded``;
- kind ``msg_rate``: per seller, the simulated time of the last message sent (sending is
  limited to 1 request per second per user: faster answers 429 with ``Retry-After``).

Buyers write through the control plane (``POST /__sandbox__/sellers/{id}/messages``).
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.documents import doc_or_404
from sandbox.http import (
    ApiError,
    Ctx,
    RouteTable,
    error_item,
    int_param,
    json_bytes,
    raw_response,
    retry_after_value,
    unprocessable,
)
from sandbox.orders import load_order
from sandbox.routes.control import body_of, endpoint, sim
from sandbox.state import State, iso

table = RouteTable()

THREAD_KIND = "msg_thread"
MESSAGE_KIND = "msg_message"
ATTACHMENT_KIND = "msg_attachment"
RATE_KIND = "msg_rate"
MAX_TEXT = 2000
MAX_ATTACHMENT = 5242880
ATTACHMENT_TYPES = (
    "image/png",
    "image/gif",
    "image/bmp",
    "image/tiff",
    "image/jpeg",
    "application/pdf",
)
EXTENSIONS = {
    "png": "image/png",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "pdf": "application/pdf",
}
BUYER_QUESTIONS = (
    "Dzień dobry, kiedy wyślecie moje zamówienie?",
    "Czy mogę zmienić adres dostawy na paczkomat?",
    "Proszę o fakturę VAT na firmę, dane wyślę w kolejnej wiadomości.",
    "Czy produkt jest oryginalny i ma gwarancję producenta?",
    "Paczka nie dotarła, a status pokazuje doręczenie. Co mam zrobić?",
)


def avatar(login: str) -> str:
    return f"https://a.allegroimg.com/avatar/{login.lower()}"


def thread_sort_key(doc: dict[str, Any]) -> str:
    return f"{doc.get('lastMessageDateTime') or ''}#{doc['id']}"


def save_thread(state: State, *, seller_id: str, doc: dict[str, Any]) -> None:
    state.store.doc_put(
        kind=THREAD_KIND,
        id_=doc["id"],
        seller_id=seller_id,
        doc=doc,
        sort_key=thread_sort_key(doc),
        k1=(doc.get("interlocutor") or {}).get("login"),
    )


def thread_for(
    state: State, *, seller_id: str, login: str, thread_id: str | None = None
) -> dict[str, Any]:
    """The thread with ``login`` (created, unsaved, when there is none yet)."""
    page, _ = state.store.doc_list(
        kind=THREAD_KIND, seller_id=seller_id, where="k1 = ?", params=[login], limit=1
    )
    if page:
        return page[0]
    return {
        "id": thread_id or str(uuid.uuid4()),
        "read": True,
        "lastMessageDateTime": None,
        "interlocutor": {"login": login, "avatarUrl": avatar(login)},
    }


def add_message(
    state: State,
    *,
    seller_id: str,
    thread: dict[str, Any],
    from_buyer: bool,
    text: str,
    order_id: str | None,
    offer_id: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
    at: float | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """Append a message to the thread; a buyer's message makes the thread unread."""
    created = iso(state.clock.now() if at is None else at)
    interlocutor = thread["interlocutor"]["login"]
    seller_login = str(state.store.scalar("SELECT login FROM sellers WHERE id = ?", (seller_id,)))
    relates: dict[str, Any] = {"offer": {"id": offer_id} if offer_id else None}
    if order_id:
        relates["order"] = {"id": order_id}
    message: dict[str, Any] = {
        "id": message_id or str(uuid.uuid4()),
        "status": "DELIVERED",
        "type": "MESSAGE_CENTER",
        "createdAt": created,
        "thread": {"id": thread["id"]},
        "author": {
            "login": interlocutor if from_buyer else seller_login,
            "isInterlocutor": from_buyer,
        },
        "text": text,
        "subject": None,
        "relatesTo": relates,
        "hasAdditionalAttachments": False,
        "attachments": attachments or [],
        "additionalInformation": None,
    }
    seq = int(
        state.store.scalar(
            "SELECT COUNT(*) FROM documents WHERE kind = ? AND k1 = ?", (MESSAGE_KIND, thread["id"])
        )
        or 0
    )
    thread["lastMessageDateTime"] = created
    thread["read"] = not from_buyer
    with state.store.tx():
        state.store.doc_put(
            kind=MESSAGE_KIND,
            id_=str(message["id"]),
            seller_id=seller_id,
            doc=message,
            sort_key=f"{created}#{seq:06d}",
            k1=thread["id"],
        )
        save_thread(state, seller_id=seller_id, doc=thread)
    return message


def load_thread(state: State, *, thread_id: str, seller_id: str) -> dict[str, Any]:
    return doc_or_404(
        state, kind=THREAD_KIND, id_=thread_id, seller_id=seller_id, what="Thread", path="threadId"
    )


def attachment_url(base: str, attachment_id: str) -> str:
    return f"{base.rstrip('/')}/messaging/message-attachments/{attachment_id}"


def message_attachments(ctx: Ctx, raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or any(
        not isinstance(a, dict) or not isinstance(a.get("id"), str) for a in raw
    ):
        raise unprocessable("attachments must be a list of {id}", path="attachments")
    found = []
    for n, item in enumerate(raw):
        att = ctx.store.doc_get(kind=ATTACHMENT_KIND, id_=item["id"], seller_id=ctx.seller_id)
        if att is None or not att.get("uploaded"):
            raise unprocessable(
                f"Attachment {item['id']} was not declared and uploaded",
                path=f"attachments[{n}].id",
            )
        found.append(
            {
                "fileName": att["filename"],
                "mimeType": att["contentType"],
                "url": attachment_url(str(ctx.request.base_url), item["id"]),
                "status": "SAFE",
            }
        )
    return found


def message_text(body: dict[str, Any]) -> str:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise unprocessable("text is required", path="text")
    if len(text) > MAX_TEXT:
        raise unprocessable(f"text may have at most {MAX_TEXT} characters", path="text")
    return text


def send_limited(ctx: Ctx) -> Response | None:
    """1 request per second per user on sending (``message_send_interval``, ``/settings``): the
    answer when the caller is too fast."""
    interval = ctx.state.config.message_send_interval
    last = ctx.store.doc_get(kind=RATE_KIND, id_=ctx.seller_id, seller_id=ctx.seller_id)
    now = ctx.state.clock.now()
    if last is not None and now - float(last["at"]) < interval:
        ctx.state.stats.rate_limited += 1
        err = error_item(
            code="TooManyRequestsException",
            message="Sending messages is limited to 1 request per second per user",
        )
        return raw_response(
            json_bytes({"errors": [err]}),
            status=429,
            media=ctx.route.error_media,
            headers={"Retry-After": retry_after_value(interval)},
        )
    ctx.store.doc_put(kind=RATE_KIND, id_=ctx.seller_id, seller_id=ctx.seller_id, doc={"at": now})
    return None


# -- Allegro routes ----------------------------------------------------------------------------
@table.route("GET", "/messaging/threads", scope="messaging")
async def list_threads(ctx: Ctx) -> Response:
    """Newest last message first."""
    limit = int_param(ctx, "limit", default=20, minimum=1, maximum=20)
    offset = int_param(ctx, "offset", default=0, minimum=0, maximum=15000000)
    page, _ = ctx.store.doc_list(
        kind=THREAD_KIND, seller_id=ctx.seller_id, limit=limit, offset=offset
    )
    return ctx.json({"threads": page, "offset": offset, "limit": limit})


@table.route("GET", "/messaging/threads/{threadId}", scope="messaging")
async def get_thread(ctx: Ctx) -> Response:
    return ctx.json(
        load_thread(ctx.state, thread_id=ctx.path_param("threadId"), seller_id=ctx.seller_id)
    )


@table.route("PUT", "/messaging/threads/{threadId}/read", scope="messaging")
async def mark_read(ctx: Ctx) -> Response:
    doc = load_thread(ctx.state, thread_id=ctx.path_param("threadId"), seller_id=ctx.seller_id)
    body = await ctx.body_object()
    read = body.get("read")
    if not isinstance(read, bool):
        raise unprocessable("read must be true or false", path="read")
    doc["read"] = read
    save_thread(ctx.state, seller_id=ctx.seller_id, doc=doc)
    return ctx.json(doc)


@table.route("GET", "/messaging/threads/{threadId}/messages", scope="messaging")
async def list_messages(ctx: Ctx) -> Response:
    """Newest first; ``before`` / ``after`` are exclusive and ``before`` excludes ``offset``."""
    thread_id = ctx.path_param("threadId")
    load_thread(ctx.state, thread_id=thread_id, seller_id=ctx.seller_id)
    limit = int_param(ctx, "limit", default=20, minimum=1, maximum=20)
    offset = int_param(ctx, "offset", default=0, minimum=0, maximum=15000)
    before, after = ctx.query("before"), ctx.query("after")
    if before is not None and ctx.query("offset") is not None:
        raise unprocessable("before cannot be combined with offset", path="before")
    where, params = ["k1 = ?"], [thread_id]
    if before is not None:
        where.append("sort_key < ?")
        params.append(before)
    if after is not None:
        where.append("sort_key > ?")
        params.append(after + "#999999")
    page, _ = ctx.store.doc_list(
        kind=MESSAGE_KIND,
        seller_id=ctx.seller_id,
        where=" AND ".join(where),
        params=params,
        limit=limit,
        offset=offset,
    )
    return ctx.json({"messages": page, "offset": offset, "limit": limit})


@table.route("POST", "/messaging/threads/{threadId}/messages", scope="messaging")
async def post_in_thread(ctx: Ctx) -> Response:
    thread = load_thread(ctx.state, thread_id=ctx.path_param("threadId"), seller_id=ctx.seller_id)
    body = await ctx.body_object()
    text = message_text(body)
    attachments = message_attachments(ctx, body.get("attachments"))
    limited = send_limited(ctx)
    if limited is not None:
        return limited
    last = ctx.store.one(
        "SELECT doc FROM documents WHERE kind = ? AND k1 = ? ORDER BY sort_key DESC LIMIT 1",
        (MESSAGE_KIND, thread["id"]),
    )
    order_id = None
    if last is not None:
        order_id = ((orjson.loads(last[0]).get("relatesTo") or {}).get("order") or {}).get("id")
    message = add_message(
        ctx.state,
        seller_id=ctx.seller_id,
        thread=thread,
        from_buyer=False,
        text=text,
        order_id=order_id,
        attachments=attachments,
    )
    return ctx.json(message, status=201)


@table.route("POST", "/messaging/messages", scope="messaging")
async def post_new_message(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    recipient = body.get("recipient")
    login = recipient.get("login") if isinstance(recipient, dict) else None
    if not isinstance(login, str) or not login:
        raise unprocessable("recipient.login is required", path="recipient.login")
    order_ref = body.get("order")
    order_id = order_ref.get("id") if isinstance(order_ref, dict) else None
    if not isinstance(order_id, str) or not order_id:
        raise unprocessable("order.id is required", path="order.id")
    text = message_text(body)
    attachments = message_attachments(ctx, body.get("attachments"))
    order = load_order(ctx.store, seller_id=ctx.seller_id, order_id=order_id)
    if order is None:
        raise unprocessable(f"Order {order_id} not found", path="order.id")
    if order["buyer"]["login"] != login:
        raise unprocessable("The recipient is not the order's buyer", path="recipient.login")
    limited = send_limited(ctx)
    if limited is not None:
        return limited
    thread = thread_for(ctx.state, seller_id=ctx.seller_id, login=login)
    message = add_message(
        ctx.state,
        seller_id=ctx.seller_id,
        thread=thread,
        from_buyer=False,
        text=text,
        order_id=order_id,
        attachments=attachments,
    )
    return ctx.json(message, status=201)


@table.route("GET", "/messaging/messages/{messageId}", scope="messaging")
async def get_message(ctx: Ctx) -> Response:
    doc = doc_or_404(
        ctx.state,
        kind=MESSAGE_KIND,
        id_=ctx.path_param("messageId"),
        seller_id=ctx.seller_id,
        what="Message",
        path="messageId",
    )
    return ctx.json(doc)


@table.route("DELETE", "/messaging/messages/{messageId}", scope="messaging")
async def delete_message(ctx: Ctx) -> Response:
    message_id = ctx.path_param("messageId")
    doc_or_404(
        ctx.state,
        kind=MESSAGE_KIND,
        id_=message_id,
        seller_id=ctx.seller_id,
        what="Message",
        path="messageId",
    )
    ctx.store.doc_delete(kind=MESSAGE_KIND, id_=message_id)
    return ctx.empty(204)


@table.route("POST", "/messaging/message-attachments", scope="messaging")
async def declare_attachment(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    name = body.get("filename")
    if not isinstance(name, str) or not name.strip():
        raise unprocessable("filename is required", path="filename")
    size = body.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0 or size > MAX_ATTACHMENT:
        raise unprocessable(f"size must be between 0 and {MAX_ATTACHMENT} bytes", path="size")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in EXTENSIONS:
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Only images and PDF files", path="filename")
    attachment_id = str(uuid.uuid4())
    ctx.store.doc_put(
        kind=ATTACHMENT_KIND,
        id_=attachment_id,
        seller_id=ctx.seller_id,
        doc={"id": attachment_id, "filename": name, "size": size, "uploaded": False},
        sort_key=ctx.state.clock.iso(),
        k1="declared",
    )
    return ctx.json({"id": attachment_id}, status=201)


@table.route(
    "PUT",
    "/messaging/message-attachments/{attachmentId}",
    scope="messaging",
    body_media=ATTACHMENT_TYPES,
)
async def upload_attachment(ctx: Ctx) -> Response:
    attachment_id = ctx.path_param("attachmentId")
    att = ctx.store.doc_get(kind=ATTACHMENT_KIND, id_=attachment_id, seller_id=ctx.seller_id)
    if att is None:
        raise ApiError(404, "NOT_FOUND", f"Attachment {attachment_id} not declared")
    data = await ctx.request.body()
    if len(data) > att["size"]:
        raise ApiError(
            413, "FILE_TOO_BIG", f"The file has {len(data)} bytes, {att['size']} were declared"
        )
    att.update(
        uploaded=True,
        contentType=ctx.request.headers.get("content-type", "").split(";")[0],
        data=base64.b64encode(data).decode(),
    )
    ctx.store.doc_put(
        kind=ATTACHMENT_KIND,
        id_=attachment_id,
        seller_id=ctx.seller_id,
        doc=att,
        sort_key=ctx.state.clock.iso(),
        k1="uploaded",
    )
    return ctx.json({"id": attachment_id})


@table.route(
    "GET",
    "/messaging/message-attachments/{attachmentId}",
    scope="messaging",
    media="octet",
    accept=("*/*", "octet", *ATTACHMENT_TYPES),
    error_media="v1",
)
async def download_attachment(ctx: Ctx) -> Response:
    attachment_id = ctx.path_param("attachmentId")
    att = ctx.store.doc_get(kind=ATTACHMENT_KIND, id_=attachment_id, seller_id=ctx.seller_id)
    if att is None or not att.get("uploaded"):
        raise ApiError(404, "NOT_FOUND", f"Attachment {attachment_id} not found")
    return raw_response(
        base64.b64decode(att["data"]),
        media=att["contentType"],
        headers={"Content-Disposition": f'attachment; filename="{att["filename"]}"'},
    )


# -- control plane -----------------------------------------------------------------------------
@endpoint
async def control_buyer_message(request: Request) -> Any:
    """``{"orderId"?, "text"?, "login"?}``: a buyer writes to the seller (about an order: its
    buyer writes; without one, ``login`` does). The thread becomes unread."""
    state = sim(request)
    body = await body_of(request)
    seller_id = request.path_params["seller_id"]
    if state.store.scalar("SELECT 1 FROM sellers WHERE id = ?", (seller_id,)) is None:
        raise ApiError(404, "NOT_FOUND", f"Seller {seller_id} not found")
    order_id = body.get("orderId")
    login = body.get("login")
    offer_id = None
    if order_id:
        order = load_order(state.store, seller_id=seller_id, order_id=str(order_id))
        if order is None:
            raise ApiError(404, "NOT_FOUND", f"Checkout form {order_id} not found")
        login = order["buyer"]["login"]
        offer_id = str(order["lineItems"][0]["offer"]["id"])
    if not isinstance(login, str) or not login:
        raise ApiError(400, "VALIDATION_ERROR", "orderId or login is required")
    text = body.get("text") or BUYER_QUESTIONS[0]
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ApiError(400, "VALIDATION_ERROR", f"text: a string of at most {MAX_TEXT} characters")
    thread = thread_for(state, seller_id=seller_id, login=login)
    return add_message(
        state,
        seller_id=seller_id,
        thread=thread,
        from_buyer=True,
        text=text,
        order_id=str(order_id) if order_id else None,
        offer_id=offer_id,
    )


control_routes = [
    Route("/__sandbox__/sellers/{seller_id}/messages", control_buyer_message, methods=["POST"]),
]
