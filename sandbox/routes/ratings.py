"""Sales ratings: ``/sale/user-ratings`` (list, get, answer, removal request) and the summary.

Ratings live in the generic ``documents`` table (kind ``rating``; ``sort_key`` =
``lastChangedAt``, ``k1`` = ``"true"``/``"false"`` for the ``recommended`` filter,
``k2`` = order id, ``k3`` = buyer id).
A rating the buyer deletes moves to kind ``rating_removed`` so the summary can count it.
Buyers' actions (new rating, edit, deletion) come through the control plane.
"""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.documents import doc_or_404, seller_of_doc
from sandbox.http import (
    BETA,
    ApiError,
    Ctx,
    RouteTable,
    bad_request,
    int_param,
    json_bytes,
    raw_response,
    unprocessable,
)
from sandbox.orders import load_order
from sandbox.routes.control import body_of, endpoint, sim
from sandbox.state import State, iso

table = RouteTable()

KIND = "rating"
REMOVED_KIND = "rating_removed"
DAY = 86400.0
REMOVAL_WINDOW = 14 * DAY
MAX_MESSAGE = 500
RATE_KEYS = ("description", "service", "deliveryCost", "delivery")

POSITIVE_COMMENTS = (
    "Wszystko w porządku, polecam sprzedawcę!",
    "Szybka wysyłka, towar zgodny z opisem.",
    "Bardzo dobry kontakt, paczka dotarła następnego dnia.",
    "Produkt super, dobrze zapakowany. Dziękuję!",
    "Transakcja bez zarzutu, na pewno jeszcze tu kupię.",
    "Ekspresowa realizacja zamówienia, polecam.",
    "Towar zgodny z opisem, cena bardzo dobra.",
    "Sprzedawca godny zaufania, wszystko zgodnie z umową.",
    "Paczka w paczkomacie po 24h, super!",
    "Jestem zadowolona z zakupu, produkt działa bez problemu.",
)
NEGATIVE_COMMENTS = (
    "Paczka szła ponad tydzień, brak kontaktu ze sprzedawcą.",
    "Produkt niezgodny z opisem, inny kolor niż na zdjęciu.",
    "Towar przyszedł uszkodzony, opakowanie zgniecione.",
    "Nie polecam, sprzedawca nie odpowiada na wiadomości.",
    "Brakowało jednego elementu zestawu.",
    "Wysyłka opóźniona o kilka dni bez informacji.",
)
ANSWERS_POSITIVE = (
    "Dziękujemy za zakup i miłe słowa! Zapraszamy ponownie.",
    "Bardzo dziękujemy, cieszymy się, że produkt się podoba.",
    "Dziękujemy za ocenę i pozdrawiamy!",
)
ANSWERS_NEGATIVE = (
    "Przepraszamy za kłopot. Prosimy o kontakt, wymienimy towar od ręki.",
    "Przykro nam. Paczka utknęła u przewoźnika, zgłosiliśmy reklamację.",
    "Skontaktowaliśmy się z Panem/Panią w wiadomości, czekamy na odpowiedź.",
)
REMOVAL_REASONS = (
    "Proszę o usunięcie oceny zgodnie z ustaleniami telefonicznymi.",
    "Problem został rozwiązany, towar wymieniony. Proszę o zmianę oceny.",
)


# -- domain ------------------------------------------------------------------------------------
def rating_id(rng: random.Random) -> str:
    """Allegro's rating ids are 24 hexadecimal characters."""
    return f"{rng.getrandbits(96):024x}"


def snapshot(order_id: str, offer_id: str, bought_at: str) -> str:
    digest = hashlib.sha256(f"{order_id}:{offer_id}".encode()).hexdigest()
    return base64.b64encode(f"{bought_at};buyer;{digest}".encode()).decode()


