"""Staff actions on offers: edit one offer, activate / end it, and bulk commands.

Every change goes to Allegro through the account's client; the mirror is then refreshed from
Allegro's answer (the listing document), never from the form. Roles are checked here: editing
offers and prices needs a manager.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.audit import audit_log
from accounts.models import AllegroAccount, AuditLogEntry, Role
from accounts.services import (
    account_require_role,
    account_require_writable,
    allegro_client_for,
)
from allegro import errors
from allegro.api import offers as offers_api
from allegro.api._base import Money
from allegro.client import AllegroClient
from jobs.models import FINAL_ITEM_STATUSES, ItemStatus, Job, JobItem, JobStatus
from jobs.registry import FINISHED, Step, again
from jobs.selectors import job_items, job_latest_for_target, jobs_for_user
from jobs.services import (
    ItemSpec,
    job_audit_once,
    job_create,
    job_item_update,
    job_items_audit_once,
    job_items_update,
    job_progress_refresh,
)
from offers.forms import marketplace_price_field
from offers.models import Offer
from offers.selectors import offer_marketplace_prices, offer_target
from offers.sync import offer_fields, offers_upsert
from ui import errors as ui_errors
from ui.labels import decimal_or_none, number_text, status_label

if TYPE_CHECKING:
    from accounts.selectors import AnyUser

log = logging.getLogger(__name__)

# Allegro's ``path`` prefix → the edit form's field.
FIELD_FOR_PATH = {
    "name": "title",
    "sellingMode": "price",
    "stock": "stock",
}
# ``additionalMarketplaces.<marketplace id>…`` names that marketplace's price field.
ADDITIONAL_MARKETPLACES = "additionalMarketplaces"
REFRESH_CHUNK = 100


# --- errors as messages ----------------------------------------------------------------------


def field_for_path(path: str | None) -> str | None:
    """The edit form field an Allegro error ``path`` names (``None``: not a field of ours)."""
    return ui_errors.field_for_path(
        path, fields=FIELD_FOR_PATH, keyed={ADDITIONAL_MARKETPLACES: marketplace_price_field}
    )


def errors_by_field(exc: errors.AllegroError) -> dict[str | None, list[str]]:
    """Allegro's errors grouped by edit form field (``None`` = the form as a whole)."""
    return ui_errors.errors_by_field(exc, field_of=field_for_path, describe=describe_error)


def describe_error(exc: Exception) -> str:
    return ui_errors.describe_error(
        exc,
        unlinked=gettext_lazy("This Allegro account is unlinked: its offers are read-only here."),
        by_type=[
            (
                errors.Conflict,
                gettext_lazy(
                    "Allegro is still processing a previous change of this offer. "
                    "Try again shortly."
                ),
            )
        ],
    )


# --- mirror refresh from Allegro's answer ----------------------------------------------------


def offers_refresh(
    *, account: AllegroAccount, client: AllegroClient, allegro_ids: Sequence[str]
) -> int:
    """Re-read ``allegro_ids`` from ``GET /sale/offers`` and upsert them into the mirror."""
    written = 0
    ids = list(dict.fromkeys(allegro_ids))
    for start in range(0, len(ids), REFRESH_CHUNK):
        chunk = ids[start : start + REFRESH_CHUNK]
        page = offers_api.list_offers(
            client,
            filters=offers_api.OfferFilters(offer_ids=chunk),
            limit=len(chunk),
        )
        written += offers_upsert(account=account, offers=page.offers, synced_at=timezone.now())
    return written


def _snapshot(offer: Offer) -> dict[str, Any]:
    return {
        "name": offer.name,
        "price": None if offer.price_amount is None else f"{offer.price_amount:.2f}",
        "currency": offer.price_currency,
        "stock": offer.stock_available,
        "status": offer.status,
        "marketplace_prices": dict(offer.marketplace_prices or {}),
    }


# --- edit one offer ---------------------------------------------------------------------------

