"""Compare the mirror with the simulator, field by field, over the simulator's public API.

The expected values are derived here from the API documents, independently of the sync code's
own mapping, for every field the product stores. ``diff_mirror`` returns, per resource, the ids
missing from the mirror, the extra ones, and the stale ones with the fields that differ.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from allegro.transport import tls_context
from sandbox.http import BETA, V1

Doc = dict[str, Any]


@dataclass
class Diff:
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    stale: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.stale)

    def counts(self) -> tuple[int, int, int]:
        return len(self.missing), len(self.extra), len(self.stale)


@dataclass
class Report:
    diffs: dict[str, Diff]

    @property
    def clean(self) -> bool:
        return all(d.clean for d in self.diffs.values())

    def summary(self) -> dict[str, tuple[int, int, int]]:
        return {k: d.counts() for k, d in self.diffs.items()}

    def explain(self) -> str:
        lines = []
        for name, d in self.diffs.items():
            if d.clean:
                continue
            lines.append(f"{name}: missing={d.missing[:5]} extra={d.extra[:5]}")
            for key, fields in list(d.stale.items())[:5]:
                lines.append(f"  stale {key}: {fields}")
        return "\n".join(lines)


def _t(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _m(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _g(doc: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


class SimulatorReader:
    """Reads one seller's data the way Allegro exposes it."""

    def __init__(self, sim: Any, seller_id: str) -> None:
        self.http = httpx.Client(
            base_url=sim.url,
            headers={"Authorization": f"Bearer {sim.token(seller_id)}"},
            timeout=60,
            verify=tls_context(),
        )

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, params: Any = None, media: str = V1) -> httpx.Response:
        return self.http.get(path, params=params, headers={"Accept": media})

    def _paged(
        self, path: str, key: str, limit: int, media: str = V1, **params: Any
    ) -> Iterator[Doc]:
        offset = 0
        while True:
            r = self.get(path, {**params, "offset": offset, "limit": limit}, media)
            r.raise_for_status()
            items = r.json()[key]
            yield from items
            if len(items) < limit:
                return
            offset += limit

    def offers(self) -> list[Doc]:
        return list(self._paged("/sale/offers", "offers", 1000))

    def product_offer(self, offer_id: str) -> Doc:
        r = self.get(f"/sale/product-offers/{offer_id}")
        r.raise_for_status()
        doc: Doc = r.json()
        return doc

    def product_linked_ids(self) -> set[str]:
        linked = self._paged("/sale/offers", "offers", 1000, **{"product.id.empty": "false"})
        return {str(o["id"]) for o in linked}

    def checkout_forms(self) -> list[Doc]:
        return list(self._paged("/order/checkout-forms", "checkoutForms", 100))

    def shipments(self, form_id: str) -> list[Doc]:
        r = self.get(f"/order/checkout-forms/{form_id}/shipments")
        r.raise_for_status()
        items: list[Doc] = r.json()["shipments"]
        return items

    def form_status(self, form_id: str) -> int:
        return self.get(f"/order/checkout-forms/{form_id}").status_code

    def ratings(self) -> list[Doc]:
        return list(self._paged("/sale/user-ratings", "ratings", 100))

    def rating_status(self, rating_id: str) -> int:
        return self.get(f"/sale/user-ratings/{rating_id}").status_code

    def issues(self) -> list[Doc]:
        return list(self._paged("/sale/issues", "issues", 100, BETA))

    def chat(self, issue_id: str) -> list[Doc]:
        return list(self._paged(f"/sale/issues/{issue_id}/chat", "chat", 100, BETA))

    def return_policies(self) -> list[Doc]:
        return list(
            self._paged("/after-sales-service-conditions/return-policies", "returnPolicies", 60)
        )


# --- expected values, from the documents ------------------------------------------------------


