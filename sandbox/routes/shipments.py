"""Ship with Allegro ("Wysyłam z Allegro"): ``/shipment-management``.

Delivery services and proposals, shipment create / cancel commands, shipment details, labels
(PDF in A4 or A6, or ZPL), dispatch protocols, pickup proposals and pickup commands.

Commands answer 200 + ``Retry-After`` and stay ``IN_PROGRESS`` for ``command_delay`` seconds of
simulated time (``/__sandbox__/settings``); the first read after that settles them. A syntactically
invalid command is a 400 at once; a command Allegro would reject later (unknown buyer e-mail,
parcel over the carrier's limits, the ``shipment_error_rate`` fault...) ends in ``ERROR`` with
``errors``. The shipment is tied to the order through the receiver's ``@allegromail.pl`` address,
as on Allegro; its waybills then show on ``GET /order/checkout-forms/{id}/shipments``.

Storage: ``commands`` rows (kinds ``swa_create``, ``swa_cancel``, ``swa_pickup``) and
``documents`` of kind ``shipment`` (``k1`` = order id) and ``pickup``.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from starlette.responses import Response

from sandbox import data
from sandbox.http import ApiError, Ctx, Handler, RouteTable, error_item, is_uuid
from sandbox.orders import load_order, require_order, save_order, sent_summary
from sandbox.pdf import LabelData, label_pdf, protocol_pdf, zpl_label
from sandbox.routes.orders import waybill_id
from sandbox.state import State

table = RouteTable()

SHIPMENT_KIND = "shipment"
PICKUP_KIND = "pickup"
CREATE, CANCEL, PICKUP = "swa_create", "swa_cancel", "swa_pickup"
PACKAGE_TYPES = ("DOX", "PACKAGE", "PALLET", "OTHER")
REPORT_FIELDS = (
    "WAYBILL",
    "ORDER_ID",
    "BUYER_LOGIN",
    "ITEMS",
    "DIMS_AND_WEIGHT",
    "ADD_LABEL_TEXT",
    "NOTES_FOR_ORDER",
    "REF_NUMBER",
    "COD",
    "INSURANCE",
)
# per delivery type: max length, width, height (cm) and weight (kg)
LIMITS: dict[str, tuple[float, float, float, float]] = {
    "APM": (64.0, 38.0, 41.0, 25.0),
    "PUDO": (60.0, 40.0, 40.0, 20.0),
    "DOOR": (150.0, 80.0, 80.0, 31.5),
}
INSURANCE_LIMIT = "5000.00"
COD_LIMIT = "5000.00"
SLOTS = (("09:00", "12:00"), ("12:00", "16:00"))
PROPOSAL_DAYS = 3
AMOUNT = re.compile(r"^\d+[.,]\d{1,2}$")
SWA_METHODS = {m[0]: m for m in data.DELIVERY_METHODS if m[2] != "OTHER"}


# -- errors (SwA errors always carry a non-null ``details``) -----------------------------------
# SwA's userMessage defaults to Polish.
POLISH_MESSAGES = {
    "VALIDATION_ERROR": "Nieprawidłowe dane w żądaniu.",
    "NOT_FOUND": "Nie znaleziono zasobu.",
    "COMMAND_ALREADY_EXISTS": "Polecenie o tym identyfikatorze już istnieje.",
    "LABEL_FORMAT_MISMATCH": "Przesyłki mają różne formaty etykiet.",
    "INVALID_RECEIVER_EMAIL": "Adres e-mail odbiorcy musi być adresem kupującego z Allegro.",
    "ORDER_NOT_FOUND": "Nie znaleziono zamówienia dla tego odbiorcy.",
    "ORDER_CANCELLED": "Zamówienie zostało anulowane.",
    "DELIVERY_METHOD_NOT_SUPPORTED": "Tej metody dostawy nie obsługuje Wysyłam z Allegro.",
    "POINT_REQUIRED": "Wybierz punkt odbioru.",
    "PACKAGE_TOO_BIG": "Paczka przekracza dopuszczalne wymiary.",
    "PACKAGE_TOO_HEAVY": "Paczka przekracza dopuszczalną wagę.",
    "COD_NOT_AVAILABLE": "Pobranie jest dostępne tylko dla przesyłek kurierskich.",
    "CARRIER_UNAVAILABLE": "Przewoźnik nie przyjął przesyłki. Spróbuj ponownie później.",
    "ALREADY_CANCELED": "Przesyłka została już anulowana.",
    "SHIPMENT_CANCELED": "Przesyłka została anulowana.",
    "PICKUP_NOT_AVAILABLE": "Dla tej przesyłki nie można zamówić odbioru.",
    "PICKUP_ALREADY_ORDERED": "Odbiór tej przesyłki jest już zamówiony.",
    "MIXED_CARRIERS": "Przesyłki w jednym odbiorze muszą mieć tego samego przewoźnika.",
    "INVALID_PICKUP_TIME": "Wybierz dzień roboczy, począwszy od dziś.",
}


def swa_error(status: int, code: str, message: str, *, path: str | None = None) -> ApiError:
    return ApiError(
        status,
        code,
        message,
        path=path,
        details=message,
        user_message=POLISH_MESSAGES.get(code, message),
    )


def bad(message: str, *, path: str | None = None, code: str = "VALIDATION_ERROR") -> ApiError:
    return swa_error(400, code, message, path=path)


def problem(code: str, message: str, *, path: str | None = None) -> dict[str, Any]:
    """One ``Error400`` of a command that ends in ``ERROR``."""
    return error_item(
        code=code,
        message=message,
        path=path,
        details=message,
        user_message=POLISH_MESSAGES.get(code, message),
    )


# -- request checks (400) ----------------------------------------------------------------------
def need_object(value: Any, *, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad(f"{path} is required and must be an object", path=path)
    return value


def check_address(value: Any, *, path: str) -> dict[str, Any]:
    address = need_object(value, path=path)
    for key in ("street", "postalCode", "city", "countryCode", "email", "phone"):
        item = address.get(key)
        if not isinstance(item, str) or not item.strip():
            raise bad(f"{path}.{key} is required", path=f"{path}.{key}")
    if not re.fullmatch(r"[A-Z]{2}", address["countryCode"]):
        raise bad(f"{path}.countryCode must be two capital letters", path=f"{path}.countryCode")
    if not any(isinstance(address.get(k), str) and address[k].strip() for k in ("name", "company")):
        raise bad(f"{path}.name or {path}.company is required", path=f"{path}.name")
    return address


def check_measure(value: Any, *, path: str, unit: str) -> None:
    measure = need_object(value, path=path)
    number = measure.get("value")
    if not isinstance(number, int | float) or isinstance(number, bool) or number <= 0:
        raise bad(f"{path}.value must be a positive number", path=f"{path}.value")
    if measure.get("unit") not in (unit, None):
        raise bad(f"{path}.unit must be {unit}", path=f"{path}.unit")


def check_packages(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise bad("input.packages must list at least one package", path="input.packages")
    for i, package in enumerate(value):
        path = f"input.packages[{i}]"
        need_object(package, path=path)
        if package.get("type") not in PACKAGE_TYPES:
            raise bad(f"{path}.type must be one of {', '.join(PACKAGE_TYPES)}", path=f"{path}.type")
        for dim in ("length", "width", "height"):
            check_measure(package.get(dim), path=f"{path}.{dim}", unit="CENTIMETER")
        check_measure(package.get("weight"), path=f"{path}.weight", unit="KILOGRAMS")
    return value


def check_money(value: Any, *, path: str) -> None:
    if value is None:
        return
    money = need_object(value, path=path)
    if not isinstance(money.get("amount"), str) or not AMOUNT.match(money["amount"]):
        raise bad(f"{path}.amount must look like 12.34", path=f"{path}.amount")
    if not isinstance(money.get("currency"), str) or not re.fullmatch(
        r"[A-Z]{3}", money["currency"]
    ):
        raise bad(f"{path}.currency must be an ISO 4217 code", path=f"{path}.currency")


def check_create_input(value: Any) -> dict[str, Any]:
    shipment = need_object(value, path="input")
    check_address(shipment.get("sender"), path="input.sender")
    check_address(shipment.get("receiver"), path="input.receiver")
    check_packages(shipment.get("packages"))
    check_money(shipment.get("insurance"), path="input.insurance")
    check_money(shipment.get("cashOnDelivery"), path="input.cashOnDelivery")
    if shipment.get("labelFormat", "PDF") not in ("PDF", "ZPL"):
        raise bad("input.labelFormat must be PDF or ZPL", path="input.labelFormat")
    return shipment


def command_id_of(body: dict[str, Any]) -> str:
    command_id = body.get("commandId")
    if command_id in (None, ""):
        return str(uuid.uuid4())
    if not isinstance(command_id, str) or not is_uuid(command_id):
        raise bad("commandId must be a UUID", path="commandId")
    return command_id


def shipment_ids_of(body: dict[str, Any], *, maximum: int | None = None) -> list[str]:
    ids = body.get("shipmentIds")
    if not isinstance(ids, list) or not ids or any(not isinstance(i, str) or not i for i in ids):
        raise bad("shipmentIds must list at least one shipment id", path="shipmentIds")
    if maximum is not None and len(ids) > maximum:
        raise bad(f"shipmentIds may list at most {maximum} shipments", path="shipmentIds")
    return list(dict.fromkeys(ids))


# -- commands ----------------------------------------------------------------------------------
def store_command(
    ctx: Ctx, *, kind: str, command_id: str, body: dict[str, Any], errors: list[dict[str, Any]]
) -> Response:
    """Save a new command (or accept an identical retry) and answer the echo + ``Retry-After``."""
    echo = {"commandId": command_id, "input": body["input"]}
    existing = ctx.store.one(
        "SELECT doc FROM commands WHERE seller_id = ? AND kind = ? AND id = ?",
        (ctx.seller_id, kind, command_id),
    )
    if existing is not None:
        if orjson.loads(existing[0])["input"] != body["input"]:
            raise bad(
                f"Command {command_id} already exists with another input",
                path="commandId",
                code="COMMAND_ALREADY_EXISTS",
            )
    else:
        now = ctx.state.clock.now()
        doc = {**echo, "errors": errors, "resultId": None}
        ctx.store.execute(
            "INSERT INTO commands (seller_id, kind, id, created_at, ready_at, doc) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                ctx.seller_id,
                kind,
                command_id,
                now,
                now + ctx.config.command_delay,
                orjson.dumps(doc),
            ),
        )
    return ctx.json(echo, headers=retry_after(ctx))


def retry_after(ctx: Ctx) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(ctx.config.command_delay)))}


def load_command(ctx: Ctx, *, kind: str) -> tuple[dict[str, Any], bool]:
    """(command doc, finished?); 404 for an unknown command."""
    command_id = ctx.path_param("commandId")
    row = ctx.store.one(
        "SELECT ready_at, doc FROM commands WHERE seller_id = ? AND kind = ? AND id = ?",
        (ctx.seller_id, kind, command_id),
    )
    if row is None:
        raise swa_error(404, "NOT_FOUND", f"Command {command_id} not found", path="commandId")
    doc: dict[str, Any] = orjson.loads(row[1])
    return doc, ctx.state.clock.now() >= float(row[0])


def save_command(ctx: Ctx, *, kind: str, doc: dict[str, Any]) -> None:
    ctx.store.execute(
        "UPDATE commands SET doc = ? WHERE seller_id = ? AND kind = ? AND id = ?",
        (orjson.dumps(doc), ctx.seller_id, kind, doc["commandId"]),
    )


def command_status(
    ctx: Ctx, doc: dict[str, Any], *, finished: bool, result_key: str
) -> dict[str, Any]:
    if not finished:
        return {"commandId": doc["commandId"], "status": "IN_PROGRESS"}
    if doc["errors"]:
        errors = in_language(ctx, doc["errors"])
        return {"commandId": doc["commandId"], "status": "ERROR", "errors": errors}
    return {"commandId": doc["commandId"], "status": "SUCCESS", result_key: doc["resultId"]}


# -- domain ------------------------------------------------------------------------------------
def seller_address(state: State, seller_id: str) -> dict[str, Any]:
    """The seller's dispatch address (stable per seller)."""
    seller = orjson.loads(state.store.scalar("SELECT doc FROM sellers WHERE id = ?", (seller_id,)))
    n = int(seller_id) % 1000
    city, prefix, _ = data.CITIES[n % len(data.CITIES)]
    street = data.STREETS[n % len(data.STREETS)]
    return {
        "company": seller["company"]["name"],
        "name": f"{seller['firstName']} {seller['lastName']}",
        "street": f"{street} {10 + n % 90}",
        "postalCode": f"{prefix}-{100 + n % 900:03d}",
        "city": city,
        "countryCode": "PL",
        "email": seller["email"],
        "phone": f"+48 600 100 {n:03d}",
    }


