"""Staff actions on orders: fulfillment status (with revision), tracking numbers, bulk status.

Every change goes to Allegro through the account's client, then the mirror is refreshed from
Allegro's current copy of the form. A stale revision is never overwritten silently: the 409 is
turned into a list of what changed on Allegro, and the staff member decides.
Roles: operators (and managers) change fulfillment and tracking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.audit import audit_log
from accounts.models import AllegroAccount, Role
from accounts.services import (
    AccountReadOnly,
    account_require_role,
    account_require_writable,
    allegro_client_for,
)
from allegro import errors
from allegro.api import orders as orders_api
from allegro.client import AllegroClient
from allegro.governor import Lane
from orders.flows import waybills_read
from orders.models import SENT, Order
from orders.selectors import order_target
from orders.sync import orders_upsert, tracking_replace
from ui import errors as ui_errors

if TYPE_CHECKING:
    from accounts.selectors import AnyUser

CARRIERS_TTL = 24 * 3600
IGNORED_DIFF_PATHS = ("updatedAt",)
MAX_DIFF_ROWS = 40


def describe_error(exc: Exception) -> str:
    return ui_errors.describe_error(
        exc,
        unlinked=gettext_lazy("This Allegro account is unlinked: its orders are read-only here."),
        by_type=[
            (
                errors.NotFound,
                gettext_lazy("Allegro no longer knows this order (it may have been merged)."),
            )
        ],
    )


# --- carriers ---------------------------------------------------------------------------------


def carriers_cache_key(*, account: AllegroAccount) -> str:
    return f"orders:carriers:{account.environment}"


def carriers_for(
    *, account: AllegroAccount, client: AllegroClient | None = None
) -> list[tuple[str, str]]:
    """``[(id, name)]`` from ``GET /order/carriers``, cached per environment for a day."""
    key = carriers_cache_key(account=account)
    cached: list[tuple[str, str]] | None = cache.get(key)
    if cached:
        return [tuple(c) for c in cached]  # type: ignore[misc]
    client = client or allegro_client_for(account=account)
    carriers = [(c.id, c.name or c.id) for c in orders_api.list_carriers(client).carriers if c.id]
    if carriers:
        cache.set(key, carriers, CARRIERS_TTL)
    return carriers


# --- mirror refresh ---------------------------------------------------------------------------


def order_refresh(*, order: Order, client: AllegroClient) -> Order:
    """Read the form and its waybills from Allegro and write them to the mirror."""
    form = orders_api.get_checkout_form(client, checkout_form_id=str(order.allegro_id))
    shipments = orders_api.list_tracking_numbers(client, checkout_form_id=str(order.allegro_id))
    with transaction.atomic():
        orders_upsert(account=order.account, forms=[form], synced_at=timezone.now(), force=True)
        tracking_replace(
            account=order.account, shipments={str(order.allegro_id): shipments.shipments}
        )
        Order.objects.filter(pk=order.pk).update(waybills_read_at=timezone.now())
    order.refresh_from_db()
    return order


def order_waybills_unread(*, order: Order) -> bool:
    """True while the waybills of a sent order were never read (the initial sync deferred them)."""
    return (
        order.waybills_read_at is None
        and order.line_items_sent in SENT
        and order.merged_into_id is None
    )


def order_waybills_read_on_open(*, order: Order) -> str:
    """Read the order's waybills now when they were never read (the order page, on open).

    Sent in the governor's staff lane, ahead of the sync and the backfill. Returns ``""`` or a
    message for the page when Allegro could not be asked (the page then says "not read yet").
    """
    if not order_waybills_unread(order=order):
        return ""
    try:
        client = allegro_client_for(account=order.account, lane=Lane.STAFF)
        waybills_read(account=order.account, client=client, form_ids=[str(order.allegro_id)])
    except errors.AllegroError as exc:
        return str(describe_error(exc))
    order.refresh_from_db()
    return ""


def flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a.b[0].c": value}`` for every leaf of a JSON document."""
    out: dict[str, Any] = {}
    if isinstance(doc, Mapping):
        for key, value in doc.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out.update(flatten(value, f"{prefix}[{i}]"))
    else:
        out[prefix] = doc
    return out


