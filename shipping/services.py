"""Shipping state changes: package presets, and creating Ship-with-Allegro shipments as durable
jobs (one order from its page, or many from the queue).

The create job (kind ``shipping.create``) advances each of its items through
``PENDING`` → (shipment row + command id stored) → command sent (``SENT``) → ``SUCCESS`` with
waybills, or ``FAILED`` with Allegro's message and the field its ``path`` names. An order that
already has a live shipment is skipped, never shipped twice; a re-run of a crashed job resends
the same command id (Allegro answers the same command) instead of creating a second parcel.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import AllegroAccount, Role
from accounts.services import account_require_role, account_require_writable, allegro_client_for
from allegro import errors
from allegro.api import shipments as api
from jobs.models import FINAL_ITEM_STATUSES, ItemStatus, Job, JobItem
from jobs.registry import FINISHED, Step, again
from jobs.services import (
    ItemSpec,
    job_audit_once,
    job_create,
    job_item_update,
    job_progress_refresh,
)
from orders.models import Order
from orders.selectors import order_ref
from shipping.models import (
    LIVE_STATUSES,
    DeliveryMethodDefault,
    PackagePreset,
    PackageType,
    Shipment,
    ShipmentPackage,
    ShipmentStatus,
)
from ui.errors import describe_error

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

CREATE_KIND = "shipping.create"
DEFAULT_POLL_SECONDS = 1.0

# --- package presets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PresetSpec:
    name: str
    length: str
    width: str
    height: str
    weight: str


# InPost locker sizes (A/B/C, 64 x 38 cm with 8/19/41 cm of height) and two boxes of the shop.
DEFAULT_PRESETS = (
    PresetSpec("InPost A", "64", "38", "8", "1"),
    PresetSpec("InPost B", "64", "38", "19", "2"),
    PresetSpec("InPost C", "64", "38", "41", "5"),
    PresetSpec("Karton S", "30", "20", "10", "1"),
    PresetSpec("Karton M", "40", "30", "20", "3"),
)
LOCKER_PRESET = "InPost A"
BOX_PRESET = "Karton S"
LOCKER_WORDS = ("paczkomat", "inpost", "one box", "automat")


def package_presets_ensure(*, account: AllegroAccount) -> list[PackagePreset]:
    """The account's presets, seeded with the defaults on first use."""
    presets = list(PackagePreset.objects.filter(account=account))
    if presets:
        return presets
    PackagePreset.objects.bulk_create(
        [
            PackagePreset(
                account=account,
                name=spec.name,
                type=PackageType.PACKAGE,
                length_cm=Decimal(spec.length),
                width_cm=Decimal(spec.width),
                height_cm=Decimal(spec.height),
                weight_kg=Decimal(spec.weight),
                position=position,
            )
            for position, spec in enumerate(DEFAULT_PRESETS)
        ],
        ignore_conflicts=True,
    )
    return list(PackagePreset.objects.filter(account=account))


def package_default_for(
    *, account: AllegroAccount, delivery_method_id: str, delivery_method_name: str
) -> PackagePreset:
    """The package a delivery method uses when nobody picks one: the account's own default for
    the method, else the smallest locker size for lockers and the small box otherwise."""
    presets = package_presets_ensure(account=account)
    chosen = (
        DeliveryMethodDefault.objects.filter(account=account, delivery_method_id=delivery_method_id)
        .select_related("preset")
        .first()
    )
    if chosen is not None:
        return chosen.preset
    name = delivery_method_name.lower()
    wanted = LOCKER_PRESET if any(w in name for w in LOCKER_WORDS) else BOX_PRESET
    by_name = {p.name: p for p in presets}
    return by_name.get(wanted) or presets[0]


# --- the create request ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PackageInput:
    type: str
    length: Decimal
    width: Decimal
    height: Decimal
    weight: Decimal
    text_on_label: str = ""

    @classmethod
    def of_preset(cls, preset: PackagePreset, *, text_on_label: str = "") -> PackageInput:
        return cls(
            type=preset.type,
            length=preset.length_cm,
            width=preset.width_cm,
            height=preset.height_cm,
            weight=preset.weight_kg,
            text_on_label=text_on_label,
        )

    def as_json(self) -> dict[str, Any]:
        package: dict[str, Any] = {
            "type": self.type,
            "length": {"value": float(self.length), "unit": "CENTIMETER"},
            "width": {"value": float(self.width), "unit": "CENTIMETER"},
            "height": {"value": float(self.height), "unit": "CENTIMETER"},
            "weight": {"value": float(self.weight), "unit": "KILOGRAMS"},
        }
        if self.text_on_label:
            package["textOnLabel"] = self.text_on_label
        return package


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": f"{amount.quantize(Decimal('0.01'))}", "currency": currency}