def method_of(method_id: str | None) -> tuple[str, str, str, str] | None:
    return SWA_METHODS.get(method_id or "")


def order_for_email(state: State, *, seller_id: str, email: str) -> dict[str, Any] | None:
    """The order whose buyer has this Allegro e-mail (the newest one not fully sent, if several)."""
    login = email.split("@", 1)[0].split("+", 1)[0]
    rows = state.store.all(
        "SELECT doc FROM orders WHERE seller_id = ? AND buyer_login = ? AND merged_into IS NULL "
        "ORDER BY bought_at DESC",
        (seller_id, login),
    )
    matching: list[dict[str, Any]] = [
        doc
        for doc in (orjson.loads(r[0]) for r in rows)
        if doc["buyer"]["email"].lower() == email.lower()
    ]
    open_ = [d for d in matching if d["fulfillment"]["shipmentSummary"]["lineItemsSent"] != "ALL"]
    found = open_ or matching
    return found[0] if found else None


def business_errors(
    state: State, *, seller_id: str, shipment: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """What Allegro rejects after accepting the command; and the order the shipment is for."""
    email = shipment["receiver"]["email"]
    if not email.lower().endswith("@allegromail.pl"):
        return [
            problem(
                "INVALID_RECEIVER_EMAIL",
                "The receiver e-mail must be the buyer's @allegromail.pl address from the order",
                path="receiver.email",
            )
        ], None
    order = order_for_email(state, seller_id=seller_id, email=email)
    if order is None:
        return [
            problem(
                "ORDER_NOT_FOUND",
                f"None of your orders has a buyer with the e-mail {email}",
                path="receiver.email",
            )
        ], None
    errors: list[dict[str, Any]] = []
    if order["status"] == "CANCELLED":
        errors.append(problem("ORDER_CANCELLED", f"Order {order['id']} is cancelled"))
    method_id = shipment.get("deliveryMethodId") or order["delivery"]["method"]["id"]
    method = method_of(method_id)
    if method is None:
        errors.append(
            problem(
                "DELIVERY_METHOD_NOT_SUPPORTED",
                f"Delivery method {method_id} cannot be shipped with Allegro",
                path="deliveryMethodId",
            )
        )
        return errors, order
    kind = method[3]
    if kind in ("APM", "PUDO") and not shipment["receiver"].get("point"):
        errors.append(
            problem(
                "POINT_REQUIRED", "This delivery method needs receiver.point", path="receiver.point"
            )
        )
    max_l, max_w, max_h, max_kg = LIMITS[kind]
    for i, package in enumerate(shipment["packages"]):
        sides = sorted((package[d]["value"] for d in ("length", "width", "height")), reverse=True)
        if sides[0] > max_l or sides[1] > max_w or sides[2] > max_h:
            errors.append(
                problem(
                    "PACKAGE_TOO_BIG",
                    f"Package {i + 1} exceeds {max_l:g}x{max_w:g}x{max_h:g} cm for {method[1]}",
                    path=f"packages[{i}]",
                )
            )
        if package["weight"]["value"] > max_kg:
            errors.append(
                problem(
                    "PACKAGE_TOO_HEAVY",
                    f"Package {i + 1} weighs more than {max_kg:g} kg allowed for {method[1]}",
                    path=f"packages[{i}].weight",
                )
            )
    if shipment.get("cashOnDelivery") and kind != "DOOR":
        errors.append(
            problem(
                "COD_NOT_AVAILABLE",
                "Cash on delivery is available only for courier delivery",
                path="cashOnDelivery",
            )
        )
    return errors, order


def make_waybill(carrier: str, seed: str) -> str:
    digits = str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))
    if carrier == "INPOST":
        return "6" + digits[:23]
    if carrier == "DPD":
        return digits[:13] + "U"
    if carrier == "ORLEN_PACZKA":
        return "00" + digits[:11]
    if carrier == "DHL":
        return digits[:11]
    return "A0" + digits[:12]