def document_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What differs between two copies of a checkout form, as ``{path, before, after}`` rows."""
    old, new = flatten(before), flatten(after)
    rows = []
    for path in sorted(set(old) | set(new)):
        if path in IGNORED_DIFF_PATHS or old.get(path) == new.get(path):
            continue
        rows.append({"path": path, "before": old.get(path), "after": new.get(path)})
    return rows[:MAX_DIFF_ROWS]


# --- fulfillment ------------------------------------------------------------------------------


@dataclass(kw_only=True)
class OrderOutcome:
    state: Literal["done", "conflict", "failed"]
    message: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)
    revision: str = ""
    trace_id: str | None = None


def _conflict(
    *, order: Order, actor: AnyUser, client: AllegroClient, exc: errors.Conflict, wanted: str
) -> OrderOutcome:
    """Read Allegro's current copy, record it, and describe what changed since the page loaded."""
    seen = dict(order.raw or {})
    seen_revision = order.revision
    order = order_refresh(order=order, client=client)
    changes = document_changes(seen, order.raw or {})
    audit_log(
        actor=actor,
        account=order.account,
        action="order.fulfillment_conflict",
        target=order_target(order),
        before={"revision": seen_revision, "wanted": wanted},
        after={"revision": order.revision, "changed": [c["path"] for c in changes]},
        allegro_trace_id=exc.trace_id,
    )
    return OrderOutcome(
        state="conflict",
        message=_("The order changed on Allegro since you loaded it. Nothing was overwritten."),
        changes=changes,
        revision=order.revision,
        trace_id=exc.trace_id,
    )


def order_set_fulfillment(
    *,
    order: Order,
    actor: AnyUser,
    status: orders_api.FulfillmentStatus | str,
    revision: str | None,
    client: AllegroClient | None = None,
) -> OrderOutcome:
    """``PUT …/fulfillment`` with ``checkoutForm.revision`` (operator or manager; never on an
    unlinked account: ``AccountReadOnly``)."""
    account_require_role(user=actor, account=order.account, role=Role.OPERATOR)
    account_require_writable(account=order.account)
    if status not in orders_api.SELLER_SETTABLE_STATUSES:
        return OrderOutcome(
            state="failed", message=_("Allegro does not let sellers set this status.")
        )
    before = {"fulfillment": order.fulfillment_status, "revision": order.revision}
    wanted_revision = revision or order.revision or None
    try:
        client = client or allegro_client_for(account=order.account)
        done = orders_api.set_fulfillment_status(
            client,
            checkout_form_id=str(order.allegro_id),
            status=status,
            revision=wanted_revision,
        )
    except errors.Conflict as exc:
        assert client is not None
        return _conflict(order=order, actor=actor, client=client, exc=exc, wanted=status)
    except errors.AllegroError as exc:
        return OrderOutcome(state="failed", message=describe_error(exc), trace_id=exc.trace_id)
    order = _refresh_quietly(order=order, client=client)
    audit_log(
        actor=actor,
        account=order.account,
        action="order.fulfillment_changed",
        target=order_target(order),
        before=before,
        after={"fulfillment": status, "revision": order.revision},
        allegro_trace_id=done.trace_id,
    )
    return OrderOutcome(state="done", revision=order.revision, trace_id=done.trace_id)


def _refresh_quietly(*, order: Order, client: AllegroClient) -> Order:
    """Refresh after a change that Allegro accepted; a failed re-read leaves it to the sync."""
    try:
        return order_refresh(order=order, client=client)
    except errors.AllegroError:
        return order


# --- tracking numbers -------------------------------------------------------------------------