EDIT_JOB = "offers.edit"
# When Allegro names no ``Retry-After`` for a running operation, look again after this long.
OPERATION_WAIT = 5.0
# The offer-document fields a PATCH answer carries that the mirror keeps (the sold count, the
# image and the listing document itself wait for the next sync).
ANSWER_FIELDS = (
    "name",
    "status",
    "price_amount",
    "price_currency",
    "marketplace_prices",
    "stock_available",
)


@dataclass(kw_only=True)
class EditOutcome:
    """``done``: Allegro applied it; ``pending``: 202, the job ``token`` polls Allegro;
    ``failed``: see ``field_errors``; ``unchanged``: nothing to send (or nothing to follow)."""

    state: Literal["done", "pending", "failed", "unchanged"]
    field_errors: dict[str | None, list[str]] = field(default_factory=dict)
    token: str | None = None
    trace_id: str | None = None


class UnknownMarketplace(ValueError):
    """A price for a marketplace the offer has no price on (per the mirror)."""


def _additional_prices(offer: Offer) -> dict[str, dict[str, Any]]:
    """The mirror's prices on the offer's additional marketplaces (the base one left out)."""
    return {
        row["marketplace"]: row for row in offer_marketplace_prices(offer=offer) if not row["base"]
    }


def offer_changes_for(
    *,
    offer: Offer,
    title: str,
    price: Decimal,
    stock: int,
    marketplace_prices: Mapping[str, Decimal] | None = None,
) -> dict[str, Any]:
    """The PATCH body with only what differs from the mirror.

    ``marketplace_prices`` (additional marketplace id → amount) go out as
    ``additionalMarketplaces.<id>.sellingMode.price`` in the currency the mirror holds for that
    marketplace; a marketplace the offer has no price on raises ``UnknownMarketplace``.
    """
    changes: dict[str, Any] = {}
    if title != offer.name:
        changes["name"] = title
    if offer.price_amount is None or price != offer.price_amount:
        currency = offer.price_currency or "PLN"
        changes["sellingMode"] = {"price": Money(amount=price, currency=currency).as_json()}
    current = _additional_prices(offer)
    extra: dict[str, Any] = {}
    for market, amount in (marketplace_prices or {}).items():
        if market not in current or not current[market].get("currency"):
            raise UnknownMarketplace(market)
        held = current[market].get("amount")
        if held is not None and Decimal(str(held)) == amount:
            continue
        money = Money(amount=amount, currency=str(current[market]["currency"]))
        extra[market] = {"sellingMode": {"price": money.as_json()}}
    if extra:
        changes[ADDITIONAL_MARKETPLACES] = extra
    if stock != offer.stock_available:
        changes["stock"] = {"available": stock}
    return changes


def offer_store_answer(*, offer: Offer, document: offers_api.ProductOffer) -> Offer:
    """Write Allegro's answer to an edit (the offer as Allegro now holds it) into the mirror,
    through the same field mapping as the sync; no second read."""
    base = next(
        (row["marketplace"] for row in offer_marketplace_prices(offer=offer) if row["base"]),
        offer.account.base_marketplace or "allegro-pl",
    )
    mapped = offer_fields(document.summary, base_marketplace=base)
    changed = {name: mapped[name] for name in ANSWER_FIELDS if mapped[name] not in (None, "", {})}
    Offer.objects.filter(pk=offer.pk).update(**changed)
    for name, value in changed.items():
        setattr(offer, name, value)
    return offer


def _errors_list(exc: errors.AllegroError) -> list[dict[str, str | None]]:
    """Allegro's errors as ``{"field", "message"}`` (the edit form's field, or ``None``)."""
    return [
        {"field": name, "message": text}
        for name, texts in errors_by_field(exc).items()
        for text in texts
    ]


