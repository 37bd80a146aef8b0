"""From a dispute, its order and the order's shipments are one click away (links by URL only:
after-sales never imports orders or shipping)."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
from django.urls import reverse

from shipping.models import Shipment, ShipmentPackage, ShipmentStatus
from tests.factories import DisputeFactory, OrderFactory

pytestmark = pytest.mark.django_db(transaction=False)


def _shipment(order: Any, waybill: str) -> Shipment:
    shipment = Shipment.objects.create(
        account=order.account, order=order, status=ShipmentStatus.CREATED, carrier="INPOST"
    )
    ShipmentPackage.objects.create(
        shipment=shipment, length_cm=30, width_cm=20, height_cm=10, weight_kg=1, waybill=waybill
    )
    return shipment


def _href(html: str, testid: str) -> str:
    found = re.search(rf'<a href="([^"]+)" data-testid="{testid}"', html)
    assert found, testid
    return unescape(found.group(1))


def test_dispute_links_to_its_order_and_only_that_orders_shipments(
    client_for: Callable[[Any], Any], alice: Any, account: Any
) -> None:
    order = OrderFactory(account=account)
    other = OrderFactory(account=account)
    mine = _shipment(order, "600000000000000000000001")
    theirs = _shipment(other, "600000000000000000000002")
    dispute = DisputeFactory(account=account, checkout_form_id=str(order.allegro_id))
    client = client_for(alice)
    page = client.get(reverse("aftersales:dispute", args=[dispute.pk])).content.decode()

    orders = client.get(_href(page, "dispute-order")).content.decode()
    assert str(order.allegro_id) in orders
    assert str(other.allegro_id) not in orders

    shipments = client.get(_href(page, "dispute-shipments")).content.decode()
    rows = re.findall(r'data-testid="shipment-row" data-shipment="(\d+)"', shipments)
    assert rows == [str(mine.pk)], (mine.pk, theirs.pk)


def test_shipments_search_by_waybill_and_nonsense(
    client_for: Callable[[Any], Any], alice: Any, account: Any
) -> None:
    first = _shipment(OrderFactory(account=account), "600000000000000000000011")
    _shipment(OrderFactory(account=account), "600000000000000000000012")
    client = client_for(alice)
    url = reverse("shipping:index")
    found = client.get(url, {"tab": "shipments", "q": "600000000000000000000011"})
    rows = re.findall(r'data-testid="shipment-row" data-shipment="(\d+)"', found.content.decode())
    assert rows == [str(first.pk)]
    nothing = client.get(url, {"tab": "shipments", "q": "nie-ma-takiego"})
    assert nothing.status_code == 200
    assert 'data-testid="shipment-row"' not in nothing.content.decode()