def create_shipment(
    state: State, *, seller_id: str, command_id: str, shipment: dict[str, Any]
) -> str:
    """Turn a successful create command into a shipment; add its waybills to the order."""
    email = shipment["receiver"]["email"]
    order = order_for_email(state, seller_id=seller_id, email=email)
    assert order is not None
    method_id = shipment.get("deliveryMethodId") or order["delivery"]["method"]["id"]
    method = SWA_METHODS[method_id]
    carrier = method[2]
    now = state.clock.iso()
    packages = []
    for i, package in enumerate(shipment["packages"]):
        waybill = make_waybill(carrier, f"{command_id}:{i}")
        packages.append(
            {
                **{k: package[k] for k in ("type", "length", "width", "height", "weight")},
                **({"textOnLabel": package["textOnLabel"]} if package.get("textOnLabel") else {}),
                "waybill": waybill,
                "transportingInfo": [{"carrierId": carrier, "carrierWaybill": waybill}],
            }
        )
    shipment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"swa:{seller_id}:{command_id}"))
    public: dict[str, Any] = {
        "id": shipment_id,
        "deliveryMethodId": method_id,
        "sender": shipment["sender"],
        "receiver": shipment["receiver"],
        "packages": packages,
        "createdDate": now,
        "carrier": carrier,
        "labelFormat": shipment.get("labelFormat") or "PDF",
        "additionalServices": shipment.get("additionalServices") or [],
        "additionalProperties": shipment.get("additionalProperties") or {},
        "transport": [carrier],
        "pickupAvailable": method[3] == "DOOR",
    }
    for key in ("referenceNumber", "insurance", "cashOnDelivery"):
        if shipment.get(key):
            public[key] = shipment[key]
    doc = {
        "shipment": public,
        "orderId": order["id"],
        "service": method[1],
        "kind": method[3],
        "pickupId": None,
    }
    with state.store.tx():
        state.store.doc_put(
            kind=SHIPMENT_KIND,
            id_=shipment_id,
            seller_id=seller_id,
            doc=doc,
            sort_key=now,
            k1=order["id"],
        )
        add_waybills(state, seller_id=seller_id, order=order, carrier=carrier, packages=packages)
    return shipment_id