def expected_offer(doc: Doc) -> dict[str, Any]:
    prices = {}
    base = _g(doc, "publication.marketplaces.base.id") or "allegro-pl"
    if _g(doc, "sellingMode.price"):
        prices[base] = {
            "amount": _g(doc, "sellingMode.price.amount"),
            "currency": _g(doc, "sellingMode.price.currency"),
        }
    for market, value in (doc.get("additionalMarketplaces") or {}).items():
        if _g(value, "sellingMode.price"):
            prices[market] = {
                "amount": _g(value, "sellingMode.price.amount"),
                "currency": _g(value, "sellingMode.price.currency"),
            }
    return {
        "name": doc["name"],
        "external_id": _s(_g(doc, "external.id")),
        "category_id": _s(_g(doc, "category.id")),
        "primary_image_url": _s(_g(doc, "primaryImage.url")),
        "status": _g(doc, "publication.status"),
        "selling_format": _g(doc, "sellingMode.format"),
        "price_amount": _m(_g(doc, "sellingMode.price.amount")),
        "price_currency": _s(_g(doc, "sellingMode.price.currency")),
        "marketplace_prices": prices,
        "stock_available": _g(doc, "stock.available"),
        "stock_sold": _g(doc, "stock.sold"),
        "starting_at": _t(_g(doc, "publication.startingAt")),
        "started_at": _t(_g(doc, "publication.startedAt")),
        "ending_at": _t(_g(doc, "publication.endingAt")),
        "ended_at": _t(_g(doc, "publication.endedAt")),
        "return_policy_id": _s(_g(doc, "afterSalesServices.returnPolicy.id")),
        "raw": doc,
    }


def expected_order(doc: Doc) -> dict[str, Any]:
    times = [_t(li["boughtAt"]) for li in doc["lineItems"] if li.get("boughtAt")]
    return {
        "buyer_id": _s(_g(doc, "buyer.id")),
        "buyer_login": _s(_g(doc, "buyer.login")),
        "buyer_email": _s(_g(doc, "buyer.email")),
        "buyer_first_name": _s(_g(doc, "buyer.firstName")),
        "buyer_last_name": _s(_g(doc, "buyer.lastName")),
        "buyer_company_name": _s(_g(doc, "buyer.companyName")),
        "delivery_address": _g(doc, "delivery.address") or None,
        "pickup_point": _g(doc, "delivery.pickupPoint") or None,
        "delivery_method_id": _s(_g(doc, "delivery.method.id")),
        "delivery_method_name": _s(_g(doc, "delivery.method.name")),
        "payment_id": _s(_g(doc, "payment.id")),
        "payment_type": _s(_g(doc, "payment.type")),
        "payment_provider": _s(_g(doc, "payment.provider")),
        "paid_amount": _m(_g(doc, "payment.paidAmount.amount")),
        "paid_currency": _s(_g(doc, "payment.paidAmount.currency")),
        "payment_finished_at": _t(_g(doc, "payment.finishedAt")),
        "status": doc["status"],
        "fulfillment_status": _s(_g(doc, "fulfillment.status")),
        "line_items_sent": _s(_g(doc, "fulfillment.shipmentSummary.lineItemsSent")),
        "revision": _s(doc.get("revision")),
        "total_amount": _m(_g(doc, "summary.totalToPay.amount")),
        "currency": _s(_g(doc, "summary.totalToPay.currency")),
        "marketplace": _s(_g(doc, "marketplace.id")),
        "invoice_required": bool(_g(doc, "invoice.required")),
        "message_to_seller": _s(doc.get("messageToSeller")),
        "bought_at": min(times) if times else None,
        "allegro_updated_at": _t(doc.get("updatedAt")),
        "raw": doc,
        "merged_into_id": None,
        "lines": sorted(
            (
                li["id"],
                _s(_g(li, "offer.id")),
                _s(_g(li, "offer.name")),
                int(li["quantity"]),
                _m(_g(li, "price.amount")),
                _s(_g(li, "price.currency")),
                _t(li.get("boughtAt")),
            )
            for li in doc["lineItems"]
        ),
    }


def expected_tracking(items: list[Doc]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            _s(i.get("id")),
            _s(i.get("waybill")),
            _s(i.get("carrierId")),
            _s(i.get("carrierName")),
            [str(li["id"]) for li in i.get("lineItems") or []],
            _t(i.get("createdAt")),
        )
        for i in items
    )