def offer_edit(
    *,
    offer: Offer,
    actor: AnyUser,
    title: str,
    price: Decimal,
    stock: int,
    marketplace_prices: Mapping[str, Decimal] | None = None,
    client: AllegroClient | None = None,
) -> EditOutcome:
    """Send the changed fields with ``PATCH /sale/product-offers/{id}`` (manager only).

    ``price`` is the base marketplace's; ``marketplace_prices`` maps additional marketplace ids
    to their new amounts (see ``offer_changes_for``). An unlinked account is refused
    (``AccountReadOnly``). A 200 answer is written into the mirror as it is; a 202 becomes an
    ``offers.edit`` job that follows Allegro's operation and writes the outcome and its audit
    entry when Allegro has one.
    """
    account_require_role(user=actor, account=offer.account, role=Role.MANAGER)
    account_require_writable(account=offer.account)
    changes = offer_changes_for(
        offer=offer,
        title=title,
        price=price,
        stock=stock,
        marketplace_prices=marketplace_prices,
    )
    if not changes:
        return EditOutcome(state="unchanged")
    before = _snapshot(offer)
    try:
        client = client or allegro_client_for(account=offer.account)
        result = offers_api.patch_product_offer(
            client, offer_id=offer.allegro_id, changes=changes, max_polls=0
        )
    except errors.AllegroError as exc:
        audit_log(
            actor=actor,
            account=offer.account,
            action="offer.edit_failed",
            target=offer_target(offer),
            before=before,
            after={"requested": changes, "errors": [e.message for e in exc.errors]},
            allegro_trace_id=exc.trace_id,
        )
        return EditOutcome(state="failed", field_errors=errors_by_field(exc), trace_id=exc.trace_id)
    if result.offer is not None:
        offer_store_answer(offer=offer, document=result.offer)
        audit_log(
            actor=actor,
            account=offer.account,
            action="offer.edited",
            target=offer_target(offer),
            before=before,
            after=_snapshot(offer),
            allegro_trace_id=result.trace_id,
        )
        return EditOutcome(state="done", trace_id=result.trace_id)
    assert result.operation_url is not None
    wait = result.retry_after if result.retry_after is not None else OPERATION_WAIT
    with transaction.atomic():
        job = job_create(
            kind=EDIT_JOB,
            actor=actor,
            account=offer.account,
            title=offer.name,
            params={"offer": offer.pk},
            status=JobStatus.WAITING,
            items=[
                ItemSpec(
                    account=offer.account,
                    key=offer.allegro_id,
                    label=offer.name,
                    status=ItemStatus.SENT,
                    operation_url=result.operation_url,
                    trace_id=result.trace_id or "",
                    data={"changes": changes},
                    before=before,
                )
            ],
            countdown=wait,
        )
        audit_log(
            actor=actor,
            account=offer.account,
            action="offer.edit_requested",
            target=offer_target(offer),
            before=before,
            after={"requested": changes, "operation": result.operation_url},
            allegro_trace_id=result.trace_id,
        )
    return EditOutcome(state="pending", token=str(job.pk), trace_id=result.trace_id)


