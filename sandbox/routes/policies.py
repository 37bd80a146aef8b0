"""After-sales conditions: return policies (CRUD) and read-only warranties / implied warranties.

Return policies are ``documents`` of kind ``return_policy`` (``sort_key`` = creation time, so the
list is in creation order). Validation follows the spec plus the conditional rules of Allegro's
guide: with ``availability.range=FULL`` the policy needs ``withdrawalPeriod`` (whole days, at
least the statutory 14), ``returnCost.coveredBy`` and ``address``; with ``RESTRICTED`` or
``DISABLED`` it needs ``availability.restrictionCause.name``. Every error is a 422 naming the field.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.responses import Response

from sandbox.http import ApiError, Ctx, RouteTable, int_param, unprocessable
from sandbox.state import State

table = RouteTable()

KIND = "return_policy"
WARRANTY_KIND = "warranty"
IMPLIED_KIND = "implied_warranty"
RANGES = ("FULL", "RESTRICTED", "DISABLED")
RESTRICTION_CAUSES = (
    "SEALED_MEDIA",
    "SEALED_ITEM_NO_RETURN_DUE_HEALTH_OR_HYGIENE",
    "CUSTOM_ITEM",
    "SHORT_SHELF_LIFE",
    "INSEPARABLY_LINKED",
    "PRESS",
    "MEDICINAL_PRODUCT",
    "NOT_RECORDED_DIGITAL_CONTENT",
    "VALUE_DEPENDENT_ON_FINANCIAL_MARKET",
)
DEPRECATED_CAUSES = ("ALCOHOL", "FULLY_IMPLEMENTED_SERVICE", "BOOKED_SERVICE")
OPTION_KEYS = (
    "cashOnDeliveryNotAllowed",
    "freeAccessoriesReturnRequired",
    "refundLoweredByReceivedDiscount",
    "businessReturnAllowed",
    "collectBySellerOnly",
)
PERIOD = re.compile(r"^P(\d+)D$")
POSTCODES = {
    "PL": re.compile(r"^\d{2}-\d{3}$"),
    "CZ": re.compile(r"^\d{3} \d{2}$"),
    "SK": re.compile(r"^\d{3} \d{2}$"),
}
OTHER_POSTCODE = re.compile(r"^[A-Za-z0-9 -]{1,16}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
MIN_WITHDRAWAL_DAYS = 14
MAX_PER_PAGE = 60


# -- validation --------------------------------------------------------------------------------
def require_str(data: dict[str, Any], key: str, *, path: str, max_len: int | None = None) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise unprocessable(f"{path} is required", path=path)
    if max_len is not None and len(value) > max_len:
        raise unprocessable(f"{path} may have at most {max_len} characters", path=path)
    return value


def as_object(value: Any, *, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise unprocessable(f"{path} must be an object", path=path)
    return value


def clean_address(value: Any) -> dict[str, Any]:
    data = as_object(value, path="address")
    country = require_str(data, "countryCode", path="address.countryCode")
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise unprocessable(
            "address.countryCode must be two capital letters", path="address.countryCode"
        )
    local = country in ("PL", "CZ", "SK")
    name_max = 50 if country in ("CZ", "SK") else 200
    address = {
        "name": require_str(data, "name", path="address.name", max_len=name_max),
        "street": require_str(data, "street", path="address.street", max_len=35 if local else 200),
        "postCode": require_str(data, "postCode", path="address.postCode"),
        "city": require_str(data, "city", path="address.city", max_len=30 if local else 200),
        "countryCode": country,
    }
    pattern = POSTCODES.get(country, OTHER_POSTCODE)
    if not pattern.match(address["postCode"]):
        raise unprocessable(
            f"address.postCode {address['postCode']!r} is not a valid {country} post code",
            path="address.postCode",
        )
    return address


def clean_availability(value: Any) -> dict[str, Any]:
    data = as_object(value, path="availability")
    range_ = data.get("range")
    if range_ not in RANGES:
        raise unprocessable(
            f"availability.range must be one of {', '.join(RANGES)}", path="availability.range"
        )
    cause = data.get("restrictionCause")
    cause_name = cause.get("name") if isinstance(cause, dict) else None
    if range_ == "FULL":
        if cause_name:
            raise unprocessable(
                "availability.restrictionCause must be empty when range is FULL",
                path="availability.restrictionCause",
            )
        return {"range": range_}
    path = "availability.restrictionCause.name"
    if not cause_name:
        raise unprocessable(f"{path} is required when range is {range_}", path=path)
    if cause_name in DEPRECATED_CAUSES:
        raise unprocessable(f"{cause_name} is deprecated and can no longer be used", path=path)
    if cause_name not in RESTRICTION_CAUSES:
        raise unprocessable(f"Unknown restriction cause {cause_name}", path=path)
    return {"range": range_, "restrictionCause": {"name": cause_name}}


def clean_period(value: Any) -> str:
    if not isinstance(value, str) or not PERIOD.match(value):
        raise unprocessable(
            "withdrawalPeriod must be whole days in ISO 8601, e.g. P14D", path="withdrawalPeriod"
        )
    days = int(PERIOD.match(value).group(1))  # type: ignore[union-attr]
    if days < MIN_WITHDRAWAL_DAYS:
        raise unprocessable(
            f"withdrawalPeriod must be at least {MIN_WITHDRAWAL_DAYS} days", path="withdrawalPeriod"
        )
    return value


def clean_contact(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    data = as_object(value, path="contact")
    email, phone = data.get("email"), data.get("phoneNumber")
    if email is not None and (not isinstance(email, str) or not EMAIL.match(email)):
        raise unprocessable("contact.email is not a valid e-mail address", path="contact.email")
    if phone is not None and (not isinstance(phone, str) or not PHONE.match(phone)):
        raise unprocessable(
            "contact.phoneNumber is not a valid phone number", path="contact.phoneNumber"
        )
    return {"phoneNumber": phone, "email": email}


def clean_options(value: Any) -> dict[str, bool] | None:
    if value is None:
        return None
    data = as_object(value, path="options")
    for key in OPTION_KEYS:
        if not isinstance(data.get(key), bool):
            raise unprocessable(f"options.{key} must be true or false", path=f"options.{key}")
    return {key: data[key] for key in OPTION_KEYS}


def clean_policy(body: dict[str, Any]) -> dict[str, Any]:
    """The stored fields of a policy (everything but id, seller and isFulfillment)."""
    name = require_str(body, "name", path="name", max_len=200)
    availability = clean_availability(body.get("availability"))
    policy: dict[str, Any] = {"name": name, "availability": availability}
    full = availability["range"] == "FULL"
    period = body.get("withdrawalPeriod")
    if full or period is not None:
        if full and period is None:
            raise unprocessable(
                "withdrawalPeriod is required when range is FULL", path="withdrawalPeriod"
            )
        policy["withdrawalPeriod"] = clean_period(period)
    else:
        policy["withdrawalPeriod"] = None
    cost = body.get("returnCost")
    if full or cost is not None:
        cost_data = as_object(cost, path="returnCost") if cost is not None else {}
        covered = cost_data.get("coveredBy")
        if covered not in ("SELLER", "BUYER"):
            raise unprocessable(
                "returnCost.coveredBy must be SELLER or BUYER"
                + (" when range is FULL" if full else ""),
                path="returnCost.coveredBy",
            )
        policy["returnCost"] = {"coveredBy": covered}
    else:
        policy["returnCost"] = None
    address = body.get("address")
    if full and address is None:
        raise unprocessable("address is required when range is FULL", path="address")
    policy["address"] = clean_address(address) if address is not None else None
    policy["contact"] = clean_contact(body.get("contact"))
    policy["options"] = clean_options(body.get("options"))
    return policy


# -- storage -----------------------------------------------------------------------------------
def save_policy(state: State, *, seller_id: str, doc: dict[str, Any], created: str) -> None:
    state.store.doc_put(
        kind=KIND, id_=doc["id"], seller_id=seller_id, doc=doc, sort_key=created, k1=created
    )


def create_policy(
    state: State, *, seller_id: str, body: dict[str, Any], policy_id: str | None = None
) -> dict[str, Any]:
    fulfillment = body.get("isFulfillment")
    if not isinstance(fulfillment, bool):
        raise unprocessable("isFulfillment must be true or false", path="isFulfillment")
    fields = clean_policy(body)
    doc = {
        "id": policy_id or str(uuid.uuid4()),
        "isFulfillment": fulfillment,
        "seller": {"id": seller_id},
        **fields,
    }
    count = state.store.scalar(
        "SELECT COUNT(*) FROM documents WHERE kind = ? AND seller_id = ?", (KIND, seller_id)
    )
    created = f"{state.clock.iso()}#{int(count or 0):06d}"
    save_policy(state, seller_id=seller_id, doc=doc, created=created)
    return doc


def load_policy(ctx: Ctx) -> tuple[dict[str, Any], str]:
    policy_id = ctx.path_param("returnPolicyId")
    row = ctx.store.one(
        "SELECT k1 FROM documents WHERE kind = ? AND id = ? AND seller_id = ?",
        (KIND, policy_id, ctx.seller_id),
    )
    doc = ctx.store.doc_get(kind=KIND, id_=policy_id, seller_id=ctx.seller_id)
    if doc is None or row is None:
        raise ApiError(
            404, "NOT_FOUND", f"Return policy {policy_id} not found", path="returnPolicyId"
        )
    return doc, str(row[0])


# -- Allegro routes ----------------------------------------------------------------------------
BASE = "/after-sales-service-conditions"


def paging(ctx: Ctx) -> tuple[int, int]:
    limit = int_param(ctx, "limit", default=MAX_PER_PAGE, minimum=1, maximum=MAX_PER_PAGE)
    offset = int_param(ctx, "offset", default=0, minimum=0, maximum=MAX_PER_PAGE - 1)
    return limit, offset


@table.route("GET", f"{BASE}/return-policies", scope="sale:settings:read")
async def list_policies(ctx: Ctx) -> Response:
    limit, offset = paging(ctx)
    page, _ = ctx.store.doc_list(
        kind=KIND, seller_id=ctx.seller_id, descending=False, limit=limit, offset=offset
    )
    return ctx.json({"count": len(page), "returnPolicies": page})


@table.route("POST", f"{BASE}/return-policies", scope="sale:settings:write")
async def post_policy(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    doc = create_policy(ctx.state, seller_id=ctx.seller_id, body=body)
    return ctx.json(doc, status=201)


@table.route("GET", f"{BASE}/return-policies/{{returnPolicyId}}", scope="sale:settings:read")
async def get_policy(ctx: Ctx) -> Response:
    doc, _ = load_policy(ctx)
    return ctx.json(doc)


@table.route("PUT", f"{BASE}/return-policies/{{returnPolicyId}}", scope="sale:settings:write")
async def put_policy(ctx: Ctx) -> Response:
    doc, created = load_policy(ctx)
    body = await ctx.body_object()
    if "isFulfillment" in body and body["isFulfillment"] != doc["isFulfillment"]:
        raise unprocessable("isFulfillment cannot be changed", path="isFulfillment")
    fields = clean_policy(body)
    updated = {
        "id": doc["id"],
        "isFulfillment": doc["isFulfillment"],
        "seller": doc["seller"],
        **fields,
    }
    save_policy(ctx.state, seller_id=ctx.seller_id, doc=updated, created=created)
    return ctx.json(updated)


@table.route("DELETE", f"{BASE}/return-policies/{{returnPolicyId}}", scope="sale:settings:write")
async def delete_policy(ctx: Ctx) -> Response:
    doc, _ = load_policy(ctx)
    used = ctx.store.scalar(
        "SELECT COUNT(*) FROM offers WHERE seller_id = ? AND return_policy_id = ?",
        (ctx.seller_id, doc["id"]),
    )
    if int(used or 0):
        raise ApiError(
            400,
            "RETURN_POLICY_IN_USE",
            f"Return policy {doc['id']} is used by {used} offers and cannot be deleted",
            path="returnPolicyId",
        )
    ctx.store.doc_delete(kind=KIND, id_=doc["id"])
    return ctx.empty(204)


def basic_list(ctx: Ctx, *, kind: str, key: str) -> Response:
    limit, offset = paging(ctx)
    page, _ = ctx.store.doc_list(
        kind=kind, seller_id=ctx.seller_id, descending=False, limit=limit, offset=offset
    )
    return ctx.json({"count": len(page), key: [{"id": d["id"], "name": d["name"]} for d in page]})


def one(ctx: Ctx, *, kind: str, param: str, what: str) -> Response:
    ident = ctx.path_param(param)
    doc = ctx.store.doc_get(kind=kind, id_=ident, seller_id=ctx.seller_id)
    if doc is None:
        raise ApiError(404, "NOT_FOUND", f"{what} {ident} not found", path=param)
    return ctx.json(doc)


@table.route("GET", f"{BASE}/warranties", scope="sale:settings:read")
async def list_warranties(ctx: Ctx) -> Response:
    return basic_list(ctx, kind=WARRANTY_KIND, key="warranties")


@table.route("GET", f"{BASE}/warranties/{{warrantyId}}", scope="sale:settings:read")
async def get_warranty(ctx: Ctx) -> Response:
    return one(ctx, kind=WARRANTY_KIND, param="warrantyId", what="Warranty")


@table.route("GET", f"{BASE}/implied-warranties", scope="sale:settings:read")
async def list_implied_warranties(ctx: Ctx) -> Response:
    return basic_list(ctx, kind=IMPLIED_KIND, key="impliedWarranties")


@table.route("GET", f"{BASE}/implied-warranties/{{impliedWarrantyId}}", scope="sale:settings:read")
async def get_implied_warranty(ctx: Ctx) -> Response:
    return one(ctx, kind=IMPLIED_KIND, param="impliedWarrantyId", what="Implied warranty")
