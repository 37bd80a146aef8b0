"""Ship with Allegro: proposals, create/cancel commands, shipments, labels, protocols, pickups."""

from __future__ import annotations

import re
import subprocess
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.data import DELIVERY_METHODS
from sandbox.http import OCTET
from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import api_client, errors_of

pytestmark = pytest.mark.sandbox

SWA = "/shipment-management"
KIND_OF = {m[0]: m[3] for m in DELIVERY_METHODS if m[2] != "OTHER"}  # personal pickup: no SwA
CARRIER_OF = {m[0]: m[2] for m in DELIVERY_METHODS}


# -- helpers -----------------------------------------------------------------------------------
def order_with(api: httpx.Client, kind: str, *, skip: int = 0) -> dict[str, Any]:
    forms = api.get(
        "/order/checkout-forms", params={"status": "READY_FOR_PROCESSING", "limit": 100}
    ).json()["checkoutForms"]
    matching = [f for f in forms if KIND_OF.get(f["delivery"]["method"]["id"]) == kind]
    assert len(matching) > skip, f"the seed has no paid {kind} order"
    order: dict[str, Any] = matching[skip]
    return order


def proposal(api: httpx.Client, order_id: str) -> dict[str, Any]:
    response = api.get(f"{SWA}/delivery-proposals/{order_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def post_command(api: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    return api.post(f"{SWA}/{path}", json=body)


def create(api: httpx.Client, shipment: dict[str, Any], command_id: str | None = None) -> str:
    body: dict[str, Any] = {"input": shipment}
    if command_id:
        body["commandId"] = command_id
    response = post_command(api, "shipments/create-commands", body)
    assert response.status_code == 200, response.text
    assert int(response.headers["Retry-After"]) >= 1
    echo = response.json()
    assert echo["input"] == shipment
    created_id: str = echo["commandId"]
    return created_id


def status(api: httpx.Client, path: str, command_id: str) -> dict[str, Any]:
    response = api.get(f"{SWA}/{path}/{command_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ship(api: httpx.Client, order: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Create a shipment for ``order`` from its proposal; returns the shipment."""
    shipment = {**proposal(api, order["id"])["suggestedInput"], **changes}
    result = status(api, "shipments/create-commands", create(api, shipment))
    assert result["status"] == "SUCCESS", result
    detail: dict[str, Any] = api.get(f"{SWA}/shipments/{result['shipmentId']}").json()
    return detail


def binary(api: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    return api.post(f"{SWA}/{path}", json=body, headers={"Accept": OCTET})


def pdf_text(data: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return result.stdout.decode()


def pdf_page_sizes(data: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / f"{uuid.uuid4()}.pdf"
    path.write_bytes(data)
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "99", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return re.findall(r"Page\s+\d+ size:\s+(\S+ x \S+) pts", info)


def next_working_day(today: date) -> date:
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


# -- delivery services and proposals -----------------------------------------------------------
def test_delivery_services(api: httpx.Client) -> None:
    response = api.get(f"{SWA}/delivery-services")
    assert response.status_code == 200
    services = response.json()["services"]
    assert {s["carrierId"] for s in services} >= {"INPOST", "DPD"}
    assert all(s["owner"] == "ALLEGRO" for s in services)
    method_ids = {s["id"]["deliveryMethodId"] for s in services}
    assert method_ids <= set(KIND_OF)


def test_proposal_is_prefilled_from_the_order(api: httpx.Client) -> None:
    order = order_with(api, "APM")
    body = proposal(api, order["id"])
    suggested = body["suggestedInput"]
    receiver = suggested["receiver"]
    address = order["delivery"]["address"]
    assert body["orderId"] == order["id"]
    assert receiver["email"] == order["buyer"]["email"]
    assert receiver["email"].endswith("@allegromail.pl")
    assert receiver["name"] == f"{address['firstName']} {address['lastName']}"
    assert (receiver["street"], receiver["postalCode"], receiver["city"]) == (
        address["street"],
        address["zipCode"],
        address["city"],
    )
    assert receiver["point"] == order["delivery"]["pickupPoint"]["id"]
    assert suggested["deliveryMethodId"] == order["delivery"]["method"]["id"]
    assert suggested["sender"]["company"] == "Sklep Kowalski Sp. z o.o."
    assert [o["deliveryType"] for o in body["deliveryOptions"]] == ["APM"]
    door = proposal(api, order_with(api, "DOOR")["id"])
    assert "point" not in door["suggestedInput"]["receiver"]
    assert {o["paymentType"] for o in door["deliveryOptions"]} == {"PREPAID", "POSTPAID"}


# The spec declares no 404 for delivery proposals; an unknown order cannot answer anything else.
@pytest.mark.allow_spec_violations
def test_proposal_for_unknown_order_is_404(api: httpx.Client, sim: SimulatorProcess) -> None:
    assert api.get(f"{SWA}/delivery-proposals/{uuid.uuid4()}").status_code == 404
    foreign = order_with(api, "APM")
    with api_client(sim, sim.token("10000002")) as other:
        assert other.get(f"{SWA}/delivery-proposals/{foreign['id']}").status_code == 404


# -- create commands and shipments -------------------------------------------------------------
def test_create_ships_and_puts_the_waybill_on_the_order(api: httpx.Client) -> None:
    order = order_with(api, "DOOR")
    shipment = ship(api, order)
    package = shipment["packages"][0]
    carrier = CARRIER_OF[order["delivery"]["method"]["id"]]
    assert shipment["carrier"] == carrier
    assert shipment["labelFormat"] == "PDF"
    assert shipment["createdDate"]
    assert "canceledDate" not in shipment
    assert shipment["pickupAvailable"] is True
    assert package["transportingInfo"] == [
        {"carrierId": carrier, "carrierWaybill": package["waybill"]}
    ]
    tracking = api.get(f"/order/checkout-forms/{order['id']}/shipments").json()["shipments"]
    assert [(t["waybill"], t["carrierId"]) for t in tracking] == [(package["waybill"], carrier)]
    after = api.get(f"/order/checkout-forms/{order['id']}").json()
    assert after["fulfillment"]["shipmentSummary"]["lineItemsSent"] == "ALL"
    assert after["revision"] != order["revision"]


def test_command_stays_in_progress_for_the_configured_delay(
    api: httpx.Client, sim: SimulatorProcess
) -> None:
    sim.control("PUT", "/settings", {"command_delay": 30})
    order = order_with(api, "APM")
    command_id = create(api, proposal(api, order["id"])["suggestedInput"], str(uuid.uuid4()))
    assert status(api, "shipments/create-commands", command_id) == {
        "commandId": command_id,
        "status": "IN_PROGRESS",
    }
    assert api.get(f"/order/checkout-forms/{order['id']}/shipments").json()["shipments"] == []
    sim.control("POST", "/clock", {"advance": 31})
    done = status(api, "shipments/create-commands", command_id)
    assert done["status"] == "SUCCESS"
    assert status(api, "shipments/create-commands", command_id) == done  # settled once
    assert len(api.get(f"/order/checkout-forms/{order['id']}/shipments").json()["shipments"]) == 1


def test_retry_with_the_same_command_id_is_idempotent(api: httpx.Client) -> None:
    order = order_with(api, "APM")
    shipment = proposal(api, order["id"])["suggestedInput"]
    command_id = str(uuid.uuid4())
    assert create(api, shipment, command_id) == command_id
    assert create(api, shipment, command_id) == command_id
    first = status(api, "shipments/create-commands", command_id)
    other = {**shipment, "referenceNumber": "ZMIANA"}
    reused = post_command(
        api, "shipments/create-commands", {"commandId": command_id, "input": other}
    )
    assert reused.status_code == 400
    assert errors_of(reused)[0]["code"] == "COMMAND_ALREADY_EXISTS"
    assert status(api, "shipments/create-commands", command_id) == first


def test_fault_flag_ends_commands_in_error(api: httpx.Client, sim: SimulatorProcess) -> None:
    sim.control("PUT", "/faults", {"shipment_error_rate": 1.0})
    order = order_with(api, "DOOR")
    result = status(
        api, "shipments/create-commands", create(api, proposal(api, order["id"])["suggestedInput"])
    )
    assert result["status"] == "ERROR"
    error = result["errors"][0]
    assert error["code"] == "CARRIER_UNAVAILABLE"
    assert isinstance(error["details"], str)
    assert error["userMessage"].startswith("Przewoźnik")  # SwA speaks Polish by default
    assert "shipmentId" not in result
    assert api.get(f"/order/checkout-forms/{order['id']}/shipments").json()["shipments"] == []


@pytest.mark.parametrize(
    ("kind", "change", "code", "path"),
    [
        ("DOOR", {"receiver": "email=jan@example.pl"}, "INVALID_RECEIVER_EMAIL", "receiver.email"),
        ("DOOR", {"receiver": "email=nikt+1@allegromail.pl"}, "ORDER_NOT_FOUND", "receiver.email"),
        ("APM", {"weight": 30}, "PACKAGE_TOO_HEAVY", "packages[0].weight"),
        ("APM", {"length": 100}, "PACKAGE_TOO_BIG", "packages[0]"),
        ("APM", {"receiver": "point="}, "POINT_REQUIRED", "receiver.point"),
    ],
)
def test_rejected_input_ends_in_error(
    api: httpx.Client, kind: str, change: dict[str, Any], code: str, path: str
) -> None:
    shipment = proposal(api, order_with(api, kind)["id"])["suggestedInput"]
    if "receiver" in change:
        key, _, value = change["receiver"].partition("=")
        if value:
            shipment["receiver"][key] = value
        else:
            shipment["receiver"].pop(key)
    package = shipment["packages"][0]
    if "weight" in change:
        package["weight"]["value"] = change["weight"]
    if "length" in change:
        package["length"]["value"] = change["length"]
    result = status(api, "shipments/create-commands", create(api, shipment))
    assert result["status"] == "ERROR"
    assert (result["errors"][0]["code"], result["errors"][0]["path"]) == (code, path)


@pytest.mark.allow_spec_violations
@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "input"),
        ({"commandId": "not-a-uuid", "input": {}}, "commandId"),
        ({"input": {"receiver": {}, "packages": []}}, "input.sender"),
    ],
)
def test_malformed_commands_are_400(api: httpx.Client, body: dict[str, Any], path: str) -> None:
    response = post_command(api, "shipments/create-commands", body)
    assert response.status_code == 400
    error = errors_of(response)[0]
    assert error["path"] == path
    assert isinstance(error["details"], str)


def test_schema_valid_but_incomplete_packages_are_400(api: httpx.Client) -> None:
    shipment = proposal(api, order_with(api, "APM")["id"])["suggestedInput"]
    shipment["packages"][0]["weight"]["value"] = 0
    response = post_command(api, "shipments/create-commands", {"input": shipment})
    assert response.status_code == 400
    assert errors_of(response)[0]["path"] == "input.packages[0].weight.value"


def test_unknown_command_and_shipment_are_404(api: httpx.Client, sim: SimulatorProcess) -> None:
    assert api.get(f"{SWA}/shipments/create-commands/{uuid.uuid4()}").status_code == 404
    assert api.get(f"{SWA}/shipments/{uuid.uuid4()}").status_code == 404
    shipment = ship(api, order_with(api, "APM"))
    with api_client(sim, sim.token("10000002")) as other:
        assert other.get(f"{SWA}/shipments/{shipment['id']}").status_code == 404


# -- labels and protocols ----------------------------------------------------------------------
def test_pdf_labels_in_a4_and_a6(api: httpx.Client, tmp_path: Path) -> None:
    first = ship(api, order_with(api, "DOOR"))
    second = ship(api, order_with(api, "DOOR", skip=1))
    ids = [first["id"], second["id"]]
    waybills = [first["packages"][0]["waybill"], second["packages"][0]["waybill"]]
    a4 = binary(api, "label", {"shipmentIds": ids, "pageSize": "A4", "cutLine": True})
    assert a4.status_code == 200
    assert a4.headers["content-type"].startswith(OCTET)
    assert a4.content.startswith(b"%PDF-")
    assert pdf_page_sizes(a4.content, tmp_path) == ["595 x 842"]
    text = pdf_text(a4.content)
    assert all(w in text for w in waybills)
    a6 = binary(api, "label", {"shipmentIds": ids, "pageSize": "A6"})
    assert pdf_page_sizes(a6.content, tmp_path) == ["298 x 420", "298 x 420"]
    assert all(w in pdf_text(a6.content) for w in waybills)
    default = binary(api, "label", {"shipmentIds": [first["id"]]})
    assert pdf_page_sizes(default.content, tmp_path) == ["595 x 842"]


def test_label_with_summary_report(api: httpx.Client, tmp_path: Path) -> None:
    order = order_with(api, "DOOR")
    shipment = ship(api, order)
    response = binary(
        api,
        "label",
        {
            "shipmentIds": [shipment["id"]],
            "pageSize": "A6",
            "summaryReport": {"placement": "LAST", "fields": ["ORDER_ID", "BUYER_LOGIN"]},
        },
    )
    assert response.status_code == 200
    assert len(pdf_page_sizes(response.content, tmp_path)) == 2
    text = pdf_text(response.content)
    assert f"ORDER_ID: {order['id']}" in text
    assert order["buyer"]["login"] in text


def test_zpl_label(api: httpx.Client) -> None:
    shipment = ship(api, order_with(api, "APM"), labelFormat="ZPL")
    assert shipment["labelFormat"] == "ZPL"
    response = binary(api, "label", {"shipmentIds": [shipment["id"]], "pageSize": "A6"})
    assert response.status_code == 200
    assert response.content.startswith(b"^XA")
    assert response.content.rstrip().endswith(b"^XZ")
    assert shipment["packages"][0]["waybill"].encode() in response.content
    pdf = ship(api, order_with(api, "APM", skip=1))
    mixed = binary(api, "label", {"shipmentIds": [shipment["id"], pdf["id"]]})
    assert mixed.status_code == 400
    assert errors_of(mixed)[0]["code"] == "LABEL_FORMAT_MISMATCH"


def test_label_errors(api: httpx.Client) -> None:
    missing = binary(api, "label", {"shipmentIds": [str(uuid.uuid4())]})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/vnd.allegro.public.v1+json")
    assert api.post(f"{SWA}/label", json={"shipmentIds": ["x"]}).status_code == 406


@pytest.mark.allow_spec_violations
def test_label_rejects_bad_bodies(api: httpx.Client) -> None:
    assert binary(api, "label", {"shipmentIds": []}).status_code == 400
    assert binary(api, "label", {"shipmentIds": ["a"], "pageSize": "A5"}).status_code == 400


def test_protocol_lists_the_waybills(api: httpx.Client, tmp_path: Path) -> None:
    shipments = [ship(api, order_with(api, "DOOR", skip=i)) for i in range(2)]
    response = binary(api, "protocol", {"shipmentIds": [s["id"] for s in shipments]})
    assert response.status_code == 200
    assert pdf_page_sizes(response.content, tmp_path) == ["595 x 842"]
    text = pdf_text(response.content)
    assert all(s["packages"][0]["waybill"] in text for s in shipments)
    assert "Protokol nadania" in text


# -- cancellation ------------------------------------------------------------------------------
def test_cancel_sets_canceled_date_and_removes_the_waybill(api: httpx.Client) -> None:
    order = order_with(api, "DOOR")
    shipment = ship(api, order)
    response = post_command(
        api, "shipments/cancel-commands", {"input": {"shipmentId": shipment["id"]}}
    )
    assert response.status_code == 200
    assert int(response.headers["Retry-After"]) >= 1
    command_id = response.json()["commandId"]
    done = api.get(f"{SWA}/shipments/cancel-commands/{command_id}")
    assert done.headers["Retry-After"]
    assert done.json() == {
        "commandId": command_id,
        "status": "SUCCESS",
        "shipmentId": shipment["id"],
    }
    canceled = api.get(f"{SWA}/shipments/{shipment['id']}").json()
    assert canceled["canceledDate"] >= canceled["createdDate"]
    assert api.get(f"/order/checkout-forms/{order['id']}/shipments").json()["shipments"] == []
    assert binary(api, "label", {"shipmentIds": [shipment["id"]]}).status_code == 204
    assert binary(api, "protocol", {"shipmentIds": [shipment["id"]]}).status_code == 204
    again = post_command(
        api, "shipments/cancel-commands", {"input": {"shipmentId": shipment["id"]}}
    )
    result = status(api, "shipments/cancel-commands", again.json()["commandId"])
    assert result["status"] == "ERROR"
    assert result["errors"][0]["code"] == "ALREADY_CANCELED"


def test_cancel_unknown_shipment_ends_in_error(api: httpx.Client) -> None:
    response = post_command(api, "shipments/cancel-commands", {"input": {"shipmentId": "nope"}})
    result = status(api, "shipments/cancel-commands", response.json()["commandId"])
    assert result["status"] == "ERROR"
    assert api.get(f"{SWA}/shipments/cancel-commands/{uuid.uuid4()}").status_code == 404


# -- pickups -----------------------------------------------------------------------------------
def pickup_address(api: httpx.Client, order_id: str) -> dict[str, Any]:
    sender: dict[str, Any] = proposal(api, order_id)["suggestedInput"]["sender"]
    return sender


def test_pickup_proposals_then_pickup(api: httpx.Client, sim: SimulatorProcess) -> None:
    order = order_with(api, "DOOR")
    courier = ship(api, order)
    locker = ship(api, order_with(api, "APM"))
    address = pickup_address(api, order["id"])
    response = api.post(
        f"{SWA}/pickup-proposals",
        json={"shipmentIds": [courier["id"], locker["id"]], "address": address},
    )
    assert response.status_code == 200, response.text
    proposals = {p["shipmentId"]: p for p in response.json()[0]["proposals"]}
    assert proposals[locker["id"]]["pickupTimes"] == []
    times = proposals[courier["id"]]["pickupTimes"]
    assert times
    assert all(date.fromisoformat(t["date"]).weekday() < 5 for t in times)
    slot = times[0]
    command = post_command(
        api,
        "pickups/create-commands",
        {"input": {"shipmentIds": [courier["id"]], "pickupTime": slot, "address": address}},
    )
    assert command.status_code == 200, command.text
    assert int(command.headers["Retry-After"]) >= 1
    result = status(api, "pickups/create-commands", command.json()["commandId"])
    assert result["status"] == "SUCCESS", result
    assert result["carrierPickupId"]
    pickup = api.get(f"{SWA}/pickups/{result['pickupId']}").json()
    assert pickup["shipmentIds"] == [courier["id"]]
    assert pickup["waybills"] == [courier["packages"][0]["waybill"]]
    assert pickup["carrier"] == courier["carrier"]
    assert pickup["address"] == address
    twice = post_command(
        api,
        "pickups/create-commands",
        {"input": {"shipmentIds": [courier["id"]], "pickupTime": slot, "address": address}},
    )
    assert status(api, "pickups/create-commands", twice.json()["commandId"])["status"] == "ERROR"


def test_pickup_with_the_deprecated_proposal_id(api: httpx.Client) -> None:
    order = order_with(api, "DOOR")
    courier = ship(api, order)
    address = pickup_address(api, order["id"])
    proposals = api.post(
        f"{SWA}/pickup-proposals", json={"shipmentIds": [courier["id"]], "address": address}
    ).json()[0]["proposals"]
    item = proposals[0]["proposalItems"][0]
    command = post_command(
        api,
        "pickups/create-commands",
        {
            "input": {
                "shipmentIds": [courier["id"]],
                "pickupDateProposalId": item["id"],
                "address": address,
            }
        },
    )
    assert (
        status(api, "pickups/create-commands", command.json()["commandId"])["status"] == "SUCCESS"
    )


@pytest.mark.parametrize("case", ["locker", "past", "weekend"])
def test_pickup_rejections_end_in_error(
    api: httpx.Client, sim: SimulatorProcess, case: str
) -> None:
    today = date.fromisoformat(sim.control("GET", "/clock")["now"][:10])
    order = order_with(api, "APM" if case == "locker" else "DOOR")
    shipment = ship(api, order)
    day = next_working_day(today)
    if case == "past":
        day = today - timedelta(days=7)
    if case == "weekend":
        day = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    command = post_command(
        api,
        "pickups/create-commands",
        {
            "input": {
                "shipmentIds": [shipment["id"]],
                "pickupTime": {"date": day.isoformat(), "minTime": "09:00", "maxTime": "12:00"},
                "address": pickup_address(api, order["id"]),
            }
        },
    )
    result = status(api, "pickups/create-commands", command.json()["commandId"])
    assert result["status"] == "ERROR"
    expected = "PICKUP_NOT_AVAILABLE" if case == "locker" else "INVALID_PICKUP_TIME"
    assert expected in {e["code"] for e in result["errors"]}


def test_pickup_errors(api: httpx.Client) -> None:
    order = order_with(api, "DOOR")
    address = pickup_address(api, order["id"])
    unknown = api.post(
        f"{SWA}/pickup-proposals", json={"shipmentIds": ["nope"], "address": address}
    )
    assert unknown.status_code == 400
    assert api.get(f"{SWA}/pickups/{uuid.uuid4()}").status_code == 404
    assert api.get(f"{SWA}/pickups/create-commands/{uuid.uuid4()}").status_code == 404


@pytest.mark.allow_spec_violations
def test_pickup_bodies_missing_fields_are_400(api: httpx.Client) -> None:
    assert api.post(f"{SWA}/pickup-proposals", json={"shipmentIds": ["a"]}).status_code == 400
    no_time = post_command(
        api, "pickups/create-commands", {"input": {"shipmentIds": ["a"], "address": {}}}
    )
    assert no_time.status_code == 400


def test_scopes(sim: SimulatorProcess) -> None:
    read_only = sim.token("10000001", scopes=["allegro:api:shipments:read"])
    with api_client(sim, read_only) as client:
        denied = client.get(f"{SWA}/delivery-services")
        body = {"input": {"shipmentId": "x"}}
        denied_post = client.post(f"{SWA}/shipments/cancel-commands", json=body)
        assert client.get(f"{SWA}/shipments/{uuid.uuid4()}").status_code == 404
    for response in (denied, denied_post):
        assert response.status_code == 403
        # SwA's Error403 has a non-nullable ``details`` (other APIs' Error allows null)
        for error in errors_of(response):
            assert error["code"] == "AccessDenied"
            assert isinstance(error["details"], str)
            assert error["details"]


def test_framework_errors_on_swa_routes_carry_details(api: httpx.Client) -> None:
    wrong_accept = api.get(f"{SWA}/delivery-services", headers={"Accept": "application/json"})
    assert wrong_accept.status_code == 406
    wrong_type = api.post(
        f"{SWA}/shipments/create-commands",
        content=b"{}",
        headers={"Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 415
    for response in (wrong_accept, wrong_type):
        for error in errors_of(response):
            assert isinstance(error["details"], str)
            assert error["details"]


def test_order_cancelled_while_in_progress_ends_in_error(
    api: httpx.Client, sim: SimulatorProcess
) -> None:
    sim.control("PUT", "/settings", {"command_delay": 30})
    order = order_with(api, "DOOR")
    command_id = create(api, proposal(api, order["id"])["suggestedInput"])
    sim.control("POST", f"/orders/{order['id']}/cancellation")
    sim.control("POST", "/clock", {"advance": 31})
    result = status(api, "shipments/create-commands", command_id)
    assert result["status"] == "ERROR"
    assert result["errors"][0]["code"] == "ORDER_CANCELLED"


def test_two_pickups_racing_for_one_shipment(api: httpx.Client, sim: SimulatorProcess) -> None:
    order = order_with(api, "DOOR")
    courier = ship(api, order)
    sim.control("PUT", "/settings", {"command_delay": 30})
    today = date.fromisoformat(sim.control("GET", "/clock")["now"][:10])
    body = {
        "input": {
            "shipmentIds": [courier["id"]],
            "pickupTime": {"date": next_working_day(today).isoformat()},
            "address": pickup_address(api, order["id"]),
        }
    }
    first = post_command(api, "pickups/create-commands", body).json()["commandId"]
    second = post_command(api, "pickups/create-commands", body).json()["commandId"]
    assert status(api, "pickups/create-commands", first)["status"] == "IN_PROGRESS"
    sim.control("POST", "/clock", {"advance": 31})
    assert status(api, "pickups/create-commands", first)["status"] == "SUCCESS"
    lost = status(api, "pickups/create-commands", second)
    assert lost["status"] == "ERROR"
    assert lost["errors"][0]["code"] == "PICKUP_ALREADY_ORDERED"


def test_no_token_is_401(sim: SimulatorProcess) -> None:
    response = httpx.get(
        f"{sim.url}{SWA}/delivery-services",
        headers={"Accept": "application/vnd.allegro.public.v1+json"},
    )
    assert response.status_code == 401


def test_english_user_messages_on_request(api: httpx.Client, sim: SimulatorProcess) -> None:
    sim.control("PUT", "/faults", {"shipment_error_rate": 1.0})
    order = order_with(api, "DOOR")
    command_id = create(api, proposal(api, order["id"])["suggestedInput"])
    english = {"Accept-Language": "en-US"}
    result = api.get(f"{SWA}/shipments/create-commands/{command_id}", headers=english).json()
    error = result["errors"][0]
    assert error["userMessage"] == error["message"]
    missing = api.get(f"{SWA}/shipments/{uuid.uuid4()}", headers=english)
    assert errors_of(missing)[0]["userMessage"] == errors_of(missing)[0]["message"]
    polish = api.get(f"{SWA}/shipments/{uuid.uuid4()}")
    assert errors_of(polish)[0]["userMessage"] == "Nie znaleziono zasobu."
