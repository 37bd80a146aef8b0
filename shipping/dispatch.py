"""Handing parcels over: dispatch protocols, carrier pickups and cancelling a shipment.

- A protocol is asked for per account and carrier (``POST /shipment-management/protocol``) and
  the answers are merged into one PDF.
- A pickup is ordered for shipments of one account and one carrier: Allegro proposes dates and
  windows (``pickup-proposals``), the staff member picks one, and a durable job (kind
  ``shipping.pickup``) sends ``pickups/create-commands`` under the command id stored on the
  ``Pickup`` row first, polls it and links the pickup to its shipments.
- A shipment is cancelled with a cancel command while the carrier still allows it.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from datetime import time as dtime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pypdf import PdfReader, PdfWriter

from accounts.audit import audit_log
from accounts.models import AllegroAccount, Role
from accounts.services import account_require_role, account_require_writable, allegro_client_for
from allegro import errors
from allegro.api import shipments as api
from jobs.models import FINAL_ITEM_STATUSES, ItemStatus, Job, JobItem
from jobs.registry import FINISHED, Step, again
from jobs.services import ItemSpec, job_audit_once, job_create, job_item_update
from shipping.labels import LABEL_BATCH
from shipping.models import Pickup, Shipment, ShipmentStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

PICKUP_KIND = "shipping.pickup"


class DispatchRefused(Exception):
    """The chosen shipments cannot be handled together (a message for the staff member)."""


def _printable(shipments: Sequence[Shipment]) -> list[Shipment]:
    return [s for s in shipments if s.status == ShipmentStatus.CREATED and s.allegro_id]


def _error_text(exc: errors.AllegroError) -> str:
    found = getattr(exc, "errors", None) or []
    return " ".join(e.user_message or e.message or e.code for e in found) or str(exc)


# --- dispatch protocols ------------------------------------------------------------------------


def protocols_pdf(*, user: AnyUser, shipments: Sequence[Shipment]) -> bytes:
    """One PDF with a dispatch protocol per account and carrier (≤ ``LABEL_BATCH`` shipments
    per request); the shipments are marked as being in a protocol."""
    chosen = _printable(shipments)
    if not chosen:
        raise DispatchRefused(_("None of the chosen shipments has been created on Allegro."))
    groups: dict[tuple[int, str], list[Shipment]] = {}
    for s in sorted(chosen, key=lambda s: (s.account_id, s.carrier, s.pk)):
        groups.setdefault((s.account_id, s.carrier), []).append(s)
    accounts = {s.account_id: s.account for s in chosen}
    for account in accounts.values():
        account_require_role(user=user, account=account, role=Role.OPERATOR)
    writer = PdfWriter()
    clients: dict[int, Any] = {}
    printed: list[int] = []
    for (account_id, carrier), group in groups.items():
        account = accounts[account_id]
        client = clients.setdefault(account_id, allegro_client_for(account=account))
        for start in range(0, len(group), LABEL_BATCH):
            chunk = group[start : start + LABEL_BATCH]
            doc = api.get_protocol(client, shipment_ids=[s.allegro_id for s in chunk])
            if not doc.available or not doc.is_pdf:
                continue
            writer.append(PdfReader(io.BytesIO(doc.content)))
            printed.extend(s.pk for s in chunk)
            audit_log(
                actor=user,
                account=account,
                action="shipment.protocol_printed",
                target=f"carrier:{carrier}",
                before=None,
                after={"shipments": [s.allegro_id for s in chunk]},
                allegro_trace_id=doc.trace_id,
            )
    if not printed:
        raise DispatchRefused(_("The carrier gives no dispatch protocol for these shipments."))
    Shipment.objects.filter(pk__in=printed).update(protocol_printed_at=timezone.now())
    out = io.BytesIO()
    writer.add_metadata({"/Title": _("Dispatch protocols"), "/Producer": "allegro-backoffice"})
    writer.write(out)
    return out.getvalue()


# --- pickups -----------------------------------------------------------------------------------


def _address_of(shipment: Shipment) -> api.PickupAddress:
    sender = shipment.request.get("sender") if isinstance(shipment.request, dict) else None
    if not isinstance(sender, dict):
        raise DispatchRefused(_("The shipment has no sender address to be picked up from."))
    return api.PickupAddress(
        street=str(sender.get("street") or ""),
        postal_code=str(sender.get("postalCode") or ""),
        city=str(sender.get("city") or ""),
        email=str(sender.get("email") or ""),
        phone=str(sender.get("phone") or ""),
        name=sender.get("name") or None,
        company=sender.get("company") or None,
        country_code=str(sender.get("countryCode") or "PL"),
    )


def _one_group(user: AnyUser, shipments: Sequence[Shipment]) -> tuple[AllegroAccount, str]:
    chosen = _printable(shipments)
    if not chosen or len(chosen) != len(shipments):
        raise DispatchRefused(_("Choose shipments that have been created and not cancelled."))
    if any(s.pickup_id for s in chosen):
        raise DispatchRefused(_("Some of the chosen shipments already have a pickup."))
    if len({s.account_id for s in chosen}) > 1 or len({s.carrier for s in chosen}) > 1:
        raise DispatchRefused(_("A pickup is ordered for one account and one carrier at a time."))
    if len(chosen) > LABEL_BATCH:
        raise DispatchRefused(_("A pickup takes at most 100 shipments."))
    account = chosen[0].account
    account_require_role(user=user, account=account, role=Role.OPERATOR)
    account_require_writable(account=account)
    return account, chosen[0].carrier


@dataclass(frozen=True, kw_only=True)
class SlotChoice:
    key: str  # "2026-05-04 10:00-14:00"
    date: str
    min_time: str | None
    max_time: str | None
    proposal_id: str


def pickup_slots(*, user: AnyUser, shipments: Sequence[Shipment]) -> list[SlotChoice]:
    """The dates and windows Allegro proposes for picking up all of ``shipments``."""
    account, _carrier = _one_group(user, shipments)
    client = allegro_client_for(account=account)
    proposals = api.get_pickup_proposals(
        client,
        shipment_ids=[s.allegro_id for s in shipments],
        address=_address_of(shipments[0]),
    )
    first = shipments[0].allegro_id
    own = [slot for slot in proposals.slots if slot.shipment_id in (None, first)]
    ids = [str(p.get("id") or "") for p in proposals.proposal_items[: len(own)]]
    common: set[tuple[str, str | None, str | None]] | None = None
    for shipment in shipments:
        keys = {
            (s.date, s.min_time, s.max_time)
            for s in proposals.slots
            if s.shipment_id in (None, shipment.allegro_id)
        }
        common = keys if common is None else common & keys
    choices = []
    for index, slot in enumerate(own):
        if common is not None and (slot.date, slot.min_time, slot.max_time) not in common:
            continue
        window = f"{slot.min_time or ''}-{slot.max_time or ''}".strip("-")
        choices.append(
            SlotChoice(
                key=f"{slot.date} {window}".strip(),
                date=slot.date,
                min_time=slot.min_time,
                max_time=slot.max_time,
                proposal_id=ids[index] if index < len(ids) and ids[index] else slot.date,
            )
        )
    return choices


def _parse_time(value: str | None) -> dtime | None:
    if not value:
        return None
    try:
        return dtime.fromisoformat(value)
    except ValueError:
        return None


def pickup_create_start(*, user: AnyUser, shipments: Sequence[Shipment], slot: SlotChoice) -> Job:
    """Store the pickup (with its command id) and start the job that orders it."""
    account, carrier = _one_group(user, shipments)
    address = _address_of(shipments[0])
    with transaction.atomic():
        pickup = Pickup.objects.create(
            account=account,
            carrier=carrier,
            date=date.fromisoformat(slot.date),
            min_time=_parse_time(slot.min_time),
            max_time=_parse_time(slot.max_time),
            address=address.as_json(),
            created_by=user if getattr(user, "is_authenticated", False) else None,  # type: ignore[misc]
        )
        return job_create(
            kind=PICKUP_KIND,
            actor=user,
            account=account,
            title=_("Pickup on %(slot)s") % {"slot": slot.key},
            items=[
                ItemSpec(
                    account=account,
                    key=str(pickup.command_id),
                    label=slot.key,
                    command_id=str(pickup.command_id),
                    data={
                        "pickup": pickup.pk,
                        "shipments": [s.pk for s in shipments],
                        "shipment_ids": [s.allegro_id for s in shipments],
                        "slot": {
                            "date": slot.date,
                            "min_time": slot.min_time,
                            "max_time": slot.max_time,
                            "proposal_id": slot.proposal_id,
                        },
                    },
                )
            ],
            params={"pickup": pickup.pk},
        )


def _pickup_advance(job: Job, item: JobItem) -> float | None:
    data = item.data
    pickup = Pickup.objects.get(pk=data["pickup"])
    client = allegro_client_for(account=item.account)
    target = f"pickup:{pickup.command_id}"
    try:
        if item.status == ItemStatus.PENDING:
            slot = data["slot"]
            command = api.create_pickup(
                client,
                command_id=item.command_id,
                shipment_ids=list(data["shipment_ids"]),
                address=_address_from(pickup.address),
                proposal_id=str(slot["proposal_id"]),
                slot=api.PickupSlot(
                    shipment_id=None,
                    date=str(slot["date"]),
                    min_time=slot.get("min_time"),
                    max_time=slot.get("max_time"),
                ),
            )
            job_item_update(item=item, status=ItemStatus.SENT, trace_id=command.trace_id or "")
            return command.retry_after or 1.0
        command = api.get_pickup_command(client, command_id=item.command_id)
        if command.status == "SUCCESS" and command.pickup_id:
            details = api.get_pickup(client, pickup_id=command.pickup_id)
            with transaction.atomic():
                Pickup.objects.filter(pk=pickup.pk).update(
                    allegro_id=details.id,
                    carrier_pickup_id=details.carrier_pickup_id or "",
                    carrier=details.carrier or pickup.carrier,
                )
                Shipment.objects.filter(pk__in=data["shipments"]).update(pickup=pickup)
                job_item_update(
                    item=item,
                    status=ItemStatus.SUCCESS,
                    message=details.carrier_pickup_id or details.id,
                    after={"pickup": details.id},
                )
            job_audit_once(
                item=item,
                actor=job.actor,
                action="shipment.pickup_ordered",
                target=target,
                before=None,
                after={"pickup": details.id, "shipments": data["shipment_ids"]},
                trace_id=command.trace_id or details.trace_id,
            )
            return None
        if command.status == "ERROR":
            message = " ".join(e.user_message or e.message or e.code for e in command.errors)
            _pickup_failed(job, item, message or _("Allegro did not order the pickup."), "")
            return None
        return command.retry_after or 1.0
    except errors.TransientError:
        raise
    except errors.PermanentError as exc:
        _pickup_failed(job, item, _error_text(exc), exc.trace_id or "")
        return None


def _address_from(data: dict[str, Any]) -> api.PickupAddress:
    return api.PickupAddress(
        street=str(data.get("street") or ""),
        postal_code=str(data.get("postalCode") or ""),
        city=str(data.get("city") or ""),
        email=str(data.get("email") or ""),
        phone=str(data.get("phone") or ""),
        name=data.get("name") or None,
        company=data.get("company") or None,
        country_code=str(data.get("countryCode") or "PL"),
    )


def _pickup_failed(job: Job, item: JobItem, message: str, trace: str) -> None:
    job_item_update(item=item, status=ItemStatus.FAILED, message=message[:2000], trace_id=trace)
    job_audit_once(
        item=item,
        actor=job.actor,
        action="shipment.pickup_failed",
        target=f"pickup:{item.command_id}",
        before=None,
        after={"message": message},
        trace_id=trace or None,
    )


def pickup_step(job: Job) -> Step:
    """The ``shipping.pickup`` runner."""
    waits = []
    for item in job.items.exclude(status__in=FINAL_ITEM_STATUSES).select_related("account"):
        wait = _pickup_advance(job, item)
        if wait is not None:
            waits.append(wait)
    return again(min(waits)) if waits else FINISHED


# --- cancelling ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CancelOutcome:
    cancelled: bool
    message: str


def shipment_cancel(
    *, user: AnyUser, shipment: Shipment, sleep: Callable[[float], None] = time.sleep
) -> CancelOutcome:
    """Send a cancel command and wait (briefly, honouring ``Retry-After``) for its outcome."""
    account_require_role(user=user, account=shipment.account, role=Role.OPERATOR)
    account_require_writable(account=shipment.account)
    if shipment.status != ShipmentStatus.CREATED or not shipment.allegro_id:
        raise DispatchRefused(_("Only a created shipment can be cancelled."))
    client = allegro_client_for(account=shipment.account)
    command_id = str(uuid.uuid4())
    try:
        sent = api.cancel_shipment(client, command_id=command_id, shipment_id=shipment.allegro_id)
        command = sent
        if not sent.finished:
            command = api.wait_for_command(
                lambda: api.get_cancel_command(client, command_id=command_id),
                first_wait=min(sent.retry_after or 0.5, 2.0),
                max_polls=6,
                sleep=lambda s: sleep(min(s, 2.0)),
            )
    except errors.PermanentError as exc:
        return CancelOutcome(cancelled=False, message=_error_text(exc))
    target = f"order:{shipment.order.allegro_id}"
    if command.status == "SUCCESS":
        Shipment.objects.filter(pk=shipment.pk).update(
            status=ShipmentStatus.CANCELLED, cancelled_at=timezone.now()
        )
        audit_log(
            actor=user,
            account=shipment.account,
            action="shipment.cancelled",
            target=target,
            before={"shipment": shipment.allegro_id, "status": shipment.status},
            after={"status": ShipmentStatus.CANCELLED},
            allegro_trace_id=command.trace_id,
        )
        return CancelOutcome(cancelled=True, message=_("The shipment has been cancelled."))
    if command.status == "ERROR":
        message = " ".join(e.user_message or e.message or e.code for e in command.errors)
        return CancelOutcome(
            cancelled=False, message=message or _("The carrier no longer allows cancelling it.")
        )
    return CancelOutcome(
        cancelled=False, message=_("Allegro is still cancelling the shipment; look again soon.")
    )