def offer_edit_step(job: Job) -> Step:
    """Runner of ``offers.edit``: one look at Allegro's operation. Still running: look again
    after ``Retry-After``. Done: the mirror takes the final offer, ``offer.edited`` is audited
    once. Refused: Allegro's message and field go on the item, ``offer.edit_failed`` once."""
    item = job.items.select_related("account").get()
    offer = Offer.objects.select_related("account").filter(pk=job.params.get("offer")).first()
    target = f"offer:{item.key}"
    if item.status not in FINAL_ITEM_STATUSES:
        try:
            client = allegro_client_for(account=item.account)
            result = offers_api.poll_offer_operation(
                client, operation_url=item.operation_url, first_wait=0, max_polls=1, sleep=_no_wait
            )
        except errors.TransientError:
            raise  # the job task retries (bounded)
        except errors.AllegroError as exc:  # refused for good (AccountNotUsable included)
            found = _errors_list(exc)
            job_item_update(
                item=item,
                status=ItemStatus.FAILED,
                message="\n".join(str(e["message"]) for e in found)[:2000],
                field=next((str(e["field"]) for e in found if e["field"]), "")[:128],
                trace_id=(getattr(exc, "trace_id", None) or item.trace_id or "")[:128],
                after={"errors": found},
            )
        else:
            if result.offer is None:
                job_item_update(item=item, trace_id=(result.trace_id or item.trace_id)[:128])
                wait = result.retry_after if result.retry_after is not None else OPERATION_WAIT
                return again(wait)
            if offer is not None:
                offer_store_answer(offer=offer, document=result.offer)
            after = _snapshot(offer) if offer is not None else {}
            job_item_update(
                item=item,
                status=ItemStatus.SUCCESS,
                message="",
                trace_id=(result.trace_id or item.trace_id)[:128],
                after=after,
            )
    changes = item.data.get("changes", {})
    if item.status == ItemStatus.SUCCESS:
        job_audit_once(
            item=item,
            actor=job.actor,
            action="offer.edited",
            target=target,
            before=item.before,
            after=item.after,
            trace_id=item.trace_id or None,
        )
    else:
        found = (item.after or {}).get("errors") or [{"field": None, "message": item.message}]
        job_audit_once(
            item=item,
            actor=job.actor,
            action="offer.edit_failed",
            target=target,
            before=item.before,
            after={"requested": changes, "errors": [e["message"] for e in found]},
            trace_id=item.trace_id or None,
        )
    return FINISHED


def _no_wait(_seconds: float) -> None:
    """The job's schedule does the waiting (``again``), never a sleeping worker."""


def offer_edit_job_get(*, offer: Offer, user: AnyUser, job_id: str) -> JobItem | None:
    """The user's edit job ``job_id`` of ``offer`` (its one item), else ``None``."""
    try:
        job = jobs_for_user(user=user).get(pk=job_id, kind=EDIT_JOB)
    except (Job.DoesNotExist, ValidationError, ValueError):
        return None
    return (
        job.items.select_related("job", "account")
        .filter(account_id=offer.account_id, key=offer.allegro_id)
        .first()
    )


EDIT_ACTIONS = ("offer.edit_requested", "offer.edited", "offer.edit_failed")


def offer_edit_pending(*, offer: Offer, trail: Sequence[AuditLogEntry]) -> JobItem | None:
    """The offer's edit still waiting for Allegro (the newest), if any. ``trail`` is the offer's
    audit trail, newest first: only when its last edit entry is a 202 request can an edit be
    pending, so the offer page reads the job only then."""
    last = next((entry.action for entry in trail if entry.action in EDIT_ACTIONS), None)
    if last != "offer.edit_requested":
        return None
    item = job_latest_for_target(kind=EDIT_JOB, account_id=offer.account_id, key=offer.allegro_id)
    return item if item is not None and item.job.is_active else None


def offer_edit_outcome(*, item: JobItem) -> EditOutcome:
    """What the page says about an edit job: pending, done or failed (with Allegro's errors)."""
    if item.status == ItemStatus.SUCCESS:
        return EditOutcome(state="done", token=str(item.job_id), trace_id=item.trace_id)
    if item.status == ItemStatus.FAILED:
        found = (item.after or {}).get("errors") or [{"field": None, "message": item.message}]
        by_field: dict[str | None, list[str]] = {}
        for error in found:
            by_field.setdefault(error.get("field"), []).append(str(error.get("message") or ""))
        return EditOutcome(
            state="failed", field_errors=by_field, token=str(item.job_id), trace_id=item.trace_id
        )
    return EditOutcome(state="pending", token=str(item.job_id), trace_id=item.trace_id)


# --- activate / end one offer ----------------------------------------------------------------


@dataclass(kw_only=True)
class CommandOutcome:
    ok: bool
    message: str = ""
    trace_id: str | None = None


def _wait_command(
    client: AllegroClient,
    *,
    kind: offers_api.CommandKind,
    command_id: str,
    polls: int = 30,
    sleep: Callable[[float], None] = time.sleep,
) -> offers_api.CommandReport:
    """Poll a batch command's report until it is done (bounded)."""
    report = offers_api.get_command(client, kind=kind, command_id=command_id)
    for _attempt in range(polls):
        if report.done:
            break
        sleep(1.0)
        report = offers_api.get_command(client, kind=kind, command_id=command_id)
    return report


