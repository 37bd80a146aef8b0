"""Incremental paths in isolation: offer-event cursor too old → full resync; ratings by
``lastChangedAt`` with deletions noticed only by the periodic full pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from allegro.transport import tls_context
from sandbox.http import V1
from tests.mirror.conftest import drive
from tests.mirror.equality import diff_mirror

pytestmark = pytest.mark.django_db(transaction=True)


def edit_price(sim: Any, seller: str, *, delta: float) -> str:
    headers = {"Authorization": f"Bearer {sim.token(seller)}", "Accept": V1, "Content-Type": V1}
    with httpx.Client(base_url=sim.url, headers=headers, timeout=30, verify=tls_context()) as api:
        offer = api.get("/sale/offers", params={"publication.status": "ACTIVE", "limit": 1}).json()[
            "offers"
        ][0]
        amount = f"{float(offer['sellingMode']['price']['amount']) + delta:.2f}"
        r = api.patch(
            f"/sale/product-offers/{offer['id']}",
            json={"sellingMode": {"price": {"amount": amount, "currency": "PLN"}}},
        )
        assert r.status_code in (200, 202), r.text
        return str(offer["id"])


def test_offer_event_cursor_past_retention_falls_back_to_full_resync(
    linked: Any, initial_sync: Callable[[], None], sim: Any
) -> None:
    from mirror.models import SyncRun, SyncState
    from offers.models import Offer

    initial_sync()
    seller = linked.allegro_user_id
    first = edit_price(sim, seller, delta=1)
    drive(linked, "offer_events")
    cursor = SyncState.objects.get(account=linked, resource="offer_events").cursor
    assert cursor  # now at the edit's event
    assert Offer.objects.get(account=linked, allegro_id=first).allegro_updated_at is not None
    passes_before = SyncState.objects.get(account=linked, resource="offers").full_pass_at

    sim.control("POST", "/clock", {"advance": 2 * 24 * 3600})  # the event leaves the 24 h window
    edit_price(sim, seller, delta=2)
    drive(linked, "offer_events")

    offers_state = SyncState.objects.get(account=linked, resource="offers")
    assert offers_state.full_pass_at is not None
    assert passes_before is not None
    assert offers_state.full_pass_at > passes_before  # the cursor was refused: full pass
    assert SyncRun.objects.filter(account=linked, resource="offer_events", ok=True).count() == 2
    assert diff_mirror(account=linked, sim=sim).diffs["offers"].clean


def test_ratings_follow_last_changed_and_record_deletions_on_the_full_pass(
    linked: Any, initial_sync: Callable[[], None], sim: Any, settings: Any
) -> None:
    from aftersales.models import Rating, RatingRevision

    initial_sync()
    seller = linked.allegro_user_id
    ratings = Rating.objects.filter(account=linked).order_by("allegro_id")
    edited, doomed = ratings[0], ratings[1]
    sim.control("PATCH", f"/ratings/{edited.allegro_id}", {"comment": "Jednak super"})
    created = sim.control("POST", f"/sellers/{seller}/ratings", {"comment": "Pierwsza ocena"})
    sim.control("DELETE", f"/ratings/{doomed.allegro_id}")

    drive(linked, "ratings")  # incremental: by lastChangedAt

    edited.refresh_from_db()
    assert edited.comment == "Jednak super"
    kinds = list(edited.revisions.order_by("id").values_list("kind", flat=True))
    assert kinds == [RatingRevision.Kind.CREATED, RatingRevision.Kind.EDITED]
    assert Rating.objects.filter(account=linked, allegro_id=created["id"]).exists()
    doomed.refresh_from_db()
    assert doomed.deleted_at is None  # a deletion changes nothing the listing can show

    settings.MIRROR_RATINGS_FULL_PASS_SECONDS = 0
    drive(linked, "ratings")  # the periodic full pass

    doomed.refresh_from_db()
    assert doomed.deleted_at is not None
    assert doomed.revisions.filter(kind=RatingRevision.Kind.DELETED).count() == 1
    report = diff_mirror(account=linked, sim=sim)
    assert report.diffs["ratings"].clean, report.explain()
    assert report.diffs["ratings_deleted"].clean, report.explain()