def add_waybills(
    state: State,
    *,
    seller_id: str,
    order: dict[str, Any],
    carrier: str,
    packages: list[dict[str, Any]],
) -> None:
    now = state.clock.iso()
    items = [{"id": li["id"]} for li in order["lineItems"]]
    for package in packages:
        entry = {
            "id": waybill_id(carrier, package["waybill"]),
            "waybill": package["waybill"],
            "carrierId": carrier,
            "lineItems": items,
            "createdAt": now,
        }
        state.store.execute(
            "INSERT OR REPLACE INTO order_waybills "
            "(id, order_id, seller_id, waybill, created_at, doc) VALUES (?, ?, ?, ?, ?, ?)",
            (
                f"{order['id']}:{entry['id']}",
                order["id"],
                seller_id,
                package["waybill"],
                now,
                orjson.dumps(entry),
            ),
        )
    refresh_sent(state, seller_id=seller_id, order_id=order["id"])


def refresh_sent(state: State, *, seller_id: str, order_id: str) -> None:
    """Recompute ``lineItemsSent`` from the order's waybills (bumps the revision)."""
    order = load_order(state.store, seller_id=seller_id, order_id=order_id)
    if order is None:
        return
    sent: set[str] = set()
    for (raw,) in state.store.all("SELECT doc FROM order_waybills WHERE order_id = ?", (order_id,)):
        sent.update(li["id"] for li in orjson.loads(raw)["lineItems"])
    order["fulfillment"]["shipmentSummary"]["lineItemsSent"] = sent_summary(order, sent)
    save_order(state, order, seller_id=seller_id)


def cancel_shipment(state: State, *, seller_id: str, shipment_id: str) -> None:
    doc = state.store.doc_get(kind=SHIPMENT_KIND, id_=shipment_id, seller_id=seller_id)
    if doc is None or "canceledDate" in doc["shipment"]:
        return
    public = doc["shipment"]
    public["canceledDate"] = state.clock.iso()
    public["pickupAvailable"] = False
    with state.store.tx():
        state.store.doc_put(
            kind=SHIPMENT_KIND,
            id_=shipment_id,
            seller_id=seller_id,
            doc=doc,
            sort_key=public["createdDate"],
            k1=doc["orderId"],
        )
        for package in public["packages"]:
            state.store.execute(
                "DELETE FROM order_waybills WHERE order_id = ? AND waybill = ?",
                (doc["orderId"], package["waybill"]),
            )
        refresh_sent(state, seller_id=seller_id, order_id=doc["orderId"])


def load_shipment(ctx: Ctx, shipment_id: str, *, status: int = 404) -> dict[str, Any]:
    doc = ctx.store.doc_get(kind=SHIPMENT_KIND, id_=shipment_id, seller_id=ctx.seller_id)
    if doc is None:
        raise swa_error(
            status, "NOT_FOUND", f"Shipment {shipment_id} not found", path="shipmentIds"
        )
    return doc


def working_days(start: date, count: int) -> list[date]:
    days: list[date] = []
    current = start
    while len(days) < count:
        if current.weekday() < 5:
            days.append(current)
        current += timedelta(days=1)
    return days


def today(state: State) -> date:
    return datetime.fromtimestamp(state.clock.now(), tz=UTC).date()


def parse_day(value: Any, *, path: str) -> date:
    if not isinstance(value, str):
        raise bad(f"{path} must be a date (yyyy-MM-dd)", path=path)
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise bad(f"{path} must be a date (yyyy-MM-dd)", path=path) from exc