def offer_set_publication(
    *,
    offer: Offer,
    actor: AnyUser,
    action: Literal["ACTIVATE", "END"],
    client: AllegroClient | None = None,
) -> CommandOutcome:
    """Activate or end one offer with a publication command (manager only, linked accounts)."""
    account_require_role(user=actor, account=offer.account, role=Role.MANAGER)
    account_require_writable(account=offer.account)
    before = _snapshot(offer)
    command_id = str(uuid.uuid4())
    try:
        client = client or allegro_client_for(account=offer.account)
        sent = offers_api.change_publication(
            client, command_id=command_id, offer_ids=[offer.allegro_id], action=action
        )
        _wait_command(client, kind="publication", command_id=command_id)
        tasks = list(
            offers_api.iter_command_tasks(client, kind="publication", command_id=command_id)
        )
    except errors.AllegroError as exc:
        return CommandOutcome(ok=False, message=describe_error(exc), trace_id=exc.trace_id)
    failed = [t for t in tasks if t.status == "FAIL"]
    if not failed:
        offers_refresh(account=offer.account, client=client, allegro_ids=[offer.allegro_id])
        offer.refresh_from_db()
    audit_log(
        actor=actor,
        account=offer.account,
        action="offer.activated" if action == "ACTIVATE" else "offer.ended",
        target=offer_target(offer),
        before=before,
        after={**_snapshot(offer), "command": command_id, "failed": bool(failed)},
        allegro_trace_id=sent.trace_id,
    )
    if failed:
        return CommandOutcome(ok=False, message=_task_message(failed[0]), trace_id=sent.trace_id)
    return CommandOutcome(ok=True, trace_id=sent.trace_id)


def _task_message(task: offers_api.CommandTask) -> str:
    if task.message:
        return task.message
    for error in task.errors:
        text = error.get("userMessage") or error.get("message")
        if text:
            return str(text)
    return _("Allegro refused the change.")


# --- bulk actions -----------------------------------------------------------------------------

BULK_JOB = "offers.bulk"
# Look at a batch command Allegro is still running again after this long.
COMMAND_WAIT = 2.0
PRICE_KINDS: dict[str, offers_api.PriceModificationType] = {
    "price_set": "FIXED_PRICE",
    "price_increase": "INCREASE_PRICE",
    "price_decrease": "DECREASE_PRICE",
    "price_increase_pct": "INCREASE_PERCENTAGE",
    "price_decrease_pct": "DECREASE_PERCENTAGE",
}
# An item's status as the bulk report shows it (``bulk_result`` labels).
BULK_RESULT = {
    ItemStatus.SUCCESS: "SUCCESS",
    ItemStatus.FAILED: "FAIL",
    ItemStatus.SKIPPED: "FAIL",
}


@dataclass(frozen=True, kw_only=True)
class BulkChunk:
    """One Allegro batch command of a bulk job: its id (fixed at plan time) and its offers."""

    command_id: str
    items: list[JobItem]

    @property
    def ids(self) -> list[str]:
        return [item.key for item in self.items]

    @property
    def account(self) -> AllegroAccount:
        return self.items[0].account


def _chunks(members: Sequence[Offer], size: int) -> Iterable[list[Offer]]:
    for start in range(0, len(members), size):
        yield list(members[start : start + size])


