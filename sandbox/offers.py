"""Offers: storage columns, the listing shape, edits and the offer events they emit."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from sandbox.http import ApiError, is_uuid, unprocessable
from sandbox.state import State, iso
from sandbox.store import Store

EVENT_STATUSES = ("ACTIVE", "ACTIVATING")
OFFER_COLUMNS = (
    "id, seller_id, name, price, currency, status, marketplace, format, external_id, "
    "category_id, product_id, "
    "return_policy_id, shipping_rates_id, is_fulfillment, b2b_only, stock_available, stock_sold, "
    "created_seq, doc, listing"
)
INSERT_OFFER = f"INSERT OR REPLACE INTO offers ({OFFER_COLUMNS}) VALUES ({', '.join('?' * 20)})"  # noqa: S608
LISTING_KEYS = (
    "id",
    "name",
    "category",
    "sellingMode",
    "stock",
    "publication",
    "afterSalesServices",
    "external",
    "delivery",
    "b2b",
    "isFulfillment",
    "additionalMarketplaces",
)


# The currency each marketplace prices in (``GET /marketplaces``' ``currencies.base``).
MARKETPLACE_CURRENCIES = {
    "allegro-pl": "PLN",
    "allegro-cz": "CZK",
    "allegro-sk": "EUR",
    "allegro-hu": "HUF",
}


def marketplaces_of(doc: dict[str, Any]) -> list[str]:
    markets = doc.get("publication", {}).get("marketplaces", {})
    base = markets.get("base", {}).get("id", "allegro-pl")
    return [base, *(m["id"] for m in markets.get("additional", []))]


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def listing_of(doc: dict[str, Any], *, sold: int) -> dict[str, Any]:
    """``OfferListingDto`` derived from the stored ``SaleProductOfferResponseV1`` (no nulls)."""
    pub = doc["publication"]
    shipping = (doc.get("delivery") or {}).get("shippingRates")
    listing: dict[str, Any] = {
        "id": doc["id"],
        "name": doc["name"],
        "category": doc["category"],
        "primaryImage": {"url": doc["images"][0]} if doc.get("images") else None,
        "sellingMode": {
            "format": doc["sellingMode"]["format"],
            "price": doc["sellingMode"]["price"],
        },
        "saleInfo": {"biddersCount": 0},
        "stock": {"available": doc["stock"]["available"], "sold": sold},
        "stats": {"watchersCount": doc.get("_watchers", 0), "visitsCount": doc.get("_visits", 0)},
        "publication": drop_none(
            {
                "status": pub["status"],
                "startingAt": pub.get("startingAt"),
                "startedAt": pub.get("_startedAt"),
                "endingAt": pub.get("endingAt"),
                "endedAt": pub.get("_endedAt"),
                "marketplaces": {
                    "base": pub["marketplaces"]["base"],
                    "additional": pub["marketplaces"].get("additional", []),
                },
            }
        ),
        "afterSalesServices": doc.get("afterSalesServices"),
        "external": doc.get("external"),
        "delivery": {"shippingRates": shipping} if shipping else {},
        "b2b": doc.get("b2b") or {"buyableOnlyByBusiness": False},
        "isFulfillment": bool(doc.get("_isFulfillment", False)),
        "additionalMarketplaces": {
            market: {
                "sellingMode": {"price": value["sellingMode"]["price"]},
                "publication": {"state": "APPROVED", "refusalReasons": []},
            }
            for market, value in (doc.get("additionalMarketplaces") or {}).items()
            if value.get("sellingMode")
        },
    }
    return drop_none(listing)


def compact(value: Any) -> Any:
    """Drop ``None`` values and private (``_``) keys, recursively (absent beats null here)."""
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items() if v is not None and not k.startswith("_")}
    if isinstance(value, list):
        return [compact(v) for v in value]
    return value


def public_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """The ``SaleProductOfferResponseV1`` body: the stored doc without private keys and nulls."""
    result: dict[str, Any] = compact(doc)
    return result


def offer_row(
    doc: dict[str, Any], *, seller_id: str, created_seq: int, sold: int
) -> tuple[Any, ...]:
    price = doc["sellingMode"]["price"]
    after = doc.get("afterSalesServices") or {}
    product_set = doc.get("productSet") or []
    product_id = product_set[0]["product"]["id"] if product_set else None
    shipping = (doc.get("delivery") or {}).get("shippingRates") or {}
    return (
        int(doc["id"]),
        seller_id,
        doc["name"],
        float(price["amount"]),
        price["currency"],
        doc["publication"]["status"],
        "," + ",".join(marketplaces_of(doc)) + ",",
        doc["sellingMode"]["format"],
        (doc.get("external") or {}).get("id"),
        doc["category"]["id"],
        product_id,
        (after.get("returnPolicy") or {}).get("id"),
        shipping.get("id"),
        1 if doc.get("_isFulfillment") else 0,
        1 if (doc.get("b2b") or {}).get("buyableOnlyByBusiness") else 0,
        doc["stock"]["available"],
        sold,
        created_seq,
        orjson.dumps(doc),
        orjson.dumps(listing_of(doc, sold=sold)),
    )


@dataclass
class StoredOffer:
    doc: dict[str, Any]
    seller_id: str
    created_seq: int
    sold: int
    pending_operation: str | None


def load_offer(store: Store, *, seller_id: str, offer_id: str) -> StoredOffer | None:
    if not offer_id.isdigit():
        return None
    row = store.one(
        "SELECT doc, seller_id, created_seq, stock_sold, pending_operation FROM offers WHERE id "
        "= ? AND seller_id = ?",
        (int(offer_id), seller_id),
    )
    if row is None:
        return None
    return StoredOffer(
        doc=orjson.loads(row[0]),
        seller_id=row[1],
        created_seq=row[2],
        sold=row[3],
        pending_operation=row[4],
    )


def save_offer(store: Store, offer: StoredOffer) -> None:
    store.execute(
        INSERT_OFFER,
        offer_row(
            offer.doc, seller_id=offer.seller_id, created_seq=offer.created_seq, sold=offer.sold
        ),
    )
    if offer.pending_operation:
        store.execute(
            "UPDATE offers SET pending_operation = ? WHERE id = ?",
            (offer.pending_operation, int(offer.doc["id"])),
        )


def offer_event(
    state: State,
    *,
    seller_id: str,
    type_: str,
    doc: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> None:
    offer: dict[str, Any] = {"id": doc["id"], "external": doc.get("external") or {"id": ""}}
    if extra:
        offer.update(extra)
    now = state.clock.now()
    body = {"occurredAt": iso(now), "type": type_, "offer": offer}
    state.store.add_event(
        stream="offer",
        seller_id=seller_id,
        type_=type_,
        occurred_at=now,
        subject_id=doc["id"],
        doc=body,
    )


def parse_amount(value: Any, *, path: str) -> Decimal:
    if not isinstance(value, str | int | float):
        raise unprocessable("The amount must be a decimal string", path=path)
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise unprocessable(f"Invalid amount {value!r}", path=path) from exc
    if amount <= 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise unprocessable("The amount must be positive with at most 2 decimal places", path=path)
    return amount


def money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


@dataclass
class Change:
    """An edit to apply to an offer; ``None`` fields are left alone."""

    name: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    stock: int | None = None
    unit: str | None = None
    status: str | None = None
    external_id: str | None = None
    after_sales: dict[str, Any] | None = None
    replaced: dict[str, Any] = field(default_factory=dict)  # description, images, b2b
    handling_time: str | None = None
    ended_by: str = "USER"
    # additional marketplace id → new price amount (in that marketplace's currency)
    marketplace_prices: dict[str, Decimal] = field(default_factory=dict)


AFTER_SALES_KEYS = ("impliedWarranty", "returnPolicy", "warranty")
REPLACEABLE = {"description": dict, "images": list, "b2b": dict}


def after_sales_from(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise unprocessable("afterSalesServices must be an object", path="afterSalesServices")
    result: dict[str, Any] = {}
    for key, ref in value.items():
        if key not in AFTER_SALES_KEYS:
            raise unprocessable(
                f"Unknown after-sales service {key}", path=f"afterSalesServices.{key}"
            )
        if ref is None:
            continue
        if not isinstance(ref, dict) or not is_uuid(str(ref.get("id", ""))):
            raise unprocessable(f"{key}.id must be a UUID", path=f"afterSalesServices.{key}.id")
        result[key] = {"id": ref["id"]}
    return result


def marketplace_prices_from(value: Any, *, offer: dict[str, Any]) -> dict[str, Decimal]:
    """Validate ``additionalMarketplaces`` (``AdditionalMarketplacesRequest``): the price of each
    additional marketplace the offer is listed on, in that marketplace's currency."""
    if not isinstance(value, dict):
        raise unprocessable(
            "additionalMarketplaces must be an object", path="additionalMarketplaces"
        )
    markets = offer["publication"]["marketplaces"]
    base = markets["base"]["id"]
    listed = {m["id"] for m in markets.get("additional", [])}
    prices: dict[str, Decimal] = {}
    for market, entry in value.items():
        path = f"additionalMarketplaces.{market}"
        if market == base:
            raise unprocessable(
                f"{market} is the base marketplace of this offer: set its price in "
                "sellingMode.price",
                path=path,
            )
        if market not in MARKETPLACE_CURRENCIES:
            raise unprocessable(f"Unknown marketplace {market}", path=path)
        if market not in listed:
            raise unprocessable(f"The offer is not listed on {market}", path=path)
        if not isinstance(entry, dict):
            raise unprocessable(f"{path} must be an object", path=path)
        selling = entry.get("sellingMode")
        if selling is None:
            continue
        if not isinstance(selling, dict):
            raise unprocessable("sellingMode must be an object", path=f"{path}.sellingMode")
        if "price" not in selling:
            continue
        price = selling["price"]
        if not isinstance(price, dict):
            raise unprocessable("price must be an object", path=f"{path}.sellingMode.price")
        amount = parse_amount(price.get("amount"), path=f"{path}.sellingMode.price.amount")
        currency = MARKETPLACE_CURRENCIES[market]
        if price.get("currency") != currency:
            raise unprocessable(
                f"The currency must be {currency} on {market}",
                path=f"{path}.sellingMode.price.currency",
            )
        prices[market] = amount
    return prices


