"""The offer-details pass: the EAN from ``GET /sale/product-offers/{offerId}``.

Expected EANs come from ``diff_mirror(offer_details=True)``, which reads every product-offer
document over the simulator's public API, independently of the pass's own parsing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from allegro.transport import tls_context
from sandbox.http import V1
from tests.mirror.conftest import drive
from tests.mirror.equality import diff_mirror

pytestmark = pytest.mark.django_db(transaction=True)

DETAILS_PATH = "GET /sale/product-offers/{offerId}"


@pytest.fixture
def seller_api(sim: Any, linked: Any) -> Iterator[httpx.Client]:
    headers = {
        "Authorization": f"Bearer {sim.token(linked.allegro_user_id)}",
        "Accept": V1,
        "Content-Type": V1,
    }
    with httpx.Client(base_url=sim.url, headers=headers, timeout=30, verify=tls_context()) as api:
        yield api


def details_requests(sim: Any) -> int:
    return int(sim.control("GET", "/stats")["paths"].get(DETAILS_PATH, 0))


def mirrored_eans(account: Any) -> dict[str, str]:
    from offers.models import Offer

    return dict(Offer.objects.filter(account=account).values_list("allegro_id", "ean"))


def test_details_pass_fills_every_ean_and_a_rerun_sends_nothing(linked: Any, sim: Any) -> None:
    from mirror.models import SyncState, SyncStatus
    from offers.models import Offer

    drive(linked, "offers")
    assert set(mirrored_eans(linked).values()) == {""}  # the listing carries no EAN
    before_details = diff_mirror(account=linked, sim=sim, offer_details=True).diffs["offers"]
    assert len(before_details.stale) == 30
    assert {name for fields in before_details.stale.values() for name in fields} == {"ean"}
    sim.control("DELETE", "/stats")

    drive(linked, "offer_details")

    offers = Offer.objects.filter(account=linked)
    assert details_requests(sim) == offers.count() == 30
    offers_diff = diff_mirror(account=linked, sim=sim, offer_details=True).diffs["offers"]
    assert offers_diff.clean, offers_diff
    assert "" not in mirrored_eans(linked).values()
    assert not offers.filter(details_synced_at__isnull=True).exists()
    state = SyncState.objects.get(account=linked, resource="offer_details")
    assert (state.status, state.fetched, state.total) == (SyncStatus.DONE, 30, 30)
    assert state.initial_done
    before = dict(offers.values_list("allegro_id", "details_synced_at"))
    sim.control("DELETE", "/stats")

    drive(linked, "offer_details")  # every offer's details are fresh

    assert details_requests(sim) == 0
    assert dict(offers.values_list("allegro_id", "details_synced_at")) == before


def test_a_changed_offer_gets_its_details_read_again(
    linked: Any, sim: Any, seller_api: httpx.Client
) -> None:
    from offers.models import Offer

    drive(linked, "offers")
    drive(linked, "offer_details")
    listing = seller_api.get("/sale/offers", params={"publication.status": "ACTIVE", "limit": 2})
    changed, untouched = (str(o["id"]) for o in listing.json()["offers"])
    r = seller_api.patch(f"/sale/product-offers/{changed}", json={"name": "Nowy tytuł oferty"})
    assert r.status_code in (200, 202), r.text
    kept = Offer.objects.get(account=linked, allegro_id=untouched).details_synced_at
    first_read = Offer.objects.get(account=linked, allegro_id=changed).details_synced_at
    assert kept is not None
    assert first_read is not None

    drive(linked, "offer_events")  # OFFER_CHANGED: the details are due again

    offer = Offer.objects.get(account=linked, allegro_id=changed)
    assert offer.name == "Nowy tytuł oferty"
    assert offer.details_synced_at is None
    sim.control("DELETE", "/stats")

    drive(linked, "offer_details")

    assert details_requests(sim) == 1
    offer.refresh_from_db()
    assert offer.details_synced_at is not None
    assert offer.details_synced_at > first_read
    offers_diff = diff_mirror(account=linked, sim=sim, offer_details=True).diffs["offers"]
    assert offers_diff.clean, offers_diff
    assert Offer.objects.get(account=linked, allegro_id=untouched).details_synced_at == kept


def test_a_run_reads_at_most_the_batch_and_the_next_run_continues(
    linked: Any, sim: Any, settings: Any
) -> None:
    from mirror.models import SyncState
    from offers.models import Offer

    settings.MIRROR_OFFER_DETAILS_PER_RUN = 12
    drive(linked, "offers")
    offers = Offer.objects.filter(account=linked)
    sim.control("DELETE", "/stats")

    drive(linked, "offer_details")

    assert details_requests(sim) == 12
    assert offers.filter(details_synced_at__isnull=False).count() == 12
    state = SyncState.objects.get(account=linked, resource="offer_details")
    assert (state.fetched, state.total, state.initial_done) == (12, 30, False)

    drive(linked, "offer_details")
    drive(linked, "offer_details")

    assert details_requests(sim) == 30  # 12 + 12 + the remaining 6, none twice
    assert not offers.filter(details_synced_at__isnull=True).exists()
    assert SyncState.objects.get(account=linked, resource="offer_details").initial_done


def test_a_failed_run_keeps_what_it_committed_and_the_next_run_resumes(
    linked: Any, sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from allegro import errors
    from mirror.models import SyncState, SyncStatus
    from mirror.services import sync_run
    from offers import flows
    from offers.models import Offer

    monkeypatch.setattr(flows, "DETAILS_CHUNK", 5)
    drive(linked, "offers")
    offers = Offer.objects.filter(account=linked)
    failing = offers.order_by("id")[12].allegro_id  # in the third chunk of five
    sim.control(
        "PUT",
        "/faults",
        {"error_rate": 1.0, "error_statuses": [503], "paths": [f"/sale/product-offers/{failing}"]},
    )

    with pytest.raises(errors.ServerError):
        sync_run(account=linked, resource="offer_details")

    assert offers.filter(details_synced_at__isnull=False).count() == 10  # two chunks committed
    state = SyncState.objects.get(account=linked, resource="offer_details")
    assert state.status == SyncStatus.FAILED
    assert "ServerError" in state.last_error
    sim.control("DELETE", "/faults")
    sim.control("DELETE", "/stats")

    drive(linked, "offer_details")

    assert details_requests(sim) == 20  # only the offers still lacking details
    assert not offers.filter(details_synced_at__isnull=True).exists()
    offers_diff = diff_mirror(account=linked, sim=sim, offer_details=True).diffs["offers"]
    assert offers_diff.clean, offers_diff


def test_the_details_pass_shares_the_offers_lock(linked: Any, sim: Any) -> None:
    from django.db import connection

    from mirror.locks import lock_key
    from mirror.services import Outcome, sync_run

    drive(linked, "offers")
    key1, key2 = lock_key(account_id=linked.pk, resource="offers")
    params = connection.get_connection_params()
    other = psycopg.connect(  # an offer pass elsewhere holds the offers lock
        dbname=connection.settings_dict["NAME"],
        user=params.get("user"),
        host=params.get("host"),
        port=params.get("port"),
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [key1, key2])
        sim.control("DELETE", "/stats")
        assert sync_run(account=linked, resource="offer_details") == Outcome.LOCKED
        assert details_requests(sim) == 0
    finally:
        other.close()


@pytest.mark.parametrize("status", ["unlinked", "reauth_required"])
def test_the_details_task_skips_accounts_that_cannot_sync(
    linked: Any, sim: Any, status: str
) -> None:
    from mirror.models import SyncRun
    from mirror.tasks import sync_resource

    drive(linked, "offers")
    linked.status = status
    linked.save()
    sim.control("DELETE", "/stats")

    assert sync_resource.apply(args=(linked.pk, "offer_details")).get() == "skipped"

    assert not SyncRun.objects.filter(account=linked, resource="offer_details").exists()
    assert sim.control("GET", "/stats")["paths"] == {}


def test_staff_find_an_offer_by_its_ean(linked: Any, sim: Any, client: Any) -> None:
    from accounts.models import AccountGrant, Role
    from offers.models import Offer
    from tests.factories import UserFactory

    drive(linked, "offers")
    drive(linked, "offer_details")
    offer = Offer.objects.filter(account=linked).order_by("id")[3]
    assert len(offer.ean) == 13
    others = Offer.objects.filter(account=linked).exclude(pk=offer.pk)
    user = UserFactory(email="ewa@example.com", username="ewa")
    AccountGrant.objects.create(user=user, account=linked, role=Role.VIEWER)
    client.force_login(user)

    response = client.get("/offers/", {"q": offer.ean})

    assert response.status_code == 200
    html = response.content.decode()
    assert offer.allegro_id in html
    assert not [o.allegro_id for o in others if o.allegro_id in html]


@pytest.mark.parametrize("chunk", [5, 50])
def test_the_pass_queries_grow_with_chunks_not_offers(
    linked: Any,
    sim: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_max_num_queries: Any,
    chunk: int,
) -> None:
    from offers import flows

    monkeypatch.setattr(flows, "DETAILS_CHUNK", chunk)
    drive(linked, "offers")
    chunks = -(-30 // chunk)
    with django_assert_max_num_queries(30 + 7 * chunks):  # 30 offers: 6 chunks of 5, or 1
        drive(linked, "offer_details")