def shipment_request_build(
    *,
    suggested: Mapping[str, Any],
    package: PackageInput,
    label_format: str = "PDF",
    insurance: Decimal | None = None,
    cash_on_delivery: Decimal | None = None,
    currency: str = "PLN",
    reference_number: str = "",
    keep_suggested_cod: bool = False,
) -> dict[str, Any]:
    """``ShipmentCreateRequestDto`` from the proposal's prefilled input and the staff's choices
    (the sender, the receiver and its pickup point are Allegro's, as proposed)."""
    request: dict[str, Any] = {
        key: suggested[key]
        for key in ("deliveryMethodId", "sender", "receiver", "additionalServices")
        if suggested.get(key) not in (None, "", [])
    }
    request["packages"] = [package.as_json()]
    request["labelFormat"] = label_format
    if reference_number:
        request["referenceNumber"] = reference_number
    if insurance is not None and insurance > 0:
        request["insurance"] = money(insurance, currency)
    if cash_on_delivery is not None and cash_on_delivery > 0:
        request["cashOnDelivery"] = money(cash_on_delivery, currency)
    elif keep_suggested_cod and isinstance(suggested.get("cashOnDelivery"), dict):
        request["cashOnDelivery"] = suggested["cashOnDelivery"]
    return request


def delivery_proposal_get(*, order: Order) -> api.DeliveryProposal:
    """``GET /shipment-management/delivery-proposals/{orderId}`` for the order's account."""
    client = allegro_client_for(account=order.account)
    return api.get_delivery_proposal(client, order_id=str(order.allegro_id))


# --- starting jobs -----------------------------------------------------------------------------


class ShipmentExists(Exception):
    """The order already has a live shipment: a second one is never created."""


def shipment_live_for(*, order: Order) -> Shipment | None:
    return Shipment.objects.filter(order=order, status__in=LIVE_STATUSES).first()


def _item_for(order: Order, **data: Any) -> ItemSpec:
    return ItemSpec(
        account=order.account,
        key=str(order.allegro_id),
        label=f"{order_ref(order.allegro_id)} {order.buyer_login}".strip(),
        data={"order": order.pk, **data},
    )


def shipment_create_start(*, user: AnyUser, order: Order, request: Mapping[str, Any]) -> Job:
    """One shipment for ``order`` with the request the staff member confirmed."""
    account_require_role(user=user, account=order.account, role=Role.OPERATOR)
    account_require_writable(account=order.account)
    if shipment_live_for(order=order) is not None:
        raise ShipmentExists(order.pk)
    return job_create(
        kind=CREATE_KIND,
        actor=user,
        account=order.account,
        title=_("Shipment for order %(ref)s") % {"ref": order_ref(order.allegro_id)},
        items=[_item_for(order, request=dict(request))],
        params={"orders": [order.pk]},
    )


def shipments_bulk_create_start(*, user: AnyUser, orders: Sequence[Order]) -> Job:
    """One job creating a shipment for each order with its delivery method's default package;
    orders that already have one are listed as skipped."""
    accounts = {o.account_id: o.account for o in orders}
    for account in accounts.values():
        account_require_role(user=user, account=account, role=Role.OPERATOR)
        account_require_writable(account=account)
    live = set(
        Shipment.objects.filter(order__in=orders, status__in=LIVE_STATUSES).values_list(
            "order_id", flat=True
        )
    )
    items = []
    for order in orders:
        spec = _item_for(order)
        if order.pk in live:
            spec.status = ItemStatus.SKIPPED
        items.append(spec)
    return job_create(
        kind=CREATE_KIND,
        actor=user,
        account=next(iter(accounts.values())) if len(accounts) == 1 else None,
        title=_("Shipments for %(count)d orders") % {"count": len(orders)},
        items=items,
        params={"orders": [o.pk for o in orders]},
    )


def shipments_retry_failed(*, user: AnyUser, job: Job) -> Job | None:
    """A new job for the orders whose shipment the given job failed to create."""
    order_ids = [
        int(item.data["order"])
        for item in job.items.filter(status=ItemStatus.FAILED)
        if isinstance(item.data, dict) and "order" in item.data
    ]
    orders = list(
        Order.objects.select_related("account").filter(pk__in=order_ids).order_by("dispatch_by")
    )
    if not orders:
        return None
    return shipments_bulk_create_start(user=user, orders=orders)