def change_from_patch(body: dict[str, Any], *, offer: dict[str, Any]) -> Change:
    """Validate the supported ``SaleProductOfferPatchRequestV1`` subset.

    Supported: name, sellingMode.price, additionalMarketplaces.*.sellingMode.price, stock,
    publication.status, external.id, afterSalesServices, description, images, b2b,
    delivery.handlingTime.
    """
    change = Change()
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not name.strip():
            raise unprocessable("The offer title must not be empty", path="name")
        if len(name) > 75:
            raise unprocessable("The offer title may have at most 75 characters", path="name")
        change.name = name
    selling = body.get("sellingMode")
    if isinstance(selling, dict) and "price" in selling:
        price = selling["price"]
        if not isinstance(price, dict):
            raise unprocessable("price must be an object", path="sellingMode.price")
        change.price = parse_amount(price.get("amount"), path="sellingMode.price.amount")
        currency = price.get("currency", offer["sellingMode"]["price"]["currency"])
        if currency != offer["sellingMode"]["price"]["currency"]:
            raise unprocessable(
                f"The currency must be {offer['sellingMode']['price']['currency']} on the base "
                "marketplace",
                path="sellingMode.price.currency",
            )
        change.currency = currency
    if "additionalMarketplaces" in body:
        change.marketplace_prices = marketplace_prices_from(
            body["additionalMarketplaces"], offer=offer
        )
    stock = body.get("stock")
    if isinstance(stock, dict):
        if "available" in stock:
            available = stock["available"]
            if not isinstance(available, int) or isinstance(available, bool) or available < 0:
                raise unprocessable(
                    "stock.available must be a non-negative integer", path="stock.available"
                )
            change.stock = available
        if "unit" in stock:
            if stock["unit"] not in ("UNIT", "PAIR", "SET"):
                raise unprocessable("stock.unit must be UNIT, PAIR or SET", path="stock.unit")
            change.unit = stock["unit"]
    publication = body.get("publication")
    if isinstance(publication, dict) and "status" in publication:
        if publication["status"] not in ("ACTIVE", "ENDED"):
            raise unprocessable(
                "publication.status can be set to ACTIVE or ENDED", path="publication.status"
            )
        change.status = publication["status"]
    external = body.get("external")
    if isinstance(external, dict) and "id" in external:
        if not isinstance(external["id"], str) or len(external["id"]) > 100:
            raise unprocessable(
                "external.id must be a string of at most 100 characters", path="external.id"
            )
        change.external_id = external["id"]
    if "afterSalesServices" in body:
        change.after_sales = after_sales_from(body["afterSalesServices"])
    for key, kind in REPLACEABLE.items():
        if key in body:
            if not isinstance(body[key], kind):
                raise unprocessable(f"{key} has the wrong type", path=key)
            change.replaced[key] = body[key]
    delivery = body.get("delivery")
    if isinstance(delivery, dict) and "handlingTime" in delivery:
        if not isinstance(delivery["handlingTime"], str):
            raise unprocessable(
                "delivery.handlingTime must be an ISO 8601 duration", path="delivery.handlingTime"
            )
        change.handling_time = delivery["handlingTime"]
    return change


