"""An order line links to its offer by Allegro's offer id: ``offers:by_id`` redirects to the
mirrored offer's page for a user who sees the account, and answers 404 otherwise."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from offers.models import Offer
from orders.models import Order, OrderLineItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def sold(account: Any) -> dict[str, Any]:
    now = timezone.now()
    offer = Offer.objects.create(
        account=account, allegro_id="7700001", name="Kubek", status="ACTIVE", synced_at=now
    )
    order = Order.objects.create(
        account=account, allegro_id=uuid.uuid4(), buyer_login="kupiec", synced_at=now
    )
    OrderLineItem.objects.create(
        account=account,
        order=order,
        allegro_id=uuid.uuid4(),
        offer_id=offer.allegro_id,
        offer_name=offer.name,
        quantity=1,
        price_amount=Decimal("10.00"),
        price_currency="PLN",
    )
    return {"offer": offer, "order": order}


def test_order_line_links_through_by_id_to_the_offer(
    client_for: Any, alice: Any, account: Any, sold: dict[str, Any]
) -> None:
    client = client_for(alice)
    link = reverse("offers:by_id", args=[account.pk, sold["offer"].allegro_id])
    page = client.get(reverse("orders:detail", args=[sold["order"].pk])).content.decode()
    assert f'href="{link}"' in page
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"] == reverse("offers:detail", args=[sold["offer"].pk])


def test_by_id_is_404_for_an_unknown_offer_or_an_account_not_granted(
    client_for: Any, alice: Any, bob: Any, account: Any, sold: dict[str, Any]
) -> None:
    unknown = reverse("offers:by_id", args=[account.pk, "999"])
    assert client_for(alice).get(unknown).status_code == 404
    granted_elsewhere = client_for(bob)
    link = reverse("offers:by_id", args=[account.pk, sold["offer"].allegro_id])
    assert granted_elsewhere.get(link).status_code == 404