# -- label content -----------------------------------------------------------------------------
def address_lines(address: dict[str, Any]) -> tuple[str, ...]:
    head = [address.get("company") or "", address.get("name") or ""]
    return (
        *[h for h in head if h],
        address["street"],
        f"{address['postalCode']} {address['city']} ({address['countryCode']})",
        address["phone"],
    )


def labels_of(doc: dict[str, Any]) -> list[LabelData]:
    public = doc["shipment"]
    result = []
    for package in public["packages"]:
        dims = "x".join(f"{package[d]['value']:g}" for d in ("length", "width", "height"))
        result.append(
            LabelData(
                waybill=package["waybill"],
                carrier=public["carrier"],
                service=doc["service"],
                sender=address_lines(public["sender"]),
                receiver=address_lines(public["receiver"]),
                package=f"{package['type']} {dims} cm, {package['weight']['value']:g} kg",
                reference=public.get("referenceNumber", ""),
                text_on_label=package.get("textOnLabel", ""),
                point=public["receiver"].get("point", ""),
            )
        )
    return result


def report_lines(
    state: State, *, seller_id: str, doc: dict[str, Any], fields: list[str]
) -> list[str]:
    public = doc["shipment"]
    order = load_order(state.store, seller_id=seller_id, order_id=doc["orderId"]) or {}
    values = {
        "WAYBILL": ", ".join(p["waybill"] for p in public["packages"]),
        "ORDER_ID": doc["orderId"],
        "BUYER_LOGIN": (order.get("buyer") or {}).get("login", ""),
        "ITEMS": "; ".join(
            f"{li['quantity']} x {li['offer']['name']}" for li in order.get("lineItems", [])
        ),
        "DIMS_AND_WEIGHT": "; ".join(
            "x".join(f"{p[d]['value']:g}" for d in ("length", "width", "height"))
            + f" cm {p['weight']['value']:g} kg"
            for p in public["packages"]
        ),
        "ADD_LABEL_TEXT": "; ".join(p.get("textOnLabel", "") for p in public["packages"]),
        "NOTES_FOR_ORDER": order.get("messageToSeller", ""),
        "REF_NUMBER": public.get("referenceNumber", ""),
        "COD": " ".join(
            (public.get("cashOnDelivery") or {}).get(k, "") for k in ("amount", "currency")
        ),
        "INSURANCE": " ".join(
            (public.get("insurance") or {}).get(k, "") for k in ("amount", "currency")
        ),
    }
    return [f"{name}: {values[name]}" for name in fields] + [""]