def apply_change(state: State, offer: StoredOffer, change: Change) -> list[str]:
    """Apply ``change`` to the stored offer, save it and emit events; returns the event types."""
    doc = offer.doc
    before = copy.deepcopy(doc)
    now = state.clock.now()
    events: list[tuple[str, dict[str, Any] | None]] = []
    was_live = doc["publication"]["status"] in EVENT_STATUSES
    changed_other = False
    if change.name is not None and change.name != doc["name"]:
        doc["name"] = change.name
        changed_other = True
    if change.external_id is not None and change.external_id != (doc.get("external") or {}).get(
        "id"
    ):
        doc["external"] = {"id": change.external_id}
        changed_other = True
    repriced: list[str] = []
    if change.price is not None and money(change.price) != doc["sellingMode"]["price"]["amount"]:
        doc["sellingMode"]["price"] = {
            "amount": money(change.price),
            "currency": doc["sellingMode"]["price"]["currency"],
        }
        repriced.append(doc["publication"]["marketplaces"]["base"]["id"])
    for market, amount in change.marketplace_prices.items():
        extra = doc.get("additionalMarketplaces") or {}
        current = ((extra.get(market) or {}).get("sellingMode") or {}).get("price") or {}
        if current.get("amount") != money(amount):
            extra.setdefault(market, {})["sellingMode"] = {
                "price": {"amount": money(amount), "currency": MARKETPLACE_CURRENCIES[market]}
            }
            doc["additionalMarketplaces"] = extra
            repriced.append(market)
    if repriced:
        events.append(
            (
                "OFFER_PRICE_CHANGED",
                {"marketplaces": [{"id": m, "changeType": "MANUAL"} for m in repriced]},
            )
        )
    if change.after_sales is not None and change.after_sales != (
        doc.get("afterSalesServices") or {}
    ):
        doc["afterSalesServices"] = change.after_sales or None
        changed_other = True
    for key, value in change.replaced.items():
        if doc.get(key) != value:
            doc[key] = value
            changed_other = True
    if change.handling_time is not None:
        # shipping rates and dispatch time changes emit no OFFER_CHANGED (per the spec)
        doc.setdefault("delivery", {})["handlingTime"] = change.handling_time
    if change.unit is not None and change.unit != doc["stock"].get("unit"):
        doc["stock"]["unit"] = change.unit
        changed_other = True
    if change.stock is not None and change.stock != doc["stock"]["available"]:
        doc["stock"]["available"] = change.stock
        events.append(("OFFER_STOCK_CHANGED", None))
    status = doc["publication"]["status"]
    if change.status == "ENDED" and status in EVENT_STATUSES:
        end_offer(doc, now=now, ended_by=change.ended_by)
    elif change.status == "ACTIVE" and status in ("INACTIVE", "ENDED"):
        if doc["stock"]["available"] <= 0:
            raise unprocessable("Cannot activate an offer without stock", path="stock.available")
        activate_offer(doc, now=now)
    elif doc["stock"]["available"] == 0 and status in EVENT_STATUSES:
        end_offer(doc, now=now, ended_by="EMPTY_STOCK")
    if changed_other:
        events.append(("OFFER_CHANGED", None))
    new_status = doc["publication"]["status"]
    if new_status != before["publication"]["status"]:
        if new_status == "ENDED" and was_live:
            events.append(
                ("OFFER_ENDED", {"publication": {"endedBy": doc["publication"]["endedBy"]}})
            )
        elif new_status == "ACTIVE":
            events.append(("OFFER_ACTIVATED", None))
    if doc == before:
        return []
    doc["updatedAt"] = iso(now)
    save_offer(state.store, offer)
    emitted: list[str] = []
    for type_, extra in events:
        if type_ == "OFFER_ENDED" or doc["publication"]["status"] in EVENT_STATUSES or was_live:
            offer_event(state, seller_id=offer.seller_id, type_=type_, doc=doc, extra=extra)
            emitted.append(type_)
    return emitted


