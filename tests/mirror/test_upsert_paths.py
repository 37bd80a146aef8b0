"""The set-based page writes (PostgreSQL) and the portable ``bulk_create`` ones (SQLite, or
``MIRROR_SET_BASED_UPSERTS = False``) store the same rows: a first write, a rewrite of changed
documents (an order losing a line and repricing another), and a re-upsert of unchanged ones."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.mirror.equality import SimulatorReader

pytestmark = pytest.mark.django_db(transaction=True)
SEED = {"sellers": 2, "offers": 300, "orders": 120, "seed": 21}
IGNORED = {"id", "account", "account_id", "order", "order_id", "synced_at"}


@pytest.fixture
def accounts(sim: Any, link_account: Any) -> tuple[Any, Any]:
    sim.control("POST", "/reset", {"seed": SEED})
    return link_account("SklepKowalski"), link_account("ElektroMax_PL")


def documents(sim: Any, account: Any) -> tuple[list[Any], list[Any]]:
    from allegro.api.offers import OfferSummary
    from allegro.api.orders import CheckoutForm

    reader = SimulatorReader(sim, account.allegro_user_id)
    try:
        offers = [OfferSummary.parse(d) for d in reader.offers()]
        forms = [CheckoutForm.parse(d) for d in reader.checkout_forms()]
    finally:
        reader.close()
    return offers, forms


def changed(forms: list[Any]) -> list[Any]:
    """Every form with a new revision; multi-line forms lose their last line; all lines repriced."""
    from allegro.api._base import Money

    out = []
    for form in forms:
        lines = form.line_items[:-1] if len(form.line_items) > 1 else form.line_items
        lines = [
            dataclasses.replace(
                li, price=Money(amount=li.price.amount + Decimal("1.00"), currency="PLN")
            )
            for li in lines
        ]
        out.append(dataclasses.replace(form, revision=f"{form.revision}-2", line_items=lines))
    return out


def snapshot(account: Any) -> dict[str, Any]:
    from offers.models import Offer
    from orders.models import Order, OrderLineItem

    def rows(model: Any, key: Any) -> dict[Any, dict[str, Any]]:
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in IGNORED]
        found = model.objects.filter(account=account)
        return {key(o): {n: getattr(o, n) for n in names} for o in found}

    return {
        "offers": rows(Offer, lambda o: o.allegro_id),
        "orders": rows(Order, lambda o: str(o.allegro_id)),
        "lines": rows(OrderLineItem, lambda li: (str(li.order.allegro_id), str(li.allegro_id))),
    }


def write(account: Any, offers: list[Any], forms: list[Any], *, set_based: bool) -> dict[str, Any]:
    from django.db import transaction

    from offers.sync import offers_upsert
    from orders.sync import orders_upsert

    with override_settings(MIRROR_SET_BASED_UPSERTS=set_based), transaction.atomic():
        offers_upsert(account=account, offers=offers, synced_at=timezone.now())
        result = orders_upsert(account=account, forms=forms, synced_at=timezone.now())
    return {"written": sorted(result.written), "unchanged": sorted(result.unchanged)}


def test_set_based_and_portable_writes_store_the_same_rows(
    sim: Any, accounts: tuple[Any, Any]
) -> None:
    fast, portable = accounts
    offers, forms = documents(sim, fast)
    assert len(offers) == 300
    assert len(forms) == 120
    assert any(len(f.line_items) > 1 for f in forms)
    # The same documents into two accounts, one per path.
    steps = [("first", forms), ("changed", changed(forms)), ("unchanged", changed(forms))]
    for step, batch in steps:
        a = write(fast, offers, batch, set_based=True)
        b = write(portable, offers, batch, set_based=False)
        assert a == b, step
        assert snapshot(fast) == snapshot(portable), step
    assert snapshot(fast)["lines"]  # not vacuous