def order_add_tracking(
    *,
    order: Order,
    actor: AnyUser,
    carrier_id: str,
    waybill: str,
    carrier_name: str = "",
    line_item_ids: Sequence[str] = (),
    set_sent: bool = False,
    seen_revision: str | None = None,
    client: AllegroClient | None = None,
) -> OrderOutcome:
    """Add a waybill (all lines when none are chosen); optionally set ``SENT`` afterwards.

    ``seen_revision`` is the revision the staff member was looking at: when the mirror moved on
    since, or the order changed on Allegro for another reason than this waybill, ``SENT`` is not
    set and the changes are returned as a conflict.
    """
    account_require_role(user=actor, account=order.account, role=Role.OPERATOR)
    account_require_writable(account=order.account)
    try:
        client = client or allegro_client_for(account=order.account)
        created = orders_api.add_tracking_number(
            client,
            checkout_form_id=str(order.allegro_id),
            carrier_id=carrier_id,
            waybill=waybill,
            carrier_name=carrier_name if carrier_id == "OTHER" and carrier_name else None,
            line_item_ids=list(line_item_ids) or None,
        )
    except errors.AllegroError as exc:
        return OrderOutcome(state="failed", message=describe_error(exc), trace_id=exc.trace_id)
    seen_revision_in_mirror = order.revision
    seen_raw = dict(order.raw or {})
    order = _refresh_quietly(order=order, client=client)
    audit_log(
        actor=actor,
        account=order.account,
        action="order.tracking_added",
        target=order_target(order),
        before={"revision": seen_revision_in_mirror},
        after={
            "waybill": created.waybill,
            "carrier": created.carrier_id,
            "carrier_name": created.carrier_name,
            "line_items": created.line_item_ids,
        },
        allegro_trace_id=created.trace_id,
    )
    if not set_sent:
        return OrderOutcome(state="done", revision=order.revision, trace_id=created.trace_id)
    # Adding the waybill gave the form a new revision; anything else that changed since the
    # page was loaded (besides what the waybill itself did) is a conflict to show first.
    stale_page = bool(seen_revision) and seen_revision != seen_revision_in_mirror
    if stale_page or _changed_by_others(seen_raw, order.raw or {}):
        return OrderOutcome(
            state="conflict",
            message=_(
                "The tracking number was added, but the order changed on Allegro since you "
                "loaded it, so it was not marked as sent."
            ),
            changes=document_changes(seen_raw, order.raw or {}),
            revision=order.revision,
        )
    return order_set_fulfillment(
        order=order, actor=actor, status="SENT", revision=order.revision, client=client
    )


WAYBILL_SIDE_EFFECTS = ("revision", "updatedAt", "fulfillment.shipmentSummary.lineItemsSent")


def _changed_by_others(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    return any(row["path"] not in WAYBILL_SIDE_EFFECTS for row in document_changes(before, after))


# --- bulk fulfillment -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BulkRow:
    order: Order
    state: str
    message: str


def orders_bulk_fulfillment(
    *, orders: Sequence[Order], actor: AnyUser, status: str
) -> list[BulkRow]:
    """Set ``status`` on each order with the revision the mirror holds; one result per order."""
    rows = []
    clients: dict[int, AllegroClient] = {}
    for order in orders:
        try:
            if order.account_id not in clients:
                account_require_role(user=actor, account=order.account, role=Role.OPERATOR)
                account_require_writable(account=order.account)
                clients[order.account_id] = allegro_client_for(account=order.account)
            outcome = order_set_fulfillment(
                order=order,
                actor=actor,
                status=status,
                revision=order.revision,
                client=clients[order.account_id],
            )
        except AccountReadOnly as exc:
            rows.append(BulkRow(order=order, state="failed", message=str(exc)))
            continue
        except PermissionDenied:
            rows.append(
                BulkRow(order=order, state="failed", message=_("Your role does not allow this."))
            )
            continue
        except errors.AllegroError as exc:
            rows.append(BulkRow(order=order, state="failed", message=describe_error(exc)))
            continue
        rows.append(BulkRow(order=order, state=outcome.state, message=outcome.message))
    return rows
