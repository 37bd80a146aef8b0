"""The model factories build rows the pages can show (for tests where the sync is not the point)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import DisputeFactory, OfferFactory, OrderFactory, RatingFactory

pytestmark = pytest.mark.django_db


def test_an_order_with_lines_totals_them_on_one_account() -> None:
    order = OrderFactory(line_items=3)
    lines = list(order.line_items.all())
    assert len(lines) == 3
    assert {line.account_id for line in lines} == {order.account_id}
    assert order.total_amount == sum((li.price_amount for li in lines), Decimal("0"))


def test_offer_rating_and_dispute_with_messages() -> None:
    offer = OfferFactory(price_amount=Decimal("12.50"))
    assert offer.marketplace_prices == {"allegro-pl": {"amount": "12.50", "currency": "PLN"}}
    assert RatingFactory(account=offer.account).account == offer.account
    dispute = DisputeFactory(account=offer.account, messages=2)
    roles = list(dispute.messages.order_by("created_at").values_list("author_role", flat=True))
    assert roles == ["BUYER", "SELLER"]
    assert dispute.messages_count == 2