def bulk_job_create(
    *,
    actor: AnyUser,
    offers: Iterable[Offer],
    action: str,
    value: Decimal | None,
    chunk_size: int = offers_api.MAX_OFFERS_PER_COMMAND,
    enqueue: bool = True,
) -> Job:
    """Plan a bulk action as an ``offers.bulk`` job: one item per offer, one Allegro command per
    account (and currency) per ``chunk_size`` offers, its id fixed now in the items so that a
    rerun never sends a command twice.

    Raises ``PermissionDenied`` unless the actor manages every account in the selection, and
    ``AccountReadOnly`` (a ``PermissionDenied``) when one of them is unlinked.
    """
    groups: dict[tuple[int, str], list[Offer]] = {}
    accounts: dict[int, AllegroAccount] = {}
    for offer in offers:
        accounts[offer.account_id] = offer.account
        groups.setdefault((offer.account_id, offer.price_currency or "PLN"), []).append(offer)
    for account in accounts.values():
        account_require_role(user=actor, account=account, role=Role.MANAGER)
        account_require_writable(account=account)
    items = []
    for (account_id, currency), members in groups.items():
        for part in _chunks(members, chunk_size):
            command_id = str(uuid.uuid4())
            items += [
                ItemSpec(
                    account=accounts[account_id],
                    key=offer.allegro_id,
                    label=offer.name,
                    command_id=command_id,
                    # What the mirror held before; ``after`` once Allegro answered: the report
                    # shows old → new per offer.
                    data={"currency": offer.price_currency or currency},
                    before=_bulk_values(offer),
                )
                for offer in part
            ]
    return job_create(
        kind=BULK_JOB,
        actor=actor,
        account=next(iter(accounts.values())) if len(accounts) == 1 else None,
        title=bulk_job_title(action=action, value=value),
        params={"action": action, "value": None if value is None else str(value)},
        items=items,
        enqueue=enqueue,
    )


def bulk_job_get(*, job_id: str, user: AnyUser) -> Job | None:
    """The bulk job if ``user`` may see it (they started it, or a superuser), else ``None``."""
    try:
        return jobs_for_user(user=user).get(pk=job_id, kind=BULK_JOB)
    except (Job.DoesNotExist, ValidationError, ValueError):
        return None


def bulk_job_chunks(*, job: Job) -> list[BulkChunk]:
    """The job's batch commands in plan order."""
    chunks: dict[str, list[JobItem]] = {}
    for item in job_items(job=job):
        chunks.setdefault(item.command_id, []).append(item)
    return [BulkChunk(command_id=cid, items=members) for cid, members in chunks.items()]


def _send_chunk(client: AllegroClient, *, job: Job, chunk: BulkChunk) -> None:
    """PUT the chunk's command (its id was fixed at plan time)."""
    action, raw_value = job.params["action"], job.params.get("value")
    value = Decimal(raw_value) if raw_value else None
    ids, command_id = chunk.ids, chunk.command_id
    if action in PRICE_KINDS:
        assert value is not None
        kind = PRICE_KINDS[action]
        currency = str(chunk.items[0].data.get("currency") or "PLN")
        modification = (
            offers_api.price_modification(kind, percentage=f"{value:.2f}")
            if kind.endswith("PERCENTAGE")
            else offers_api.price_modification(kind, amount=Money(amount=value, currency=currency))
        )
        offers_api.modify_prices(
            client, command_id=command_id, offer_ids=ids, modification=modification
        )
    elif action in ("stock_set", "stock_add"):
        assert value is not None
        offers_api.change_quantities(
            client,
            command_id=command_id,
            offer_ids=ids,
            change_type="FIXED" if action == "stock_set" else "GAIN",
            value=int(value),
        )
    else:
        offers_api.change_publication(
            client,
            command_id=command_id,
            offer_ids=ids,
            action="ACTIVATE" if action == "activate" else "END",
        )


def _kind_of(action: str) -> offers_api.CommandKind:
    if action in PRICE_KINDS:
        return "price"
    if action.startswith("stock_"):
        return "quantity"
    return "publication"


def bulk_job_step(job: Job) -> Step:
    """Runner of ``offers.bulk``: every chunk not yet reported is sent (once: a 409 means an
    earlier run sent it) and read back; per-offer outcomes and Allegro's messages go on the
    items, the mirror is refreshed, each chunk is audited once. A command Allegro is still
    running is looked at again later; transient errors retry (bounded) from where they stopped.
    """
    kind = _kind_of(job.params["action"])
    clients: dict[int, AllegroClient] = {}
    for chunk in bulk_job_chunks(job=job):
        if all(item.audited_at is not None for item in chunk.items):
            continue
        account = chunk.account
        if account.pk not in clients:
            clients[account.pk] = allegro_client_for(account=account)
        if not _run_chunk(job=job, chunk=chunk, kind=kind, client=clients[account.pk]):
            return again(COMMAND_WAIT)
        job_progress_refresh(job=job)
    return FINISHED


