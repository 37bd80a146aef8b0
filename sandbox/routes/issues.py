"""Disputes and claims: the beta ``/sale/issues`` API (chat, messages, claim status, attachments).

Storage (generic ``documents``):
- kind ``issue``: the ``PostPurchaseIssue`` document; ``sort_key`` = ``openedDate``,
  ``k1`` = status, ``k2`` = checkout form id, ``k3`` = ``DISPUTE``/``CLAIM``;
- kind ``issue_message``: one chat message; ``k1`` = issue id, ``sort_key`` = ``createdAt#seq``;
- kind ``issue_attachment``: a declared (and later uploaded) attachment, ``k1`` = ``uploaded``.

Only a closed dispute has ``chatActive = false`` (posting then answers 409). Buyers' actions
(opening an issue, writing, closing or escalating) come through the control plane.
"""

from __future__ import annotations

import base64
import random
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.documents import doc_or_404, seller_of_doc
from sandbox.http import (
    ApiError,
    Ctx,
    RouteTable,
    bad_request,
    int_param,
    is_uuid,
    raw_response,
    unprocessable,
)
from sandbox.orders import load_order
from sandbox.routes.control import body_of, endpoint, sim
from sandbox.state import State, iso

table = RouteTable()

KIND = "issue"
MESSAGE_KIND = "issue_message"
ATTACHMENT_KIND = "issue_attachment"
DAY = 86400.0
CLAIM_DECISION_DAYS = 14
MAX_TEXT = 20000
MAX_ATTACHMENT = 10 * 1024 * 1024
STATUSES = (
    "DISPUTE_CLOSED",
    "DISPUTE_ONGOING",
    "DISPUTE_UNRESOLVED",
    "CLAIM_SUBMITTED",
    "CLAIM_ACCEPTED",
    "CLAIM_REJECTED",
)
MESSAGE_TYPES = (
    "REGULAR",
    "END_REQUEST",
    "RETURN_REQUIRED_SELLER_LABEL",
    "RETURN_REQUIRED_CUSTOM",
    "RETURN_NOT_REQUIRED",
)
RETURN_TYPES = {
    "RETURN_REQUIRED_SELLER_LABEL": True,
    "RETURN_REQUIRED_CUSTOM": True,
    "RETURN_NOT_REQUIRED": False,
}
CLAIM_DECISIONS = (
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
ATTACHMENT_TYPES = (
    "image/png",
    "image/gif",
    "image/bmp",
    "image/tiff",
    "image/jpeg",
    "application/pdf",
)
# (subject, opening message) for disputes
DISPUTE_TOPICS = (
    (
        "Nie otrzymałem przedmiotu",
        "Dzień dobry, minął tydzień od zapłaty, a paczka nadal do mnie nie dotarła.",
    ),
    (
        "Przedmiot jest uszkodzony",
        "Paczka przyszła zgnieciona, a produkt ma pęknięcie na obudowie. Co teraz?",
    ),
    (
        "Przedmiot niezgodny z opisem",
        "Otrzymałem inny model niż na zdjęciach w ofercie. Proszę o wyjaśnienie.",
    ),
    ("Brak faktury", "Zaznaczyłem, że chcę fakturę, ale jej nie dostałem."),
    ("Niekompletna przesyłka", "W paczce brakuje ładowarki, która była w opisie zestawu."),
)
# (reason, expectation, opening message) for claims
CLAIM_TOPICS = (
    (
        "DEFECT_FOUND_DURING_USE",
        "REPAIR",
        "Po dwóch tygodniach używania urządzenie przestało się włączać.",
    ),
    (
        "PRODUCT_DAMAGED_PARCEL_INTACT",
        "EXCHANGE",
        "Karton był cały, ale produkt w środku jest porysowany.",
    ),
    ("NOT_AS_DESCRIBED", "REFUND", "Rozmiar nie zgadza się z tabelą w ofercie, chcę zwrot."),
    (
        "MISSING_PRODUCT_ELEMENT",
        "PARTIAL_REFUND",
        "Brakuje jednego elementu zestawu, proszę o częściowy zwrot.",
    ),
)
SELLER_REPLIES = (
    "Dzień dobry, przepraszamy za kłopot. Sprawdzamy status przesyłki u przewoźnika.",
    "Prosimy o przesłanie zdjęć uszkodzenia, wtedy od razu wyślemy nowy egzemplarz.",
    "Dziękujemy za zgłoszenie. Wysłaliśmy brakujący element, numer przesyłki w wiadomości.",
)
BUYER_FOLLOW_UPS = (
    "Dziękuję za szybką odpowiedź, czekam na informację.",
    "Zdjęcia wysłałem w załączniku wiadomości na Allegro.",
    "Paczka dotarła, wszystko w porządku. Dziękuję!",
)


# -- domain ------------------------------------------------------------------------------------
def new_id(rng: random.Random | None) -> str:
    if rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def chat_active(status: str) -> bool:
    return status != "DISPUTE_CLOSED"


def build_issue(
    state: State,
    *,
    seller_id: str,
    order: dict[str, Any],
    type_: str,
    opened: float,
    rng: random.Random,
    text: str | None = None,
    topic: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new issue about ``order`` and its opening buyer message (not stored)."""
    if type_ not in ("DISPUTE", "CLAIM"):
        raise ApiError(400, "VALIDATION_ERROR", "type must be DISPUTE or CLAIM")
    buyer = order["buyer"]
    item = order["lineItems"][0]
    opened_iso = iso(opened)
    issue_id = new_id(rng)
    message = {
        "id": new_id(rng),
        "text": "",
        "attachments": [],
        "author": {"login": buyer["login"], "role": "BUYER"},
        "createdAt": opened_iso,
    }
    doc: dict[str, Any] = {
        "id": issue_id,
        "type": type_,
        "referenceNumber": None,
        "decisionDueDate": None,
        "openedDate": opened_iso,
        "subject": None,
        "buyer": {"id": buyer["id"], "login": buyer["login"]},
        "checkoutForm": {"id": order["id"], "createdAt": item["boughtAt"]},
        "currentState": {
            "status": "DISPUTE_ONGOING",
            "statusDueDate": None,
            "returnRequired": None,
            "chatActive": True,
        },
        "chat": {
            "lastMessage": {"status": "NEW", "createdAt": opened_iso},
            "messagesCount": 1,
            "initialMessage": message,
        },
        "expectations": [],
        "description": None,
        "offer": {"id": item["offer"]["id"], "quantity": item["quantity"]},
        "product": None,
        "reason": None,
        "attachments": [],
    }
    if type_ == "DISPUTE":
        subject, opening = DISPUTE_TOPICS[
            topic if topic is not None else rng.randrange(len(DISPUTE_TOPICS))
        ]
        doc["subject"] = subject
        message["text"] = text or opening
    else:
        reason, expectation, opening = CLAIM_TOPICS[
            topic if topic is not None else rng.randrange(len(CLAIM_TOPICS))
        ]
        due = iso(opened + CLAIM_DECISION_DAYS * DAY)
        count = int(
            state.store.scalar(
                "SELECT COUNT(*) FROM documents WHERE kind = ? AND seller_id = ? AND k3 = 'CLAIM'",
                (KIND, seller_id),
            )
            or 0
        )
        doc["referenceNumber"] = f"{count + 1}/{opened_iso[:4]}"
        doc["decisionDueDate"] = due
        doc["currentState"].update(status="CLAIM_SUBMITTED", statusDueDate=due)
        refund = None
        if expectation in ("REFUND", "PARTIAL_REFUND"):
            price = item["price"]
            amount = float(price["amount"]) * (0.3 if expectation == "PARTIAL_REFUND" else 1)
            refund = {"amount": f"{amount:.2f}", "currency": price["currency"]}
        doc["expectations"] = [{"name": expectation, "refund": refund}]
        doc["right"] = "COMPLAINT" if rng.random() < 0.7 else "WARRANTY"
        message["text"] = text or opening
        doc["reason"] = {"type": reason, "description": message["text"]}
        product_id = state.store.scalar(
            "SELECT product_id FROM offers WHERE id = ? AND seller_id = ?",
            (int(item["offer"]["id"]), seller_id),
        )
        if product_id:
            doc["product"] = {"id": str(product_id)}
    return doc, message


def save_issue(state: State, *, seller_id: str, doc: dict[str, Any]) -> None:
    state.store.doc_put(
        kind=KIND,
        id_=doc["id"],
        seller_id=seller_id,
        doc=doc,
        sort_key=doc["openedDate"],
        k1=doc["currentState"]["status"],
        k2=doc["checkoutForm"]["id"],
        k3=doc["type"],
    )


def store_message(
    state: State, *, seller_id: str, issue_id: str, seq: int, message: dict[str, Any]
) -> None:
    state.store.doc_put(
        kind=MESSAGE_KIND,
        id_=message["id"],
        seller_id=seller_id,
        doc=message,
        sort_key=f"{message['createdAt']}#{seq:06d}",
        k1=issue_id,
    )


def open_issue(
    state: State,
    *,
    seller_id: str,
    order: dict[str, Any],
    type_: str,
    opened: float,
    rng: random.Random,
    text: str | None = None,
) -> dict[str, Any]:
    doc, message = build_issue(
        state,
        seller_id=seller_id,
        order=order,
        type_=type_,
        opened=opened,
        rng=rng,
        text=text,
    )
    with state.store.tx():
        save_issue(state, seller_id=seller_id, doc=doc)
        store_message(state, seller_id=seller_id, issue_id=doc["id"], seq=0, message=message)
    return doc


def add_message(
    state: State,
    *,
    seller_id: str,
    doc: dict[str, Any],
    role: str,
    text: str,
    login: str | None,
    attachments: list[dict[str, Any]] | None = None,
    at: float | None = None,
) -> dict[str, Any]:
    """Append a chat message and update the issue's chat summary."""
    created = iso(state.clock.now() if at is None else at)
    message: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "text": text,
        "attachments": attachments or [],
        "author": {"role": role},
        "createdAt": created,
    }
    if login and role in ("BUYER", "SELLER"):
        message["author"]["login"] = login
    chat = doc["chat"]
    seq = int(chat["messagesCount"])
    chat["messagesCount"] = seq + 1
    seller_wrote = role == "SELLER" or bool(doc.get("_sellerReplied"))
    if role == "SELLER":
        doc["_sellerReplied"] = True
        status = "SELLER_REPLIED"
    elif role == "BUYER":
        status = "BUYER_REPLIED" if seller_wrote else "NEW"
    else:
        status = "ALLEGRO_ADVISOR_REPLIED"
    chat["lastMessage"] = {"status": status, "createdAt": created}
    with state.store.tx():
        store_message(state, seller_id=seller_id, issue_id=doc["id"], seq=seq, message=message)
        save_issue(state, seller_id=seller_id, doc=doc)
    return message


def public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def load_issue(state: State, *, issue_id: str, seller_id: str | None = None) -> dict[str, Any]:
    return doc_or_404(
        state, kind=KIND, id_=issue_id, seller_id=seller_id, what="Issue", path="issueId"
    )


def seller_of_issue(state: State, issue_id: str) -> str:
    return seller_of_doc(state, kind=KIND, id_=issue_id, what="Issue")


def set_status(state: State, *, issue_id: str, status: str) -> dict[str, Any]:
    """Allegro's side moves an issue (buyer closes, escalates or reopens a dispute)."""
    if status not in STATUSES:
        raise ApiError(400, "VALIDATION_ERROR", f"Unknown status {status}")
    seller_id = seller_of_issue(state, issue_id)
    doc = load_issue(state, issue_id=issue_id, seller_id=seller_id)
    if status.split("_")[0] != doc["type"]:
        raise ApiError(400, "VALIDATION_ERROR", f"{status} does not apply to a {doc['type']}")
    state_ = doc["currentState"]
    if status == "DISPUTE_ONGOING" and state_["status"] == "DISPUTE_CLOSED":
        doc["openedDate"] = state.clock.iso()
    state_["status"] = status
    state_["chatActive"] = chat_active(status)
    if status in ("CLAIM_ACCEPTED", "CLAIM_REJECTED"):
        state_["statusDueDate"] = None
    save_issue(state, seller_id=seller_id, doc=doc)
    return public(doc)


def attachment_url(ctx_base: str, attachment_id: str) -> str:
    return f"{ctx_base.rstrip('/')}/sale/issues/attachments/{attachment_id}"


# -- Allegro routes ----------------------------------------------------------------------------
@table.route("GET", "/sale/issues", scope="disputes", media="beta")
async def list_issues(ctx: Ctx) -> Response:
    limit = int_param(ctx, "limit", default=10, minimum=1, maximum=100)
    offset = int_param(ctx, "offset", default=0, minimum=0, maximum=None)
    where: list[str] = []
    params: list[Any] = []
    form_id = ctx.query("checkoutForm.id")
    if form_id is not None:
        if not is_uuid(form_id):
            raise unprocessable("checkoutForm.id must be a UUID", path="checkoutForm.id")
        where.append("k2 = ?")
        params.append(form_id)
    statuses = ctx.query_list("status")
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise unprocessable(f"Unknown status {unknown[0]}", path="status")
    if statuses:
        where.append(f"k1 IN ({', '.join('?' * len(statuses))})")
        params.extend(statuses)
    page, _ = ctx.store.doc_list(
        kind=KIND,
        seller_id=ctx.seller_id,
        where=" AND ".join(where),
        params=params,
        limit=limit,
        offset=offset,
    )
    return ctx.json({"issues": [public(d) for d in page]})


@table.route("GET", "/sale/issues/{issueId}", scope="disputes", media="beta")
async def get_issue(ctx: Ctx) -> Response:
    doc = load_issue(ctx.state, issue_id=ctx.path_param("issueId"), seller_id=ctx.seller_id)
    return ctx.json(public(doc))


@table.route("GET", "/sale/issues/{issueId}/chat", scope="disputes", media="beta")
async def issue_chat(ctx: Ctx) -> Response:
    """Messages newest first."""
    issue_id = ctx.path_param("issueId")
    load_issue(ctx.state, issue_id=issue_id, seller_id=ctx.seller_id)
    limit = int_param(ctx, "limit", default=10, minimum=1, maximum=100)
    offset = int_param(ctx, "offset", default=0, minimum=0, maximum=None)
    page, _ = ctx.store.doc_list(
        kind=MESSAGE_KIND,
        seller_id=ctx.seller_id,
        where="k1 = ?",
        params=[issue_id],
        limit=limit,
        offset=offset,
    )
    return ctx.json({"chat": page})


def message_attachments(ctx: Ctx, body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("attachments")
    if raw is None:
        return []
    if not isinstance(raw, list) or any(
        not isinstance(a, dict) or not isinstance(a.get("id"), str) for a in raw
    ):
        raise unprocessable("attachments must be a list of {id}", path="attachments")
    found = []
    for item in raw:
        att = ctx.store.doc_get(kind=ATTACHMENT_KIND, id_=item["id"], seller_id=ctx.seller_id)
        if att is None or not att.get("uploaded"):
            raise unprocessable(
                f"Attachment {item['id']} was not declared and uploaded", path="attachments.id"
            )
        found.append(
            {
                "fileName": att["fileName"],
                "url": attachment_url(str(ctx.request.base_url), item["id"]),
            }
        )
    return found


@table.route("POST", "/sale/issues/{issueId}/message", scope="disputes", media="beta")
async def post_message(ctx: Ctx) -> Response:
    doc = load_issue(ctx.state, issue_id=ctx.path_param("issueId"), seller_id=ctx.seller_id)
    body = await ctx.body_object()
    type_ = body.get("type")
    if type_ not in MESSAGE_TYPES:
        raise unprocessable(f"type must be one of {', '.join(MESSAGE_TYPES)}", path="type")
    if type_ == "END_REQUEST" and doc["type"] != "DISPUTE":
        raise unprocessable("END_REQUEST is allowed only in disputes", path="type")
    if type_ in RETURN_TYPES and doc["type"] != "CLAIM":
        raise unprocessable(f"{type_} is allowed only in claims", path="type")
    text = body.get("text", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise unprocessable("text must be a string", path="text")
    if len(text) > MAX_TEXT:
        raise unprocessable(f"text may have at most {MAX_TEXT} characters", path="text")
    attachments = message_attachments(ctx, body)
    if not text.strip() and not attachments:
        raise unprocessable("A message needs text, attachments or both", path="text")
    if not doc["currentState"]["chatActive"]:
        raise ApiError(
            409,
            "CHAT_INACTIVE",
            f"Issue {doc['id']} is {doc['currentState']['status']}: new messages are not allowed",
        )
    if type_ in RETURN_TYPES:
        doc["currentState"]["returnRequired"] = RETURN_TYPES[type_]
    login = ctx.store.scalar("SELECT login FROM sellers WHERE id = ?", (ctx.seller_id,))
    message = add_message(
        ctx.state,
        seller_id=ctx.seller_id,
        doc=doc,
        role="SELLER",
        text=text,
        login=str(login),
        attachments=attachments,
    )
    return ctx.json(message, status=201)


@table.route("POST", "/sale/issues/{issueId}/status", scope="disputes", media="beta")
async def change_claim_status(ctx: Ctx) -> Response:
    doc = load_issue(ctx.state, issue_id=ctx.path_param("issueId"), seller_id=ctx.seller_id)
    body = await ctx.body_object()
    decision = body.get("status")
    if decision not in CLAIM_DECISIONS:
        raise bad_request(f"status must be one of {', '.join(CLAIM_DECISIONS)}", path="status")
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        raise bad_request("message is required", path="message")
    if len(message) > MAX_TEXT:
        raise bad_request(f"message may have at most {MAX_TEXT} characters", path="message")
    if doc["type"] != "CLAIM":
        raise bad_request("Only a claim's status can be changed", path="issueId")
    if doc["currentState"]["status"] != "CLAIM_SUBMITTED":
        raise bad_request(
            f"The claim is already {doc['currentState']['status']}", code="CLAIM_ALREADY_DECIDED"
        )
    refund = body.get("partialRefund")
    if decision == "ACCEPTED_PARTIAL_REFUND" and (
        not isinstance(refund, dict)
        or not isinstance(refund.get("amount"), str)
        or not isinstance(refund.get("currency"), str)
    ):
        raise bad_request("partialRefund {amount, currency} is required", path="partialRefund")
    accepted = decision.startswith("ACCEPTED")
    state_ = doc["currentState"]
    state_["status"] = "CLAIM_ACCEPTED" if accepted else "CLAIM_REJECTED"
    state_["statusDueDate"] = None
    state_["chatActive"] = chat_active(state_["status"])
    doc["_decision"] = {"status": decision, "partialRefund": refund}
    login = ctx.store.scalar("SELECT login FROM sellers WHERE id = ?", (ctx.seller_id,))
    add_message(
        ctx.state,
        seller_id=ctx.seller_id,
        doc=doc,
        role="SELLER",
        text=message,
        login=str(login),
    )
    return ctx.empty(200)


@table.route("POST", "/sale/issues/attachments", scope="disputes", media="beta")
async def declare_attachment(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    name = body.get("fileName")
    if not isinstance(name, str) or not name.strip():
        raise unprocessable("fileName is required", path="fileName")
    if len(name) > 255:
        raise unprocessable("fileName may have at most 255 characters", path="fileName")
    size = body.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise unprocessable("size must be a positive integer", path="size")
    if size > MAX_ATTACHMENT:
        raise unprocessable(f"size may be at most {MAX_ATTACHMENT} bytes", path="size")
    attachment_id = str(uuid.uuid4())
    ctx.store.doc_put(
        kind=ATTACHMENT_KIND,
        id_=attachment_id,
        seller_id=ctx.seller_id,
        doc={"id": attachment_id, "fileName": name, "size": size, "uploaded": False},
        sort_key=ctx.state.clock.iso(),
        k1="declared",
    )
    location = attachment_url(str(ctx.request.base_url), attachment_id)
    return ctx.json({"id": attachment_id}, status=201, headers={"Location": location})


@table.route(
    "PUT",
    "/sale/issues/attachments/{attachmentId}",
    scope="disputes",
    media="beta",
    body_media=ATTACHMENT_TYPES,
)
async def upload_attachment(ctx: Ctx) -> Response:
    attachment_id = ctx.path_param("attachmentId")
    att = ctx.store.doc_get(kind=ATTACHMENT_KIND, id_=attachment_id, seller_id=ctx.seller_id)
    if att is None:
        raise ApiError(404, "NOT_FOUND", f"Attachment {attachment_id} not declared")
    data = await ctx.request.body()
    if not data:
        raise unprocessable("The file is empty")
    if len(data) > att["size"]:
        raise ApiError(
            413,
            "FILE_TOO_BIG",
            f"The file has {len(data)} bytes, {att['size']} were declared",
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
    "/sale/issues/attachments/{attachmentId}",
    scope="disputes",
    media="octet",
    accept=("*/*", "octet", *ATTACHMENT_TYPES),
    error_media="v1",
)
async def download_attachment(ctx: Ctx) -> Response:
    attachment_id = ctx.path_param("attachmentId")
    att = ctx.store.doc_get(kind=ATTACHMENT_KIND, id_=attachment_id, seller_id=ctx.seller_id)
    if att is None or not att.get("uploaded"):
        raise ApiError(404, "NOT_FOUND", f"Attachment {attachment_id} not found")
    return raw_response(base64.b64decode(att["data"]), media=att["contentType"])


# -- control plane -----------------------------------------------------------------------------
def pick_order(state: State, *, seller_id: str, order_id: str | None) -> dict[str, Any]:
    if order_id:
        order = load_order(state.store, seller_id=seller_id, order_id=order_id)
        if order is None:
            raise ApiError(404, "NOT_FOUND", f"Checkout form {order_id} not found")
        return order
    row = state.store.one(
        "SELECT id FROM orders WHERE seller_id = ? AND status = 'READY_FOR_PROCESSING' "
        "AND merged_into IS NULL ORDER BY bought_at DESC LIMIT 1",
        (seller_id,),
    )
    if row is None:
        raise ApiError(422, "NO_ORDERS", "The seller has no paid order")
    order = load_order(state.store, seller_id=seller_id, order_id=str(row[0]))
    assert order is not None
    return order


@endpoint
async def control_new_issue(request: Request) -> Any:
    """``{"orderId"?, "type": "DISPUTE"|"CLAIM", "text"?}``: the buyer opens an issue."""
    state = sim(request)
    body = await body_of(request)
    seller_id = request.path_params["seller_id"]
    if state.store.scalar("SELECT 1 FROM sellers WHERE id = ?", (seller_id,)) is None:
        raise ApiError(404, "NOT_FOUND", f"Seller {seller_id} not found")
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        raise ApiError(400, "VALIDATION_ERROR", "text must be a string")
    order = pick_order(state, seller_id=seller_id, order_id=body.get("orderId"))
    doc = open_issue(
        state,
        seller_id=seller_id,
        order=order,
        type_=str(body.get("type", "DISPUTE")),
        opened=state.clock.now(),
        rng=random.Random(),
        text=text.strip() or None if text else None,
    )
    return public(doc)


@endpoint
async def control_buyer_message(request: Request) -> Any:
    """``{"text", "role"?: "BUYER"|"ADMIN"}``: the buyer (or an Allegro advisor) writes."""
    state = sim(request)
    body = await body_of(request)
    issue_id = request.path_params["issue_id"]
    seller_id = seller_of_issue(state, issue_id)
    doc = load_issue(state, issue_id=issue_id, seller_id=seller_id)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "VALIDATION_ERROR", "text is required")
    role = body.get("role", "BUYER")
    if role not in ("BUYER", "ADMIN"):
        raise ApiError(400, "VALIDATION_ERROR", "role must be BUYER or ADMIN")
    if not doc["currentState"]["chatActive"]:
        raise ApiError(409, "CHAT_INACTIVE", "The issue is closed")
    return add_message(
        state,
        seller_id=seller_id,
        doc=doc,
        role=role,
        text=text,
        login=doc["buyer"]["login"],
    )


@endpoint
async def control_issue_status(request: Request) -> Any:
    """``{"status"}``: close, escalate (``DISPUTE_UNRESOLVED``) or reopen an issue."""
    body = await body_of(request)
    return set_status(sim(request), issue_id=request.path_params["issue_id"], status=body["status"])


control_routes = [
    Route("/__sandbox__/sellers/{seller_id}/issues", control_new_issue, methods=["POST"]),
    Route("/__sandbox__/issues/{issue_id}/messages", control_buyer_message, methods=["POST"]),
    Route("/__sandbox__/issues/{issue_id}/status", control_issue_status, methods=["POST"]),
]