def expected_rating(doc: Doc) -> dict[str, Any]:
    excluded = doc.get("excludedFromAverageRates")
    return {
        "buyer_login": _s(_g(doc, "buyer.login")),
        "recommended": bool(doc["recommended"]),
        "comment": _s(doc.get("comment")),
        "rate_description": _g(doc, "rates.description"),
        "rate_service": _g(doc, "rates.service"),
        "rate_delivery_cost": _g(doc, "rates.deliveryCost"),
        "rate_delivery": _g(doc, "rates.delivery"),
        "checkout_form_id": _s(_g(doc, "order.id")),
        "answer_message": _s(_g(doc, "answer.message")),
        "answer_created_at": _t(_g(doc, "answer.createdAt")),
        "removal_requested_at": _t(_g(doc, "removal.request.createdAt")),
        "removal_message": _s(_g(doc, "removal.request.message")),
        "removal_possible_to": _t(_g(doc, "removal.possibleTo")),
        "excluded_from_average": excluded if isinstance(excluded, bool) else None,
        "created_at": _t(doc.get("createdAt")),
        "edited_at": _t(doc.get("editedAt")),
        "last_changed_at": _t(doc.get("lastChangedAt")),
        "deleted_at": None,
        "raw": doc,
    }


def expected_issue(doc: Doc, chat: list[Doc]) -> dict[str, Any]:
    return {
        "type": _s(doc.get("type")),
        "status": _s(_g(doc, "currentState.status")),
        "subject": _s(doc.get("subject")),
        "buyer_login": _s(_g(doc, "buyer.login")),
        "checkout_form_id": _s(_g(doc, "checkoutForm.id")),
        "opened_at": _t(doc.get("openedDate")),
        "messages_count": _g(doc, "chat.messagesCount"),
        "raw": doc,
        "messages": sorted(
            (
                _s(m["id"]),
                _s(m.get("text")),
                _s(_g(m, "author.login")),
                _s(_g(m, "author.role")),
                _t(m.get("createdAt")),
            )
            for m in chat
        ),
    }


def expected_policy(doc: Doc) -> dict[str, Any]:
    return {
        "name": doc["name"],
        "availability": _s(_g(doc, "availability.range")),
        "withdrawal_period": _s(doc.get("withdrawalPeriod")),
        "return_cost_covered_by": _s(_g(doc, "returnCost.coveredBy")),
        "is_fulfillment": bool(doc.get("isFulfillment")),
        "raw": doc,
    }


def expected_ean(details: Doc) -> str:
    """Parameter "225693" (EAN) of the offer itself, else of a product in its product set."""
    sources = [details.get("parameters") or []] + [
        _g(element, "product.parameters") or [] for element in details.get("productSet") or []
    ]
    for parameters in sources:
        for parameter in parameters:
            if parameter.get("id") == "225693" and parameter.get("values"):
                return str(parameter["values"][0])
    return ""


# --- the comparison ---------------------------------------------------------------------------


def _compare(expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]]) -> Diff:
    diff = Diff()
    diff.missing = sorted(set(expected) - set(actual))
    diff.extra = sorted(set(actual) - set(expected))
    for key in set(expected) & set(actual):
        fields = {
            name: (value, actual[key].get(name))
            for name, value in expected[key].items()
            if actual[key].get(name) != value
        }
        if fields:
            diff.stale[key] = fields
    return diff


def _row(obj: Any, names: list[str]) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names}