def check_report(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    report = need_object(value, path="summaryReport")
    if report.get("placement") not in ("LAST", "EVERY"):
        raise bad("summaryReport.placement must be LAST or EVERY", path="summaryReport.placement")
    fields = report.get("fields")
    if not isinstance(fields, list) or not fields or any(f not in REPORT_FIELDS for f in fields):
        raise bad(
            f"summaryReport.fields must list some of {', '.join(REPORT_FIELDS)}",
            path="summaryReport.fields",
        )
    return report


# -- Allegro routes ----------------------------------------------------------------------------
def english(ctx: Ctx) -> bool:
    """SwA's ``userMessage`` is Polish unless the client asks for English."""
    return ctx.request.headers.get("accept-language", "").lower().startswith("en")


def in_language(ctx: Ctx, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not english(ctx):
        return errors
    return [{**e, "userMessage": e["message"]} for e in errors]


def swa_route(method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
    """``table.route`` whose errors follow ``Accept-Language`` (Polish by default) and always
    carry a string ``details``, also those the framework answers (403 scope, 406, 429...)."""

    def decorator(handler: Handler) -> Handler:
        async def localized(ctx: Ctx) -> Response:
            try:
                return await handler(ctx)
            except ApiError as exc:
                exc.errors = in_language(ctx, exc.errors)
                raise

        localized.__name__ = handler.__name__
        table.route(method, path, details_required=True, **options)(localized)
        return handler

    return decorator


BASE = "/shipment-management"


def limits_of(kind: str) -> dict[str, Any]:
    max_l, max_w, max_h, max_kg = LIMITS[kind]
    return {
        "insurance": {"amount": INSURANCE_LIMIT, "currency": "PLN"},
        "dimensions": {
            "length": {"value": max_l, "unit": "CENTIMETER"},
            "width": {"value": max_w, "unit": "CENTIMETER"},
            "height": {"value": max_h, "unit": "CENTIMETER"},
        },
        "weight": {"value": max_kg, "unit": "KILOGRAMS"},
    }


def delivery_options(kind: str) -> list[dict[str, Any]]:
    base: dict[str, Any] = {
        "deliveryType": kind,
        "paymentType": "PREPAID",
        "packageType": "PACKAGE",
        "originCountry": "PL",
        "destinationCountry": "PL",
        "limits": limits_of(kind),
        "additionalServices": [],
        "additionalProperties": [],
    }
    options = [base]
    if kind == "DOOR":
        postpaid = {**base, "paymentType": "POSTPAID"}
        postpaid["limits"] = {
            **base["limits"],
            "cashOnDelivery": {"amount": COD_LIMIT, "currency": "PLN"},
        }
        options.append(postpaid)
    return options


@swa_route("GET", f"{BASE}/delivery-services", scope="shipments:write")
async def delivery_services(ctx: Ctx) -> Response:
    services = []
    for method_id, name, carrier, kind in SWA_METHODS.values():
        service: dict[str, Any] = {
            "id": {"deliveryMethodId": method_id},
            "name": name,
            "carrierId": carrier,
            "additionalServices": [],
            "additionalProperties": [],
            "owner": "ALLEGRO",
            "marketplaces": ["allegro-pl"],
            "packageTypes": ["PACKAGE", "DOX"] if kind == "DOOR" else ["PACKAGE"],
            "insurance": {"limit": float(INSURANCE_LIMIT), "currency": "PLN"},
            "features": {},
        }
        if kind == "DOOR":
            service["cashOnDelivery"] = {
                "limit": float(COD_LIMIT),
                "currency": "PLN",
                "paymentType": "MONEY_TRANSFER",
                "forceRequireIban": True,
            }
        services.append(service)
    return ctx.json({"services": services})


@swa_route("GET", f"{BASE}/delivery-proposals/{{orderId}}", scope="shipments:write")
async def delivery_proposal(ctx: Ctx) -> Response:
    order_id = ctx.path_param("orderId")
    try:
        order = require_order(ctx.store, seller_id=ctx.seller_id, order_id=order_id)
    except ApiError as exc:
        raise swa_error(404, "NOT_FOUND", f"Order {order_id} not found", path="orderId") from exc
    delivery = order.get("delivery") or {}
    address = delivery.get("address") or {}
    buyer = order["buyer"]
    receiver: dict[str, Any] = {
        "name": " ".join(
            (
                address.get("firstName", buyer["firstName"]),
                address.get("lastName", buyer["lastName"]),
            )
        ),
        "street": address.get("street") or buyer["address"]["street"],
        "postalCode": address.get("zipCode") or buyer["address"]["postCode"],
        "city": address.get("city") or buyer["address"]["city"],
        "countryCode": address.get("countryCode") or "PL",
        "email": buyer["email"],
        "phone": address.get("phoneNumber") or buyer.get("phoneNumber") or "",
    }
    if address.get("companyName"):
        receiver["company"] = address["companyName"]
    point = (delivery.get("pickupPoint") or {}).get("id")
    if point:
        receiver["point"] = point
    method_id = (delivery.get("method") or {}).get("id")
    method = method_of(method_id)
    kind = method[3] if method else "DOOR"
    suggested: dict[str, Any] = {
        "sender": seller_address(ctx.state, ctx.seller_id),
        "receiver": receiver,
        "packages": [
            {
                "type": "PACKAGE",
                "length": {"value": 30, "unit": "CENTIMETER"},
                "width": {"value": 20, "unit": "CENTIMETER"},
                "height": {"value": 10, "unit": "CENTIMETER"},
                "weight": {"value": 1.0, "unit": "KILOGRAMS"},
            }
        ],
        "labelFormat": "PDF",
    }
    if method_id:
        suggested["deliveryMethodId"] = method_id
    if (order.get("payment") or {}).get("type") == "CASH_ON_DELIVERY" and kind == "DOOR":
        total = order["summary"]["totalToPay"]
        suggested["cashOnDelivery"] = {"amount": total["amount"], "currency": total["currency"]}
    body = {
        "orderId": order["id"],
        "suggestedInput": suggested,
        "deliveryOptions": delivery_options(kind) if method else [],
    }
    return ctx.json(body)


@swa_route("POST", f"{BASE}/shipments/create-commands", scope="shipments:write")
async def create_command(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    command_id = command_id_of(body)
    shipment = check_create_input(body.get("input"))
    errors, order = business_errors(ctx.state, seller_id=ctx.seller_id, shipment=shipment)
    failing = order is not None and order["id"] in ctx.state.faults.shipment_error_orders
    if not errors and (failing or ctx.state.faults.roll(ctx.state.faults.shipment_error_rate)):
        errors = [
            problem(
                "CARRIER_UNAVAILABLE",
                "The carrier did not accept the shipment (simulated fault), try again later",
            )
        ]
    return store_command(ctx, kind=CREATE, command_id=command_id, body=body, errors=errors)


@swa_route("GET", f"{BASE}/shipments/create-commands/{{commandId}}", scope="shipments:write")
async def create_command_status(ctx: Ctx) -> Response:
    doc, finished = load_command(ctx, kind=CREATE)
    if finished and not doc["errors"] and doc["resultId"] is None:
        # the order may have changed (cancelled, merged) while the command was in progress
        doc["errors"], _ = business_errors(
            ctx.state, seller_id=ctx.seller_id, shipment=doc["input"]
        )
        if not doc["errors"]:
            doc["resultId"] = create_shipment(
                ctx.state,
                seller_id=ctx.seller_id,
                command_id=doc["commandId"],
                shipment=doc["input"],
            )
        save_command(ctx, kind=CREATE, doc=doc)
    return ctx.json(command_status(ctx, doc, finished=finished, result_key="shipmentId"))


@swa_route("GET", f"{BASE}/shipments/{{shipmentId}}", scope="shipments:read")
async def get_shipment(ctx: Ctx) -> Response:
    return ctx.json(load_shipment(ctx, ctx.path_param("shipmentId"))["shipment"])


@swa_route("POST", f"{BASE}/shipments/cancel-commands", scope="shipments:write")
async def cancel_command(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    command_id = command_id_of(body)
    payload = need_object(body.get("input"), path="input")
    shipment_id = payload.get("shipmentId")
    if not isinstance(shipment_id, str) or not shipment_id:
        raise bad("input.shipmentId is required", path="input.shipmentId")
    doc = ctx.store.doc_get(kind=SHIPMENT_KIND, id_=shipment_id, seller_id=ctx.seller_id)
    errors = []
    if doc is None:
        errors.append(
            problem("NOT_FOUND", f"Shipment {shipment_id} not found", path="input.shipmentId")
        )
    elif "canceledDate" in doc["shipment"]:
        errors.append(
            problem(
                "ALREADY_CANCELED",
                f"Shipment {shipment_id} is already canceled",
                path="input.shipmentId",
            )
        )
    return store_command(ctx, kind=CANCEL, command_id=command_id, body=body, errors=errors)


@swa_route("GET", f"{BASE}/shipments/cancel-commands/{{commandId}}", scope="shipments:write")
async def cancel_command_status(ctx: Ctx) -> Response:
    doc, finished = load_command(ctx, kind=CANCEL)
    if finished and not doc["errors"] and doc["resultId"] is None:
        shipment_id = doc["input"]["shipmentId"]
        cancel_shipment(ctx.state, seller_id=ctx.seller_id, shipment_id=shipment_id)
        doc["resultId"] = shipment_id
        save_command(ctx, kind=CANCEL, doc=doc)
    status = command_status(ctx, doc, finished=finished, result_key="shipmentId")
    return ctx.json(status, headers=retry_after(ctx))


def active_shipments(ctx: Ctx, ids: list[str]) -> list[dict[str, Any]]:
    docs = [load_shipment(ctx, i) for i in ids]
    return [d for d in docs if "canceledDate" not in d["shipment"]]


@swa_route(
    "POST",
    f"{BASE}/label",
    scope="shipments:read",
    media="octet",
    body_media=("v1",),
    error_media="v1",
)
async def labels(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    ids = shipment_ids_of(body)
    page_size = body.get("pageSize") or "A4"
    if page_size not in ("A4", "A6"):
        raise bad("pageSize must be A4 or A6", path="pageSize")
    cut_line = body.get("cutLine")
    if cut_line is not None and not isinstance(cut_line, bool):
        raise bad("cutLine must be true or false", path="cutLine")
    report = check_report(body.get("summaryReport"))
    docs = active_shipments(ctx, ids)
    if not docs:
        return ctx.empty(204)
    formats = {d["shipment"]["labelFormat"] for d in docs}
    if len(formats) > 1:
        raise bad(
            "The shipments were created with different label formats (PDF and ZPL)",
            path="shipmentIds",
            code="LABEL_FORMAT_MISMATCH",
        )
    all_labels = [label for d in docs for label in labels_of(d)]
    if formats == {"ZPL"}:
        return ctx.raw(b"".join(zpl_label(label) for label in all_labels))
    summaries: list[list[str]] = []
    if report is not None:
        per_shipment = [
            report_lines(ctx.state, seller_id=ctx.seller_id, doc=d, fields=report["fields"])
            for d in docs
        ]
        summaries = (
            per_shipment
            if report["placement"] == "EVERY"
            else [[row for lines in per_shipment for row in lines]]
        )
    pdf = label_pdf(all_labels, page_size=page_size, cut_line=bool(cut_line), summaries=summaries)
    return ctx.raw(pdf)


@swa_route(
    "POST",
    f"{BASE}/protocol",
    scope="shipments:read",
    media="octet",
    body_media=("v1",),
    error_media="v1",
)
async def protocol(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    docs = active_shipments(ctx, shipment_ids_of(body))
    if not docs:
        return ctx.empty(204)
    sender = docs[0]["shipment"]["sender"]
    rows: list[tuple[str, ...]] = [
        (
            package["waybill"],
            d["shipment"]["receiver"].get("name") or d["shipment"]["receiver"].get("company", ""),
            d["shipment"]["receiver"]["city"],
        )
        for d in docs
        for package in d["shipment"]["packages"]
    ]
    pdf = protocol_pdf(
        sender=sender.get("company") or sender.get("name", ""),
        carrier=", ".join(sorted({d["shipment"]["carrier"] for d in docs})),
        created=ctx.state.clock.iso(),
        rows=rows,
    )
    return ctx.raw(pdf)


def pickup_times(state: State, ready: date) -> list[dict[str, str]]:
    start = max(ready, today(state))
    return [
        {"date": day.isoformat(), "minTime": low, "maxTime": high}
        for day in working_days(start, PROPOSAL_DAYS)
        for low, high in SLOTS
    ]


@swa_route("POST", f"{BASE}/pickup-proposals", scope="shipments:write")
async def pickup_proposals(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    ids = shipment_ids_of(body, maximum=100)
    address = check_address(body.get("address"), path="address")
    ready = today(ctx.state)
    if body.get("readyDate") is not None:
        ready = parse_day(body["readyDate"], path="readyDate")
    proposals = []
    for shipment_id in ids:
        doc = load_shipment(ctx, shipment_id, status=400)
        times = pickup_times(ctx.state, ready) if doc["shipment"]["pickupAvailable"] else []
        proposals.append(
            {
                "shipmentId": shipment_id,
                "pickupTimes": times,
                "proposalItems": [
                    {
                        "id": f"{t['date']}T{t['minTime']}/{t['maxTime']}",
                        "name": f"{t['date']} {t['minTime']}-{t['maxTime']}",
                    }
                    for t in times
                ],
            }
        )
    return ctx.json([{"proposals": proposals, "address": address}])


def pickup_errors(ctx: Ctx, *, ids: list[str], when: dict[str, Any] | None) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    carriers = set()
    for shipment_id in ids:
        doc = ctx.store.doc_get(kind=SHIPMENT_KIND, id_=shipment_id, seller_id=ctx.seller_id)
        path = "input.shipmentIds"
        if doc is None:
            errors.append(problem("NOT_FOUND", f"Shipment {shipment_id} not found", path=path))
        elif "canceledDate" in doc["shipment"]:
            errors.append(
                problem("SHIPMENT_CANCELED", f"Shipment {shipment_id} is canceled", path=path)
            )
        elif not doc["shipment"]["pickupAvailable"]:
            errors.append(
                problem(
                    "PICKUP_NOT_AVAILABLE", f"No pickup can be ordered for {shipment_id}", path=path
                )
            )
        elif doc.get("pickupId"):
            errors.append(
                problem(
                    "PICKUP_ALREADY_ORDERED",
                    f"Shipment {shipment_id} already has a pickup",
                    path=path,
                )
            )
        else:
            carriers.add(doc["shipment"]["carrier"])
    if len(carriers) > 1:
        errors.append(problem("MIXED_CARRIERS", "All shipments of a pickup must use one carrier"))
    if when is None:
        errors.append(
            problem(
                "INVALID_PICKUP_TIME",
                "Unknown pickupDateProposalId",
                path="input.pickupDateProposalId",
            )
        )
        return errors
    try:
        day = date.fromisoformat(when["date"])
    except ValueError:
        errors.append(
            problem(
                "INVALID_PICKUP_TIME",
                "pickupTime.date must be yyyy-MM-dd",
                path="input.pickupTime.date",
            )
        )
        return errors
    if day < today(ctx.state) or day.weekday() >= 5:
        errors.append(
            problem(
                "INVALID_PICKUP_TIME",
                f"No pickup on {day.isoformat()}: pick a working day from today on",
                path="input.pickupTime.date",
            )
        )
    return errors


def pickup_time_of(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The requested slot from ``pickupTime`` or the deprecated ``pickupDateProposalId``."""
    when = payload.get("pickupTime")
    if isinstance(when, dict):
        if not isinstance(when.get("date"), str):
            raise bad("input.pickupTime.date is required", path="input.pickupTime.date")
        return when
    proposal = payload.get("pickupDateProposalId")
    if not isinstance(proposal, str) or not proposal:
        raise bad("input.pickupTime is required", path="input.pickupTime")
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/(\d{2}:\d{2})", proposal)
    if match is None:
        return None
    return {"date": match.group(1), "minTime": match.group(2), "maxTime": match.group(3)}


@swa_route("POST", f"{BASE}/pickups/create-commands", scope="shipments:write")
async def pickup_command(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    command_id = command_id_of(body)
    payload = need_object(body.get("input"), path="input")
    ids = shipment_ids_of(payload)
    check_address(payload.get("address"), path="input.address")
    when = pickup_time_of(payload)
    errors = pickup_errors(ctx, ids=ids, when=when)
    return store_command(ctx, kind=PICKUP, command_id=command_id, body=body, errors=errors)


def create_pickup(ctx: Ctx, doc: dict[str, Any]) -> tuple[str, str]:
    payload = doc["input"]
    ids = list(dict.fromkeys(payload["shipmentIds"]))
    shipments = [load_shipment(ctx, i) for i in ids]
    carrier = shipments[0]["shipment"]["carrier"]
    pickup_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"pickup:{ctx.seller_id}:{doc['commandId']}"))
    carrier_pickup_id = str(int(hashlib.sha256(pickup_id.encode()).hexdigest(), 16))[:10]
    pickup = {
        "id": pickup_id,
        "carrierPickupId": carrier_pickup_id,
        "carrier": carrier,
        "pickupCarrier": carrier,
        "address": payload["address"],
        "shipmentIds": ids,
        "waybills": [p["waybill"] for s in shipments for p in s["shipment"]["packages"]],
        "_time": pickup_time_of(payload),
    }
    with ctx.store.tx():
        ctx.store.doc_put(
            kind=PICKUP_KIND,
            id_=pickup_id,
            seller_id=ctx.seller_id,
            doc=pickup,
            sort_key=ctx.state.clock.iso(),
        )
        for shipment in shipments:
            shipment["pickupId"] = pickup_id
            ctx.store.doc_put(
                kind=SHIPMENT_KIND,
                id_=shipment["shipment"]["id"],
                seller_id=ctx.seller_id,
                doc=shipment,
                sort_key=shipment["shipment"]["createdDate"],
                k1=shipment["orderId"],
            )
    return pickup_id, carrier_pickup_id


@swa_route("GET", f"{BASE}/pickups/create-commands/{{commandId}}", scope="shipments:write")
async def pickup_command_status(ctx: Ctx) -> Response:
    doc, finished = load_command(ctx, kind=PICKUP)
    if finished and not doc["errors"] and doc["resultId"] is None:
        # another pickup or a cancellation may have settled in the meantime
        payload = doc["input"]
        doc["errors"] = pickup_errors(
            ctx, ids=list(dict.fromkeys(payload["shipmentIds"])), when=pickup_time_of(payload)
        )
        if not doc["errors"]:
            doc["resultId"], doc["carrierPickupId"] = create_pickup(ctx, doc)
        save_command(ctx, kind=PICKUP, doc=doc)
    status = command_status(ctx, doc, finished=finished, result_key="pickupId")
    if status["status"] == "SUCCESS":
        status["carrierPickupId"] = doc["carrierPickupId"]
    return ctx.json(status, headers=retry_after(ctx))


@swa_route("GET", f"{BASE}/pickups/{{pickupId}}", scope="shipments:read")
async def get_pickup(ctx: Ctx) -> Response:
    pickup_id = ctx.path_param("pickupId")
    doc = ctx.store.doc_get(kind=PICKUP_KIND, id_=pickup_id, seller_id=ctx.seller_id)
    if doc is None:
        raise swa_error(404, "NOT_FOUND", f"Pickup {pickup_id} not found", path="pickupId")
    return ctx.json({k: v for k, v in doc.items() if not k.startswith("_")})