# --- running the job ---------------------------------------------------------------------------


def _target(order: Order) -> str:
    return f"order:{order.allegro_id}"


def _shipment_for_item(item: JobItem, order: Order) -> Shipment | None:
    """The shipment row this item sends, created (or a failed one reused) with a fresh command
    id stored before anything is sent; ``None`` when the order has another live shipment."""
    live = shipment_live_for(order=order)
    if live is not None:
        return live if str(live.command_id) == item.command_id else None
    data = item.data if isinstance(item.data, dict) else {}
    request = data.get("request")
    if not isinstance(request, dict):
        proposal = delivery_proposal_get(order=order)
        preset = package_default_for(
            account=order.account,
            delivery_method_id=order.delivery_method_id,
            delivery_method_name=order.delivery_method_name,
        )
        request = shipment_request_build(
            suggested=proposal.suggested_input,
            package=PackageInput.of_preset(preset),
            keep_suggested_cod=True,
        )
    fields = shipment_fields_from_request(request)
    command_id = uuid.uuid4()
    try:
        with transaction.atomic():
            shipment = (
                Shipment.objects.select_for_update()
                .filter(order=order, status=ShipmentStatus.FAILED)
                .order_by("-pk")
                .first()
            )
            if shipment is None:
                shipment = Shipment(account=order.account, order=order)
            shipment.command_id = command_id
            shipment.status = ShipmentStatus.CREATING
            shipment.error_message = shipment.error_field = ""
            shipment.delivery_method_id = str(
                request.get("deliveryMethodId") or order.delivery_method_id
            )
            shipment.delivery_method_name = order.delivery_method_name
            shipment.request = request
            shipment.created_by_id = item.job.actor_id
            for name, value in fields.items():
                setattr(shipment, name, value)
            shipment.save()
            shipment.packages.all().delete()
            ShipmentPackage.objects.bulk_create(packages_from_request(shipment, request))
            job_item_update(
                item=item, command_id=str(command_id), data={**data, "shipment": shipment.pk}
            )
    except IntegrityError:  # another job took the order in the meantime
        return None
    return shipment


def shipment_fields_from_request(request: Mapping[str, Any]) -> dict[str, Any]:
    def amount(key: str) -> Decimal | None:
        value = request.get(key)
        if isinstance(value, dict) and isinstance(value.get("amount"), str):
            return Decimal(value["amount"].replace(",", "."))
        return None

    currency = ""
    for key in ("insurance", "cashOnDelivery"):
        value = request.get(key)
        if isinstance(value, dict):
            currency = str(value.get("currency") or "")
    return {
        "label_format": str(request.get("labelFormat") or "PDF"),
        "reference_number": str(request.get("referenceNumber") or ""),
        "insurance_amount": amount("insurance"),
        "cod_amount": amount("cashOnDelivery"),
        "currency": currency,
    }


def packages_from_request(shipment: Shipment, request: Mapping[str, Any]) -> list[ShipmentPackage]:
    rows = []
    for position, package in enumerate(request.get("packages") or []):

        def value(key: str, package: Mapping[str, Any] = package) -> Decimal:
            return Decimal(str(package[key]["value"]))

        rows.append(
            ShipmentPackage(
                shipment=shipment,
                position=position,
                type=str(package.get("type") or PackageType.PACKAGE),
                length_cm=value("length"),
                width_cm=value("width"),
                height_cm=value("height"),
                weight_kg=value("weight"),
                text_on_label=str(package.get("textOnLabel") or "")[:100],
            )
        )
    return rows


def _failed(
    item: JobItem, order: Order, shipment: Shipment | None, message: str, path: str, trace: str
) -> None:
    if shipment is not None:
        Shipment.objects.filter(pk=shipment.pk).update(
            status=ShipmentStatus.FAILED,
            error_message=message[:2000],
            error_field=(path or "")[:128],
            trace_id=trace[:128],
        )
    job_item_update(
        item=item,
        status=ItemStatus.FAILED,
        message=message[:2000],
        field=(path or "")[:128],
        trace_id=trace[:128],
    )
    job_audit_once(
        item=item,
        actor=item.job.actor,
        action="shipment.create_failed",
        target=_target(order),
        before=None,
        after={"message": message, "field": path or ""},
        trace_id=trace or None,
    )


