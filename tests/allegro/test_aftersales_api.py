"""After-sales and shipping API modules against the simulator: ratings, issues (beta), return
policies, and Ship with Allegro down to the label bytes."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from allegro import errors
from allegro.api import issues, orders, ratings, return_policies, shipments
from allegro.client import AllegroClient
from allegro.transport import V1
from sandbox.testing import SimulatorProcess
from tests.allegro.conftest import stats
from tests.plugins.simulator import SELLER_ID

pytestmark = pytest.mark.sandbox


@pytest.fixture
def advance(sim: SimulatorProcess) -> Callable[[float], None]:
    """An injectable ``sleep`` that moves the simulator's clock instead of waiting."""

    def sleep(seconds: float) -> None:
        sim.control("POST", "/clock", {"advance": seconds})

    return sleep


# --- ratings ----------------------------------------------------------------------------------


def test_ratings_list_get_and_answer(seller_client: AllegroClient) -> None:
    everything = list(ratings.iter_ratings(seller_client, page_size=3))
    assert everything
    assert len({r.id for r in everything}) == len(everything)
    changed = [r.last_changed_at or r.created_at for r in everything]
    assert changed == sorted(changed, reverse=True)  # newest change first
    target = next(r for r in everything if r.answer is None)
    assert ratings.get_rating(seller_client, rating_id=target.id).id == target.id
    answer = ratings.answer_rating(seller_client, rating_id=target.id, message="Dziękujemy!")
    assert answer.message == "Dziękujemy!"
    assert ratings.get_rating(seller_client, rating_id=target.id).answer == "Dziękujemy!"


def test_rating_removal_request_once(seller_client: AllegroClient, sim: SimulatorProcess) -> None:
    fresh = sim.control(
        "POST", f"/sellers/{SELLER_ID}/ratings", {"recommended": False, "comment": "Nie dotarło"}
    )
    negative = ratings.get_rating(seller_client, rating_id=fresh["id"])
    assert not negative.recommended
    assert negative.removal_possible_to
    removal = ratings.request_rating_removal(
        seller_client, rating_id=negative.id, message="Zamówienie zostało zwrócone."
    )
    assert removal.possible_to
    assert removal.message == "Zamówienie zostało zwrócone."
    with pytest.raises(errors.BadRequest) as again:  # only once per rating
        ratings.request_rating_removal(seller_client, rating_id=negative.id, message="Again")
    assert again.value.errors[0].code == "REMOVAL_ALREADY_REQUESTED"


