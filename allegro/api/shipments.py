"""Ship with Allegro (``/shipment-management``): proposals, create/cancel commands, labels,
protocols and pickups. Commands answer 200 + ``Retry-After`` and are polled by ``commandId``
(client-generated, so re-sending a command after a dropped connection is safe)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from allegro.api._base import JsonDict, Traced, body, items, opt_str
from allegro.client import AllegroClient
from allegro.errors import ApiError
from allegro.transport import OCTET_STREAM, V1, ApiResponse

BASE = "/shipment-management"
DEFAULT_COMMAND_WAIT = 1.0
CommandStatus = Literal["IN_PROGRESS", "SUCCESS", "ERROR"]


@dataclass(frozen=True, kw_only=True)
class DeliveryProposal(Traced):
    order_id: str | None
    suggested_input: JsonDict  # a prefilled ``ShipmentCreateRequestDto``
    delivery_options: list[JsonDict]


def get_delivery_proposal(client: AllegroClient, *, order_id: str) -> DeliveryProposal:
    response = client.get(f"{BASE}/delivery-proposals/{order_id}")
    data = body(response)
    suggested = data.get("suggestedInput")
    return DeliveryProposal(
        order_id=opt_str(data.get("orderId")),
        suggested_input=suggested if isinstance(suggested, dict) else {},
        delivery_options=items(data, "deliveryOptions"),
        trace_id=response.trace_id,
        raw=data,
    )


@dataclass(frozen=True, kw_only=True)
class DeliveryServices(Traced):
    services: list[JsonDict]


def list_delivery_services(client: AllegroClient) -> DeliveryServices:
    """Deprecated by Allegro (removal planned for Q1 2027); prefer ``get_delivery_proposal``."""
    response = client.get(f"{BASE}/delivery-services")
    data = body(response)
    return DeliveryServices(services=items(data, "services"), trace_id=response.trace_id, raw=data)


@dataclass(frozen=True, kw_only=True)
class Command(Traced):
    """A shipment create/cancel or pickup create command and its state."""

    command_id: str
    status: str | None  # None right after submitting (the answer echoes the input)
    errors: list[ApiError]
    shipment_id: str | None
    pickup_id: str | None
    carrier_pickup_id: str | None
    retry_after: float | None

    @property
    def finished(self) -> bool:
        return self.status in ("SUCCESS", "ERROR")

    @classmethod
    def parse(cls, response: ApiResponse, *, command_id: str | None = None) -> Command:
        data = body(response)
        return cls(
            command_id=str(data.get("commandId") or command_id or ""),
            status=opt_str(data.get("status")),
            errors=[ApiError.from_dict(e) for e in items(data, "errors")],
            shipment_id=opt_str(data.get("shipmentId")),
            pickup_id=opt_str(data.get("pickupId")),
            carrier_pickup_id=opt_str(data.get("carrierPickupId")),
            retry_after=response.retry_after,
            trace_id=response.trace_id,
            raw=data,
        )


def create_shipment(client: AllegroClient, *, command_id: str, shipment: JsonDict) -> Command:
    """Submit ``ShipmentCreateRequestDto`` (``sender``, ``receiver``, ``packages`` required)."""
    response = client.request(
        "POST",
        f"{BASE}/shipments/create-commands",
        json={"commandId": command_id, "input": shipment},
        idempotent=True,
    )
    return Command.parse(response, command_id=command_id)


def get_shipment_command(client: AllegroClient, *, command_id: str) -> Command:
    response = client.get(f"{BASE}/shipments/create-commands/{command_id}")
    return Command.parse(response, command_id=command_id)


def cancel_shipment(client: AllegroClient, *, command_id: str, shipment_id: str) -> Command:
    response = client.request(
        "POST",
        f"{BASE}/shipments/cancel-commands",
        json={"commandId": command_id, "input": {"shipmentId": shipment_id}},
        idempotent=True,
    )
    return Command.parse(response, command_id=command_id)


def get_cancel_command(client: AllegroClient, *, command_id: str) -> Command:
    response = client.get(f"{BASE}/shipments/cancel-commands/{command_id}")
    return Command.parse(response, command_id=command_id)


def wait_for_command(
    poll: Callable[[], Command],
    *,
    first_wait: float | None,
    max_polls: int = 20,
    sleep: Callable[[float], None] = time.sleep,
) -> Command:
    """Poll until SUCCESS/ERROR, honouring ``Retry-After``; the last state if still running."""
    wait = DEFAULT_COMMAND_WAIT if first_wait is None else first_wait
    command: Command | None = None
    for _ in range(max_polls):
        sleep(wait)
        command = poll()
        if command.finished:
            return command
        wait = command.retry_after if command.retry_after is not None else wait
    assert command is not None, "max_polls must be positive"
    return command


@dataclass(frozen=True, kw_only=True)
class Shipment(Traced):
    id: str
    carrier: str | None
    label_format: str | None
    waybills: list[str]
    created_date: str | None
    canceled_date: str | None
    pickup_available: bool | None


def get_shipment(client: AllegroClient, *, shipment_id: str) -> Shipment:
    response = client.get(f"{BASE}/shipments/{shipment_id}")
    data = body(response)
    return Shipment(
        id=str(data.get("id") or shipment_id),
        carrier=opt_str(data.get("carrier")),
        label_format=opt_str(data.get("labelFormat")),
        waybills=[str(p["waybill"]) for p in items(data, "packages") if p.get("waybill")],
        created_date=opt_str(data.get("createdDate")),
        canceled_date=opt_str(data.get("canceledDate")),
        pickup_available=data.get("pickupAvailable"),
        trace_id=response.trace_id,
        raw=data,
    )


@dataclass(frozen=True, kw_only=True)
class Document(Traced):
    """A label or protocol: PDF or ZPL bytes (``available`` False on 204: none to print)."""

    content: bytes
    available: bool

    @property
    def is_pdf(self) -> bool:
        return self.content.startswith(b"%PDF-")


def _binary(client: AllegroClient, path: str, payload: JsonDict) -> Document:
    # JSON body in v1, binary answer: peers who sent Accept: v1 here got 406.
    response = client.request(
        "POST",
        path,
        json=payload,
        media=V1,
        accept=OCTET_STREAM,
        ok=(200, 204),
        idempotent=True,
    )
    return Document(
        content=response.content if response.status == 200 else b"",
        available=response.status == 200,
        trace_id=response.trace_id,
    )


def get_label(
    client: AllegroClient,
    *,
    shipment_ids: Sequence[str],
    page_size: Literal["A4", "A6"] | None = None,
    cut_line: bool | None = None,
) -> Document:
    payload: JsonDict = {"shipmentIds": list(shipment_ids)}
    if page_size is not None:
        payload["pageSize"] = page_size
    if cut_line is not None:
        payload["cutLine"] = cut_line
    return _binary(client, f"{BASE}/label", payload)


def get_protocol(client: AllegroClient, *, shipment_ids: Sequence[str]) -> Document:
    return _binary(client, f"{BASE}/protocol", {"shipmentIds": list(shipment_ids)})


@dataclass(frozen=True, kw_only=True)
class PickupAddress:
    street: str
    postal_code: str
    city: str
    email: str
    phone: str
    name: str | None = None
    company: str | None = None
    country_code: str = "PL"

    def as_json(self) -> JsonDict:
        data: JsonDict = {
            "street": self.street,
            "postalCode": self.postal_code,
            "city": self.city,
            "countryCode": self.country_code,
            "email": self.email,
            "phone": self.phone,
        }
        if self.name:
            data["name"] = self.name
        if self.company:
            data["company"] = self.company
        return data


@dataclass(frozen=True, kw_only=True)
class PickupSlot:
    shipment_id: str | None
    date: str
    min_time: str | None
    max_time: str | None


@dataclass(frozen=True, kw_only=True)
class PickupProposals(Traced):
    slots: list[PickupSlot]
    proposal_items: list[JsonDict]  # deprecated ``proposalItems`` (``id`` still required)


def get_pickup_proposals(
    client: AllegroClient,
    *,
    shipment_ids: Sequence[str],
    address: PickupAddress,
    ready_date: str | None = None,
) -> PickupProposals:
    payload: JsonDict = {"shipmentIds": list(shipment_ids), "address": address.as_json()}
    if ready_date is not None:
        payload["readyDate"] = ready_date
    response = client.request("POST", f"{BASE}/pickup-proposals", json=payload, idempotent=True)
    data = response.json()
    groups = [g for g in data if isinstance(g, dict)] if isinstance(data, list) else []
    slots: list[PickupSlot] = []
    proposal_items: list[JsonDict] = []
    for group in groups:
        for proposal in items(group, "proposals"):
            shipment_id = opt_str(proposal.get("shipmentId"))
            proposal_items.extend(items(proposal, "proposalItems"))
            slots.extend(
                PickupSlot(
                    shipment_id=shipment_id,
                    date=str(t.get("date") or ""),
                    min_time=opt_str(t.get("minTime")),
                    max_time=opt_str(t.get("maxTime")),
                )
                for t in items(proposal, "pickupTimes")
            )
    return PickupProposals(
        slots=slots,
        proposal_items=proposal_items,
        trace_id=response.trace_id,
        raw={"proposals": groups},
    )


def create_pickup(
    client: AllegroClient,
    *,
    command_id: str,
    shipment_ids: Sequence[str],
    address: PickupAddress,
    proposal_id: str,
    slot: PickupSlot | None = None,
) -> Command:
    """Order a courier pickup.

    The spec still lists the deprecated ``pickupDateProposalId`` as required, so it is sent
    together with the ``pickupTime`` chosen from ``get_pickup_proposals``.
    """
    command_input: JsonDict = {
        "shipmentIds": list(shipment_ids),
        "pickupDateProposalId": proposal_id,
        "address": address.as_json(),
    }
    if slot is not None:
        pickup_time: JsonDict = {"date": slot.date}
        if slot.min_time:
            pickup_time["minTime"] = slot.min_time
        if slot.max_time:
            pickup_time["maxTime"] = slot.max_time
        command_input["pickupTime"] = pickup_time
    response = client.request(
        "POST",
        f"{BASE}/pickups/create-commands",
        json={"commandId": command_id, "input": command_input},
        idempotent=True,
    )
    return Command.parse(response, command_id=command_id)


def get_pickup_command(client: AllegroClient, *, command_id: str) -> Command:
    response = client.get(f"{BASE}/pickups/create-commands/{command_id}")
    return Command.parse(response, command_id=command_id)


@dataclass(frozen=True, kw_only=True)
class Pickup(Traced):
    id: str
    carrier_pickup_id: str | None
    carrier: str | None
    shipment_ids: list[str]
    waybills: list[str]


def get_pickup(client: AllegroClient, *, pickup_id: str) -> Pickup:
    response = client.get(f"{BASE}/pickups/{pickup_id}")
    data = body(response)
    return Pickup(
        id=str(data.get("id") or pickup_id),
        carrier_pickup_id=opt_str(data.get("carrierPickupId")),
        carrier=opt_str(data.get("carrier")),
        shipment_ids=[str(s) for s in data.get("shipmentIds") or []],
        waybills=[str(w) for w in data.get("waybills") or []],
        trace_id=response.trace_id,
        raw=data,
    )


__all__ = [
    "Command",
    "DeliveryProposal",
    "Document",
    "Pickup",
    "PickupAddress",
    "PickupProposals",
    "PickupSlot",
    "Shipment",
    "cancel_shipment",
    "create_pickup",
    "create_shipment",
    "get_cancel_command",
    "get_delivery_proposal",
    "get_label",
    "get_pickup",
    "get_pickup_command",
    "get_pickup_proposals",
    "get_protocol",
    "get_shipment",
    "get_shipment_command",
    "list_delivery_services",
    "wait_for_command",
]