def _run_chunk(
    *, job: Job, chunk: BulkChunk, kind: offers_api.CommandKind, client: AllegroClient
) -> bool:
    """Advance one chunk; ``False`` while Allegro is still running its command."""
    keys = [(item.account_id, item.key) for item in chunk.items]
    trace_id: str | None = None
    if any(item.status not in FINAL_ITEM_STATUSES for item in chunk.items):
        try:
            if any(item.status == ItemStatus.PENDING for item in chunk.items):
                # A 409 means an earlier run sent it: only read its outcome below.
                with contextlib.suppress(errors.Conflict):
                    _send_chunk(client, job=job, chunk=chunk)
                job_items_update(job=job, keys=keys, status=ItemStatus.SENT)
            report = offers_api.get_command(client, kind=kind, command_id=chunk.command_id)
            trace_id = report.trace_id
            if not report.done:
                return False
            tasks = list(
                offers_api.iter_command_tasks(client, kind=kind, command_id=chunk.command_id)
            )
        except errors.TransientError:
            raise  # the job task retries (bounded); the chunk keeps its command id
        except errors.AllegroError as exc:
            job_items_update(
                job=job,
                keys=keys,
                status=ItemStatus.FAILED,
                message=describe_error(exc)[:2000],
                trace_id=(exc.trace_id or "")[:128],
            )
        else:
            _record_outcomes(chunk=chunk, tasks=tasks, client=client, trace_id=trace_id)
    items = list(
        JobItem.objects.filter(pk__in=[i.pk for i in chunk.items]).select_related("account")
    )
    succeeded = sum(1 for item in items if item.status == ItemStatus.SUCCESS)
    job_items_audit_once(
        items=items,
        actor=job.actor,
        action=f"offers.bulk.{job.params['action']}",
        target=f"command:{chunk.command_id}",
        before={"offers": chunk.ids, "value": job.params.get("value")},
        after={"success": succeeded, "failed": len(items) - succeeded},
        trace_id=trace_id or next((i.trace_id for i in items if i.trace_id), None),
    )
    return True


def _record_outcomes(
    *,
    chunk: BulkChunk,
    tasks: Sequence[offers_api.CommandTask],
    client: AllegroClient,
    trace_id: str | None,
) -> None:
    """Each offer's outcome, with the mirror's values after Allegro's answer (old → new)."""
    by_id = {t.offer_id: t for t in tasks if t.offer_id}
    succeeded = [
        item.key
        for item in chunk.items
        if by_id.get(item.key) is not None and by_id[item.key].status == "SUCCESS"
    ]
    if succeeded:
        offers_refresh(account=chunk.account, client=client, allegro_ids=succeeded)
    fields = ("allegro_id", "price_amount", "stock_available", "status")
    after = {
        offer.allegro_id: _bulk_values(offer)
        for offer in Offer.objects.filter(account=chunk.account, allegro_id__in=chunk.ids).only(
            *fields
        )
    }
    with transaction.atomic():
        for item in chunk.items:
            task = by_id.get(item.key)
            if task is None:
                status, message = ItemStatus.FAILED, _("Allegro did not report on this offer.")
            elif task.status == "SUCCESS":
                status, message = ItemStatus.SUCCESS, ""
            else:
                status, message = ItemStatus.FAILED, _task_message(task)
            job_item_update(
                item=item,
                status=status,
                message=message[:2000],
                trace_id=(trace_id or "")[:128],
                after=after.get(item.key),
            )