def build_rating(
    *,
    order: dict[str, Any],
    rng: random.Random,
    created: float,
    recommended: bool | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    """A new rating of ``order`` by its buyer (answer and removal request not set)."""
    if recommended is None:
        recommended = rng.random() < 0.9
    if comment is None:
        pool = POSITIVE_COMMENTS if recommended else NEGATIVE_COMMENTS
        comment = rng.choice(pool) if rng.random() < 0.85 else ""
    high = (4, 5, 5, 5) if recommended else (1, 2, 3)
    created_iso = iso(created)
    doc: dict[str, Any] = {
        "id": rating_id(rng),
        "buyer": {"id": order["buyer"]["id"], "login": order["buyer"]["login"]},
        "recommended": recommended,
        "createdAt": created_iso,
        "lastChangedAt": created_iso,
        "rates": {
            "description": rng.choice(high),
            "service": rng.choice(high),
            "deliveryCost": rng.choice(high),
        },
        "order": {
            "id": order["id"],
            "offers": [
                {
                    "id": li["offer"]["id"],
                    "title": li["offer"]["name"],
                    "snapshot": snapshot(order["id"], li["offer"]["id"], li["boughtAt"]),
                }
                for li in order["lineItems"]
            ],
        },
        "removal": {"possibleTo": iso(created + REMOVAL_WINDOW)},
        "excludedFromAverageRates": False,
    }
    if comment:
        doc["comment"] = comment
    return doc


def save_rating(state: State, *, seller_id: str, doc: dict[str, Any]) -> None:
    state.store.doc_put(
        kind=KIND,
        id_=doc["id"],
        seller_id=seller_id,
        doc=doc,
        sort_key=doc["lastChangedAt"],
        k1="true" if doc["recommended"] else "false",
        k2=doc["order"]["id"],
        k3=doc["buyer"]["id"],
    )


def load_rating(state: State, *, rating_id_: str, seller_id: str | None = None) -> dict[str, Any]:
    return doc_or_404(
        state, kind=KIND, id_=rating_id_, seller_id=seller_id, what="Rating", path="ratingId"
    )


def seller_of_rating(state: State, rating_id_: str) -> str:
    return seller_of_doc(state, kind=KIND, id_=rating_id_, what="Rating")


def random_rateable_order(state: State, *, seller_id: str) -> dict[str, Any]:
    """A paid order of the seller that has no rating yet (newest first)."""
    row = state.store.one(
        "SELECT doc FROM orders o WHERE seller_id = ? AND status = 'READY_FOR_PROCESSING' "
        "AND merged_into IS NULL AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.kind = ? "
        "AND d.seller_id = o.seller_id AND d.k2 = o.id) ORDER BY bought_at DESC LIMIT 1",
        (seller_id, KIND),
    )
    if row is None:
        raise ApiError(422, "NO_ORDERS", "The seller has no paid order without a rating")
    order: dict[str, Any] = orjson.loads(row[0])
    return order


def create_rating(
    state: State,
    *,
    seller_id: str,
    order_id: str | None = None,
    recommended: bool | None = None,
    comment: str | None = None,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """A buyer rates an order (control plane / market)."""
    if order_id:
        order = load_order(state.store, seller_id=seller_id, order_id=order_id)
        if order is None:
            raise ApiError(404, "NOT_FOUND", f"Checkout form {order_id} not found")
        if state.store.scalar(
            "SELECT 1 FROM documents WHERE kind = ? AND seller_id = ? AND k2 = ?",
            (KIND, seller_id, order_id),
        ):
            raise ApiError(409, "ALREADY_RATED", f"Checkout form {order_id} is already rated")
    else:
        order = random_rateable_order(state, seller_id=seller_id)
    doc = build_rating(
        order=order,
        rng=rng or random.Random(),
        created=state.clock.now(),
        recommended=recommended,
        comment=comment,
    )
    save_rating(state, seller_id=seller_id, doc=doc)
    return doc


def edit_rating(
    state: State,
    *,
    rating_id_: str,
    recommended: bool | None = None,
    comment: str | None = None,
    rates: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The buyer edits the rating: ``editedAt`` and ``lastChangedAt`` move to now."""
    seller_id = seller_of_rating(state, rating_id_)
    doc = load_rating(state, rating_id_=rating_id_, seller_id=seller_id)
    if recommended is not None:
        doc["recommended"] = bool(recommended)
    if comment is not None:
        if comment:
            doc["comment"] = comment
        else:
            doc.pop("comment", None)
    if rates:
        if not isinstance(rates, dict):
            raise ApiError(400, "VALIDATION_ERROR", "rates must be an object")
        bad = [k for k, v in rates.items() if v not in (1, 2, 3, 4, 5) or k not in RATE_KEYS]
        if bad:
            raise ApiError(400, "VALIDATION_ERROR", f"Rate {bad[0]} must be 1..5")
        doc["rates"] = {**doc.get("rates", {}), **rates}
    now = state.clock.iso()
    doc["editedAt"] = now
    doc["lastChangedAt"] = now
    save_rating(state, seller_id=seller_id, doc=doc)
    return doc


def delete_rating(state: State, *, rating_id_: str, by: str = "BUYER") -> dict[str, Any]:
    """The buyer (or an admin) removes the rating: it disappears from the seller's list."""
    if by not in ("BUYER", "ADMIN", "BUYER_COMPENSATION"):
        raise ApiError(400, "VALIDATION_ERROR", "by must be BUYER, ADMIN or BUYER_COMPENSATION")
    seller_id = seller_of_rating(state, rating_id_)
    doc = load_rating(state, rating_id_=rating_id_, seller_id=seller_id)
    with state.store.tx():
        state.store.doc_delete(kind=KIND, id_=rating_id_)
        state.store.doc_put(
            kind=REMOVED_KIND,
            id_=rating_id_,
            seller_id=seller_id,
            doc=doc,
            sort_key=state.clock.iso(),
            k1=by,
        )
    return {"removed": rating_id_, "by": by}


def parse_time(value: str, *, path: str) -> str:
    """An ISO 8601 timestamp from a query, normalized to our stored format (UTC, ms, ``Z``)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise unprocessable(f"{path} must be an ISO 8601 date-time", path=path) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return iso(parsed.timestamp())


def message_of(body: dict[str, Any], *, path: str) -> str:
    """A required, non-blank message of at most 500 characters (400 otherwise, as declared)."""
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        raise bad_request("message must not be empty", path=path)
    if len(message) > MAX_MESSAGE:
        raise bad_request(
            f"message may have at most {MAX_MESSAGE} characters (got {len(message)})",
            path=path,
            code="MESSAGE_TOO_LONG",
        )
    return message


def summary(state: State, *, seller_id: str) -> dict[str, Any]:
    store = state.store
    counts = {
        row[0]: (int(row[1]), int(row[2]))
        for row in store.all(
            "SELECT k1, COUNT(*), COUNT(DISTINCT k3) FROM documents "
            "WHERE kind = ? AND seller_id = ? GROUP BY k1",
            (KIND, seller_id),
        )
    }
    rec_total, rec_unique = counts.get("true", (0, 0))
    not_total, not_unique = counts.get("false", (0, 0))
    excluded = int(
        store.scalar(
            "SELECT COUNT(*) FROM documents WHERE kind = ? AND seller_id = ? "
            "AND instr(CAST(doc AS TEXT), '\"excludedFromAverageRates\":true') > 0",
            (KIND, seller_id),
        )
        or 0
    )
    removed = dict(
        store.all(
            "SELECT k1, COUNT(*) FROM documents WHERE kind = ? AND seller_id = ? GROUP BY k1",
            (REMOVED_KIND, seller_id),
        )
    )
    unique = rec_unique + not_unique
    percentage = 100.0 * rec_unique / unique if unique else 100.0
    return {
        "recommended": {"unique": rec_unique, "total": rec_total},
        "notRecommended": {"unique": not_unique, "total": not_total},
        "recommendedPercentage": f"{percentage:.1f}",
        "statistics": {
            "received": {"total": rec_total + not_total},
            "excluded": {"total": excluded},
            "removed": {
                "total": sum(int(v) for v in removed.values()),
                "byAdmin": int(removed.get("ADMIN", 0)),
                "byBuyer": int(removed.get("BUYER", 0)),
                "byBuyerDueToCompensation": int(removed.get("BUYER_COMPENSATION", 0)),
            },
        },
        "user": {"createdAt": seller_since(seller_id)},
    }


def seller_since(seller_id: str) -> str:
    """A stable account creation date per seller."""
    n = int(hashlib.sha256(seller_id.encode()).hexdigest()[:6], 16)
    return f"{2008 + n % 14}-{1 + n % 12:02d}-{1 + n % 28:02d}"


# -- the beta representation -------------------------------------------------------------------
JUSTIFICATIONS = {
    "description": "Przedmiot niezgodny z opisem",
    "service": "Słaby kontakt ze sprzedającym",
    "deliveryCost": "Zbyt wysoki koszt dostawy",
}


def wants_beta(ctx: Ctx) -> bool:
    """``GET /sale/user-ratings*`` serve v1 and, when asked for, the beta representation."""
    accept = ctx.request.headers.get("accept", "")
    return BETA in accept and "application/vnd.allegro.public.v1+json" not in accept


def beta_json(ctx: Ctx, body: Any) -> Response:
    return raw_response(json_bytes(body), media=BETA)


def beta_view(state: State, doc: dict[str, Any], *, seller_id: str) -> dict[str, Any]:
    """``UserRatingVBeta1``: texts carry their language, exclusion and justifications."""
    view = {
        k: doc[k]
        for k in ("id", "buyer", "recommended", "createdAt", "lastChangedAt", "order", "removal")
    }
    if "editedAt" in doc:
        view["editedAt"] = doc["editedAt"]
    if doc.get("comment"):
        view["comment"] = {"text": doc["comment"], "language": "pl-PL"}
    if doc.get("answer"):
        answer = doc["answer"]
        view["answer"] = {
            "createdAt": answer["createdAt"],
            "text": answer["message"],
            "language": "pl-PL",
        }
    if doc.get("excludedFromAverageRates"):
        view["exclusion"] = {"reason": doc.get("excludedFromAverageRatesReason", "")}
    low = [k for k, v in (doc.get("rates") or {}).items() if v <= 2 and k in JUSTIFICATIONS]
    view["justifications"] = [{"text": JUSTIFICATIONS[k], "visibleForBuyer": True} for k in low]
    first_negative = False
    if not doc["recommended"]:
        since = iso(
            datetime.fromisoformat(doc["createdAt"].replace("Z", "+00:00")).timestamp() - 30 * DAY
        )
        earlier = state.store.scalar(
            "SELECT COUNT(*) FROM documents WHERE kind = ? AND seller_id = ? AND k1 = 'false' "
            "AND json_extract(CAST(doc AS TEXT), '$.createdAt') >= ? "
            "AND json_extract(CAST(doc AS TEXT), '$.createdAt') < ?",
            (KIND, seller_id, since, doc["createdAt"]),
        )
        first_negative = not int(earlier or 0)
    view["firstNegativeReviewInLast30Days"] = first_negative
    return view


# -- Allegro routes ----------------------------------------------------------------------------
@table.route("GET", "/sale/user-ratings", scope="ratings", accept=("v1", "beta"))
async def list_ratings(ctx: Ctx) -> Response:
    limit = int_param(ctx, "limit", default=20, minimum=1, maximum=100)
    offset = int_param(ctx, "offset", default=0, minimum=0, maximum=20000)
    where: list[str] = []
    params: list[Any] = []
    recommended = ctx.query("recommended")
    if recommended is not None:
        if recommended not in ("true", "false"):
            raise unprocessable("recommended must be true or false", path="recommended")
        where.append("k1 = ?")
        params.append(recommended)
    for name, op in (("lastChangedAt.gte", ">="), ("lastChangedAt.lte", "<=")):
        value = ctx.query(name)
        if value is not None:
            where.append(f"sort_key {op} ?")
            params.append(parse_time(value, path=name))
    page, _ = ctx.store.doc_list(
        kind=KIND,
        seller_id=ctx.seller_id,
        where=" AND ".join(where),
        params=params,
        limit=limit,
        offset=offset,
    )
    if wants_beta(ctx):
        return beta_json(
            ctx, {"ratings": [beta_view(ctx.state, d, seller_id=ctx.seller_id) for d in page]}
        )
    return ctx.json({"ratings": page})


@table.route("GET", "/sale/user-ratings/{ratingId}", scope="ratings", accept=("v1", "beta"))
async def get_rating(ctx: Ctx) -> Response:
    doc = load_rating(ctx.state, rating_id_=ctx.path_param("ratingId"), seller_id=ctx.seller_id)
    if wants_beta(ctx):
        return beta_json(ctx, beta_view(ctx.state, doc, seller_id=ctx.seller_id))
    return ctx.json(doc)


@table.route("PUT", "/sale/user-ratings/{ratingId}/answer", scope="ratings")
async def answer_rating(ctx: Ctx) -> Response:
    doc = load_rating(ctx.state, rating_id_=ctx.path_param("ratingId"), seller_id=ctx.seller_id)
    body = await ctx.body_object()
    message = message_of(body, path="message")
    answer = {"createdAt": ctx.state.clock.iso(), "message": message}
    doc["answer"] = answer
    save_rating(ctx.state, seller_id=ctx.seller_id, doc=doc)
    return ctx.json(answer, status=201)


@table.route("PUT", "/sale/user-ratings/{ratingId}/removal", scope="ratings")
async def request_removal(ctx: Ctx) -> Response:
    doc = load_rating(ctx.state, rating_id_=ctx.path_param("ratingId"), seller_id=ctx.seller_id)
    body = await ctx.body_object()
    request = body.get("request")
    if not isinstance(request, dict):
        raise bad_request("request is required", path="request")
    message = message_of(request, path="request.message")
    removal = doc["removal"]
    now = ctx.state.clock.iso()
    if "request" in removal:
        raise bad_request(
            "A removal of this rating has already been requested",
            path="request",
            code="REMOVAL_ALREADY_REQUESTED",
        )
    if now > removal["possibleTo"]:
        raise bad_request(
            f"A removal could be requested until {removal['possibleTo']}",
            path="request",
            code="REMOVAL_PERIOD_EXPIRED",
        )
    removal["request"] = {"createdAt": now, "message": message, "source": "SELLER"}
    save_rating(ctx.state, seller_id=ctx.seller_id, doc=doc)
    return ctx.json(removal, status=201)


@table.route("GET", "/users/{userId}/ratings-summary", scope="profile:read")
async def ratings_summary(ctx: Ctx) -> Response:
    user_id = ctx.path_param("userId")
    if ctx.store.scalar("SELECT 1 FROM sellers WHERE id = ?", (user_id,)) is None:
        raise ApiError(404, "NOT_FOUND", f"User {user_id} not found or not a seller", path="userId")
    return ctx.json(summary(ctx.state, seller_id=user_id))


# -- control plane -----------------------------------------------------------------------------
def optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ApiError(400, "VALIDATION_ERROR", f"{key} must be a string")


def optional_bool(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ApiError(400, "VALIDATION_ERROR", f"{key} must be true or false")


@endpoint
async def control_new_rating(request: Request) -> Any:
    """``{"orderId"?, "recommended"?, "comment"?}``: the buyer of an order rates it."""
    body = await body_of(request)
    seller_id = request.path_params["seller_id"]
    if sim(request).store.scalar("SELECT 1 FROM sellers WHERE id = ?", (seller_id,)) is None:
        raise ApiError(404, "NOT_FOUND", f"Seller {seller_id} not found")
    return create_rating(
        sim(request),
        seller_id=seller_id,
        order_id=body.get("orderId"),
        recommended=optional_bool(body, "recommended"),
        comment=optional_text(body, "comment"),
    )


@endpoint
async def control_rating(request: Request) -> Any:
    """``PATCH`` edits (``recommended``, ``comment``, ``rates``); ``DELETE`` removes (``?by=``)."""
    state = sim(request)
    rating = request.path_params["rating_id"]
    if request.method == "DELETE":
        return delete_rating(state, rating_id_=rating, by=request.query_params.get("by", "BUYER"))
    body = await body_of(request)
    return edit_rating(
        state,
        rating_id_=rating,
        recommended=optional_bool(body, "recommended"),
        comment=optional_text(body, "comment"),
        rates=body.get("rates"),
    )


control_routes = [
    Route("/__sandbox__/sellers/{seller_id}/ratings", control_new_rating, methods=["POST"]),
    Route("/__sandbox__/ratings/{rating_id}", control_rating, methods=["PATCH", "DELETE"]),
]