def test_ratings_filter_by_last_change(seller_client: AllegroClient) -> None:
    everything = ratings.list_ratings(seller_client, limit=100).ratings
    pivot = sorted(r.last_changed_at or r.created_at for r in everything)[len(everything) // 2]
    newer = ratings.list_ratings(seller_client, last_changed_gte=pivot, limit=100).ratings
    assert 0 < len(newer) < len(everything)
    assert all((r.last_changed_at or r.created_at) >= pivot for r in newer)


# --- issues (beta media type) -------------------------------------------------------------------


def test_issues_list_get_chat_and_message(seller_client: AllegroClient) -> None:
    found = list(issues.iter_issues(seller_client, page_size=2))
    assert found
    issue = issues.get_issue(seller_client, issue_id=found[0].id)
    assert issue.id == found[0].id
    assert issue.type in ("DISPUTE", "CLAIM")
    chat = issues.get_issue_chat(seller_client, issue_id=issue.id)
    active = next(i for i in found if i.chat_active)
    posted = issues.post_issue_message(
        seller_client, issue_id=active.id, text="Proszę o zdjęcie uszkodzenia."
    )
    assert posted.text == "Proszę o zdjęcie uszkodzenia."
    assert posted.author_role == "SELLER"
    after = issues.get_issue_chat(seller_client, issue_id=active.id)
    assert posted.id in {m.id for m in after.messages}
    assert chat.messages is not None


def test_message_to_a_closed_issue_is_a_conflict(seller_client: AllegroClient) -> None:
    closed = [i for i in issues.iter_issues(seller_client) if i.chat_active is False]
    assert closed, "the seed has closed issues"
    with pytest.raises(errors.Conflict):
        issues.post_issue_message(seller_client, issue_id=closed[0].id, text="Halo?")


def test_issues_need_the_beta_media_type(seller_client: AllegroClient) -> None:
    with pytest.raises(errors.NotAcceptable):
        seller_client.get("/sale/issues", media=V1)


# --- return policies --------------------------------------------------------------------------


def test_return_policy_crud(seller_client: AllegroClient) -> None:
    policy = return_policies.ReturnPolicyInput(
        name="Zwroty 30 dni",
        availability="FULL",
        withdrawal_period="P30D",
        return_cost_by="SELLER",
        address=return_policies.ReturnAddress(
            name="Magazyn", street="Polna 1", post_code="00-001", city="Warszawa"
        ),
        email="zwroty@example.pl",
    )
    created = return_policies.create_return_policy(seller_client, policy=policy)
    assert (created.name, created.withdrawal_period) == ("Zwroty 30 dni", "P30D")
    fetched = return_policies.get_return_policy(seller_client, policy_id=created.id)
    assert fetched.return_cost_by == "SELLER"
    renamed = return_policies.update_return_policy(
        seller_client,
        policy_id=created.id,
        policy=return_policies.ReturnPolicyInput(
            name="Zwroty 14 dni",
            availability="FULL",
            withdrawal_period="P14D",
            return_cost_by="BUYER",
            address=policy.address,
        ),
    )
    assert (renamed.name, renamed.return_cost_by) == ("Zwroty 14 dni", "BUYER")
    assert created.id in {p.id for p in return_policies.iter_return_policies(seller_client)}
    return_policies.delete_return_policy(seller_client, policy_id=created.id)
    with pytest.raises(errors.NotFound):
        return_policies.get_return_policy(seller_client, policy_id=created.id)


# --- Ship with Allegro --------------------------------------------------------------------------


def ship_order(
    client: AllegroClient, advance: Callable[[float], None], *, order_id: str
) -> shipments.Command:
    proposal = shipments.get_delivery_proposal(client, order_id=order_id)
    assert proposal.suggested_input["packages"]
    command_id = str(uuid.uuid4())
    submitted = shipments.create_shipment(
        client, command_id=command_id, shipment=proposal.suggested_input
    )
    assert submitted.command_id == command_id
    assert submitted.retry_after is not None
    return shipments.wait_for_command(
        lambda: shipments.get_shipment_command(client, command_id=command_id),
        first_wait=submitted.retry_after,
        sleep=advance,
    )


def new_shipments(
    client: AllegroClient, advance: Callable[[float], None], *, count: int = 1
) -> list[shipments.Command]:
    """Ship seeded orders until ``count`` commands succeed; failures must say why."""
    done: list[shipments.Command] = []
    for order in orders.list_checkout_forms(client, limit=40).checkout_forms:
        command = ship_order(client, advance, order_id=order.id)
        assert command.finished
        if command.status == "ERROR":
            assert all(e.code and e.message for e in command.errors), command.errors
            continue
        done.append(command)
        if len(done) == count:
            return done
    pytest.fail(f"only {len(done)} of the seeded orders could be shipped")


def test_shipment_label_and_protocol_as_octet_stream(
    seller_client: AllegroClient, advance: Callable[[float], None], sim: SimulatorProcess
) -> None:
    [done] = new_shipments(seller_client, advance)
    assert done.shipment_id
    shipment = shipments.get_shipment(seller_client, shipment_id=done.shipment_id)
    assert shipment.waybills
    label = shipments.get_label(seller_client, shipment_ids=[shipment.id], page_size="A6")
    assert label.available
    assert label.is_pdf
    protocol = shipments.get_protocol(seller_client, shipment_ids=[shipment.id])
    if protocol.available:
        assert protocol.content
    # The mistake peers made: asking for the label with Accept: v1.
    with pytest.raises(errors.NotAcceptable):
        seller_client.request(
            "POST", "/shipment-management/label", json={"shipmentIds": [shipment.id]}
        )
    assert stats(sim)["statuses"].get("406") == 1


def test_pickup_for_a_shipment(
    seller_client: AllegroClient, advance: Callable[[float], None]
) -> None:
    address = shipments.PickupAddress(
        name="Magazyn",
        street="Polna 1",
        postal_code="00-001",
        city="Warszawa",
        email="magazyn@example.pl",
        phone="500600700",
    )
    for done in new_shipments(seller_client, advance, count=5):
        assert done.shipment_id
        proposals = shipments.get_pickup_proposals(
            seller_client, shipment_ids=[done.shipment_id], address=address
        )
        if proposals.slots:
            break
    else:
        pytest.fail("no shipment of the seed offers a pickup")
    slot = proposals.slots[0]
    command_id = str(uuid.uuid4())
    submitted = shipments.create_pickup(
        seller_client,
        command_id=command_id,
        shipment_ids=[done.shipment_id],
        address=address,
        proposal_id=str(proposals.proposal_items[0]["id"]),
        slot=slot,
    )
    finished = shipments.wait_for_command(
        lambda: shipments.get_pickup_command(seller_client, command_id=command_id),
        first_wait=submitted.retry_after,
        sleep=advance,
    )
    assert finished.status == "SUCCESS", finished.errors
    assert finished.pickup_id
    pickup = shipments.get_pickup(seller_client, pickup_id=finished.pickup_id)
    assert pickup.shipment_ids == [done.shipment_id]


def test_cancel_a_shipment(seller_client: AllegroClient, advance: Callable[[float], None]) -> None:
    [done] = new_shipments(seller_client, advance)
    assert done.shipment_id
    command_id = str(uuid.uuid4())
    submitted = shipments.cancel_shipment(
        seller_client, command_id=command_id, shipment_id=done.shipment_id
    )
    finished = shipments.wait_for_command(
        lambda: shipments.get_cancel_command(seller_client, command_id=command_id),
        first_wait=submitted.retry_after,
        sleep=advance,
    )
    assert finished.status == "SUCCESS", finished.errors
    assert shipments.get_shipment(seller_client, shipment_id=done.shipment_id).canceled_date


def test_deprecated_delivery_services_still_answer(seller_client: AllegroClient) -> None:
    services = shipments.list_delivery_services(seller_client).services
    assert services
    assert all("id" in s and "name" in s for s in services)


def test_issues_filtered_by_order(seller_client: AllegroClient) -> None:
    some = next(i for i in issues.iter_issues(seller_client) if i.checkout_form_id)
    assert some.checkout_form_id is not None
    found = issues.list_issues(seller_client, checkout_form_id=some.checkout_form_id).issues
    assert some.id in {i.id for i in found}
    assert {i.checkout_form_id for i in found} == {some.checkout_form_id}