def _bulk_values(offer: Offer) -> dict[str, Any]:
    return {
        "price": None if offer.price_amount is None else f"{offer.price_amount:.2f}",
        "stock": offer.stock_available,
        "status": offer.status,
    }


BULK_TITLES = {
    "price_set": gettext_lazy("Price = %(value)s"),
    "price_increase": gettext_lazy("Price +%(value)s"),
    "price_decrease": gettext_lazy("Price -%(value)s"),
    "price_increase_pct": gettext_lazy("Price +%(value)s%%"),
    "price_decrease_pct": gettext_lazy("Price -%(value)s%%"),
    "stock_set": gettext_lazy("Stock = %(value)s"),
    "stock_add": gettext_lazy("Stock +%(value)s"),
    "stock_subtract": gettext_lazy("Stock -%(value)s"),
    "activate": gettext_lazy("Offers activated"),
    "end": gettext_lazy("Offers ended"),
}


def bulk_job_title(*, action: str, value: str | Decimal | None) -> str:
    """What a bulk job does, in the interface language: "Cena +10 %", "Stan = 5"."""
    amount = decimal_or_none(value)
    if action == "stock_add" and amount is not None and amount < 0:
        action, amount = "stock_subtract", -amount
    template = BULK_TITLES.get(action)
    if template is None:
        return action
    text = str(template)
    if "%(value)s" not in text:
        return text
    decimals = 2 if action in ("price_set", "price_increase", "price_decrease") else None
    shown = "—" if amount is None else number_text(amount, decimals=decimals)
    return text % {"value": shown}


def bulk_job_kind(job: Job) -> offers_api.CommandKind:
    """``price``, ``quantity`` or ``publication``: which old → new values the report shows."""
    return _kind_of(job.params["action"])


def bulk_job_rows(*, job: Job) -> list[dict[str, Any]]:
    """The report's rows: account, offer, title, result (``bulk_result``), Allegro's message,
    currency and the values before and after."""
    return [
        {
            "account": item.account.login,
            "offer_id": item.key,
            "title": item.label,
            "status": BULK_RESULT.get(ItemStatus(item.status), "PENDING"),
            "message": item.message,
            "currency": item.data.get("currency", ""),
            "before": item.before,
            "after": item.after,
        }
        for item in job_items(job=job)
    ]


def _side(row: Mapping[str, Any], side: str, key: str) -> Any:
    values = row.get(side)
    return values.get(key) if isinstance(values, Mapping) else None


def bulk_job_report(*, job: Job) -> tuple[list[str], list[list[str]]]:
    """The report's header and rows as text in the active language (for the CSV export):
    translated headers and results, numbers in the locale's format, old → new per offer."""
    kind = bulk_job_kind(job)
    header = [_("Account"), _("Offer id"), _("Title")]
    if kind == "price":
        header += [_("Price before"), _("Price after"), _("Currency")]
    elif kind == "quantity":
        header += [_("Stock before"), _("Stock after")]
    else:
        header += [_("Status before"), _("Status after")]
    header += [_("Result"), _("Allegro's message")]
    rows = []
    for row in bulk_job_rows(job=job):
        line = [str(row["account"]), str(row["offer_id"]), str(row["title"])]
        if kind == "price":
            line += [
                _number_cell(_side(row, "before", "price"), decimals=2),
                _number_cell(_side(row, "after", "price"), decimals=2),
                str(row.get("currency") or ""),
            ]
        elif kind == "quantity":
            line += [
                _number_cell(_side(row, "before", "stock"), decimals=0),
                _number_cell(_side(row, "after", "stock"), decimals=0),
            ]
        else:
            line += [
                _status_cell(_side(row, "before", "status")),
                _status_cell(_side(row, "after", "status")),
            ]
        line += [status_label("bulk_result", row["status"]), str(row["message"] or "")]
        rows.append(line)
    return header, rows


def _number_cell(value: Any, *, decimals: int) -> str:
    return "" if decimal_or_none(value) is None else number_text(value, decimals=decimals)


def _status_cell(value: Any) -> str:
    return "" if not value else status_label("offer", value)