def end_offer(doc: dict[str, Any], *, now: float, ended_by: str) -> None:
    doc["publication"]["status"] = "ENDED"
    doc["publication"]["endedBy"] = ended_by
    doc["publication"]["_endedAt"] = iso(now)


def activate_offer(doc: dict[str, Any], *, now: float) -> None:
    doc["publication"]["status"] = "ACTIVE"
    doc["publication"]["endedBy"] = None
    doc["publication"]["_startedAt"] = iso(now)
    doc["publication"].pop("_endedAt", None)


def require_offer(store: Store, *, seller_id: str, offer_id: str) -> StoredOffer:
    offer = load_offer(store, seller_id=seller_id, offer_id=offer_id)
    if offer is None:
        raise ApiError(404, "NOT_FOUND", f"Offer {offer_id} not found", path="offerId")
    return offer


def settle_operations(state: State, *, seller_id: str, offer_id: int | None = None) -> None:
    """Apply asynchronous product-offer edits whose time has come."""
    sql = (
        "SELECT id, offer_id, patch FROM operations "
        "WHERE done = 0 AND seller_id = ? AND ready_at <= ?"
    )
    params: list[Any] = [seller_id, state.clock.now()]
    if offer_id is not None:
        sql += " AND offer_id = ?"
        params.append(offer_id)
    for op_id, oid, patch in state.store.all(sql, params):
        offer = load_offer(state.store, seller_id=seller_id, offer_id=str(oid))
        state.store.execute("UPDATE operations SET done = 1 WHERE id = ?", (op_id,))
        state.store.execute("UPDATE offers SET pending_operation = NULL WHERE id = ?", (oid,))
        if offer is None:
            continue
        offer.pending_operation = None
        try:
            apply_change(state, offer, change_from_patch(orjson.loads(patch), offer=offer.doc))
        except ApiError:
            continue