def diff_mirror(
    *, account: Any, sim: Any, history_days: int = 365, offer_details: bool = False
) -> Report:
    """``offer_details``: also compare each offer's EAN with its product-offer details (one
    request per offer; for tests that ran the offer-details pass)."""
    from aftersales.models import Dispute, Rating, ReturnPolicy
    from offers.models import Offer
    from orders.models import Order

    reader = SimulatorReader(sim, account.allegro_user_id)
    try:
        diffs: dict[str, Diff] = {}
        # offers
        linked = reader.product_linked_ids()
        exp = {
            str(d["id"]): expected_offer(d) | {"product_linked": str(d["id"]) in linked}
            for d in reader.offers()
        }
        if offer_details:
            for offer_id, expected in exp.items():
                expected["ean"] = expected_ean(reader.product_offer(offer_id))
        names = list(next(iter(exp.values()), {}).keys()) or ["name"]
        act = {o.allegro_id: _row(o, names) for o in Offer.objects.filter(account=account)}
        diffs["offers"] = _compare(exp, act)

        # orders, lines, waybills, merges
        horizon = datetime.now(UTC) - timedelta(days=history_days)
        forms = [d for d in reader.checkout_forms()]
        exp = {}
        for d in forms:
            e = expected_order(d)
            if e["bought_at"] is None or e["bought_at"] >= horizon:
                exp[d["id"]] = e
        live = Order.objects.filter(account=account, merged_into__isnull=True).prefetch_related(
            "line_items", "tracking_numbers"
        )
        names = [n for n in next(iter(exp.values()), {}) if n not in {"lines"}]
        act = {}
        for o in live:
            row = _row(o, [n for n in names if n != "merged_into_id"])
            row["merged_into_id"] = o.merged_into_id
            row["lines"] = sorted(
                (
                    str(li.allegro_id),
                    li.offer_id,
                    li.offer_name,
                    li.quantity,
                    li.price_amount,
                    li.price_currency,
                    li.bought_at,
                )
                for li in o.line_items.all()
            )
            act[str(o.allegro_id)] = row
        diffs["orders"] = _compare(exp, act)
        exp_t = {k: {"waybills": expected_tracking(reader.shipments(k))} for k in exp}
        act_t = {
            str(o.allegro_id): {
                "waybills": sorted(
                    (
                        t.allegro_id,
                        t.waybill,
                        t.carrier_id,
                        t.carrier_name,
                        t.line_items,
                        t.created_at,
                    )
                    for t in o.tracking_numbers.all()
                )
            }
            for o in live
        }
        diffs["tracking"] = _compare(exp_t, {k: v for k, v in act_t.items() if k in exp_t})
        merged = Order.objects.filter(account=account, merged_into__isnull=False)
        bad_merges = Diff()
        for o in merged:
            if reader.form_status(str(o.allegro_id)) != 404:
                bad_merges.extra.append(str(o.allegro_id))
            target = o.merged_into
            if target is None or target.merged_into_id is not None:
                bad_merges.stale[str(o.allegro_id)] = {"merged_into": (None, target)}
        diffs["merged"] = bad_merges

        # ratings: live ones equal; deleted ones really gone
        exp = {str(d["id"]): expected_rating(d) for d in reader.ratings()}
        names = list(next(iter(exp.values()), {}).keys()) or ["comment"]
        act = {
            r.allegro_id: _row(r, names)
            for r in Rating.objects.filter(account=account, deleted_at__isnull=True)
        }
        diffs["ratings"] = _compare(exp, act)
        deleted = Diff()
        for r in Rating.objects.filter(account=account, deleted_at__isnull=False):
            if r.allegro_id in exp or reader.rating_status(r.allegro_id) != 404:
                deleted.extra.append(r.allegro_id)
        diffs["ratings_deleted"] = deleted

        # issues with their chat
        exp = {str(d["id"]): expected_issue(d, reader.chat(str(d["id"]))) for d in reader.issues()}
        names = [n for n in next(iter(exp.values()), {}) if n != "messages"]
        act = {}
        for i in Dispute.objects.filter(account=account).prefetch_related("messages"):
            row = _row(i, names)
            row["messages"] = sorted(
                (m.allegro_id, m.text, m.author_login, m.author_role, m.created_at)
                for m in i.messages.all()
            )
            act[i.allegro_id] = row
        diffs["issues"] = _compare(exp, act)

        # return policies
        exp = {str(d["id"]): expected_policy(d) for d in reader.return_policies()}
        names = list(next(iter(exp.values()), {}).keys()) or ["name"]
        act = {p.allegro_id: _row(p, names) for p in ReturnPolicy.objects.filter(account=account)}
        diffs["return_policies"] = _compare(exp, act)
        return Report(diffs=diffs)
    finally:
        reader.close()


def parse_uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)