def _succeeded(
    item: JobItem, order: Order, shipment: Shipment, details: api.Shipment, trace: str
) -> None:
    waybills = details.waybills
    with transaction.atomic():
        packages = list(shipment.packages.order_by("position"))
        for package, waybill in zip(packages, waybills, strict=False):
            package.waybill = waybill
        ShipmentPackage.objects.bulk_update(packages, ["waybill"])
        created = parse_datetime(details.created_date) if details.created_date else None
        Shipment.objects.filter(pk=shipment.pk).update(
            status=ShipmentStatus.CREATED,
            allegro_id=details.id,
            carrier=details.carrier or "",
            allegro_created_at=created,
            trace_id=trace[:128],
            error_message="",
            error_field="",
        )
        job_item_update(
            item=item,
            status=ItemStatus.SUCCESS,
            message=", ".join(waybills),
            trace_id=trace[:128],
            after={"shipment": details.id, "waybills": waybills},
        )
    job_audit_once(
        item=item,
        actor=item.job.actor,
        action="shipment.created",
        target=_target(order),
        before=None,
        after={"shipment": details.id, "carrier": details.carrier, "waybills": waybills},
        trace_id=trace or None,
    )


def _advance(item: JobItem, clients: dict[int, Any]) -> float | None:
    """Move one item on; the seconds to wait before asking Allegro again, or ``None``."""
    data = item.data if isinstance(item.data, dict) else {}
    order = Order.objects.select_related("account").get(pk=data["order"], account=item.account)
    shipment: Shipment | None = None
    try:
        if item.account_id not in clients:
            clients[item.account_id] = allegro_client_for(account=item.account)
        client = clients[item.account_id]
        if item.status == ItemStatus.PENDING:
            shipment = _shipment_for_item(item, order)
            if shipment is None:
                job_item_update(
                    item=item,
                    status=ItemStatus.SKIPPED,
                    message=_("This order already has a shipment."),
                )
                return None
            command = api.create_shipment(
                client, command_id=str(shipment.command_id), shipment=shipment.request
            )
            job_item_update(item=item, status=ItemStatus.SENT, trace_id=command.trace_id or "")
            return command.retry_after or DEFAULT_POLL_SECONDS
        shipment = Shipment.objects.get(command_id=item.command_id)
        command = api.get_shipment_command(client, command_id=item.command_id)
        if command.status == "ERROR":
            first = command.errors[0] if command.errors else None
            messages = [e.user_message or e.message or e.code for e in command.errors]
            message = " ".join(messages) or _("Allegro did not create the shipment.")
            _failed(item, order, shipment, message, first.path or "" if first else "", "")
            return None
        if command.status == "SUCCESS" and command.shipment_id:
            details = api.get_shipment(client, shipment_id=command.shipment_id)
            _succeeded(item, order, shipment, details, command.trace_id or details.trace_id or "")
            return None
        return command.retry_after or DEFAULT_POLL_SECONDS
    except errors.TransientError:
        raise
    except errors.PermanentError as exc:
        path = exc.errors[0].path if exc.errors else ""
        message = describe_error(exc)
        if exc.errors:
            message = " ".join(e.user_message or e.message or e.code for e in exc.errors)
        _failed(item, order, shipment, message, path or "", exc.trace_id or "")
        return None


def shipment_create_step(job: Job) -> Step:
    """The ``shipping.create`` runner: advance every unfinished item once."""
    clients: dict[int, Any] = {}
    waits: list[float] = []
    items: Iterable[JobItem] = (
        job.items.exclude(status__in=FINAL_ITEM_STATUSES)
        .select_related("account", "job__actor")
        .order_by("position", "pk")
    )
    for item in items:
        wait = _advance(item, clients)
        if wait is not None:
            waits.append(wait)
    job_progress_refresh(job=job)
    return again(min(waits)) if waits else FINISHED


@dataclass(frozen=True, kw_only=True)
class CreateContext:
    """What the create form needs: Allegro's proposal, the account's presets and the default."""

    proposal: api.DeliveryProposal
    presets: list[PackagePreset]
    default: PackagePreset


def shipment_create_prepare(*, user: AnyUser, order: Order) -> CreateContext:
    """Check the role, read the order's delivery proposal and the account's presets."""
    account_require_role(user=user, account=order.account, role=Role.OPERATOR)
    account_require_writable(account=order.account)
    if shipment_live_for(order=order) is not None:
        raise ShipmentExists(order.pk)
    proposal = delivery_proposal_get(order=order)
    default = package_default_for(
        account=order.account,
        delivery_method_id=order.delivery_method_id,
        delivery_method_name=order.delivery_method_name,
    )
    presets = list(PackagePreset.objects.filter(account=order.account))
    return CreateContext(proposal=proposal, presets=presets, default=default)
