"""Staff actions on offers: edit one offer, activate / end it, and bulk commands.

Every change goes to Allegro through the account's client; the mirror is then refreshed from
Allegro's answer (the listing document), never from the form. Roles are checked here: editing
offers and prices needs a manager.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.audit import audit_log
from accounts.models import AllegroAccount, Role
from accounts.services import account_require_role, allegro_client_for
from allegro import errors
from allegro.api import offers as offers_api
from allegro.api._base import Money
from allegro.client import AllegroClient
from offers.forms import marketplace_price_field
from offers.models import Offer
from offers.selectors import offer_marketplace_prices, offer_target
from offers.sync import offers_upsert
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
PENDING_TTL = 3600
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
        written += offers_upsert(
            account=account, docs=[o.raw for o in page.offers], synced_at=timezone.now()
        )
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


@dataclass(kw_only=True)
class EditOutcome:
    """``done``: Allegro applied it; ``pending``: 202, poll ``token``; ``failed``: see errors."""

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
    to their new amounts (see ``offer_changes_for``).
    """
    account_require_role(user=actor, account=offer.account, role=Role.MANAGER)
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
    if result.completed:
        _finish_edit(
            offer=offer, actor=actor, client=client, before=before, trace_id=result.trace_id
        )
        return EditOutcome(state="done", trace_id=result.trace_id)
    assert result.operation_url is not None
    token = secrets.token_urlsafe(12)
    cache.set(
        _pending_key(token),
        {
            "offer": offer.pk,
            "user": actor.pk,
            "url": result.operation_url,
            "before": before,
            "changes": changes,
        },
        PENDING_TTL,
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
    return EditOutcome(state="pending", token=token, trace_id=result.trace_id)


def _pending_key(token: str) -> str:
    return f"offers:operation:{token}"


def _finish_edit(
    *,
    offer: Offer,
    actor: AnyUser,
    client: AllegroClient,
    before: Mapping[str, Any],
    trace_id: str | None,
) -> Offer:
    offers_refresh(account=offer.account, client=client, allegro_ids=[offer.allegro_id])
    offer.refresh_from_db()
    audit_log(
        actor=actor,
        account=offer.account,
        action="offer.edited",
        target=offer_target(offer),
        before=dict(before),
        after=_snapshot(offer),
        allegro_trace_id=trace_id,
    )
    return offer


def offer_operation_check(
    *, offer: Offer, actor: AnyUser, token: str, client: AllegroClient | None = None
) -> EditOutcome:
    """One poll of a pending edit: ``done`` (mirror + audit updated), ``pending`` or ``failed``.

    An unknown token (expired, or already finished) reads as ``done``: the page shows the offer.
    """
    pending = cache.get(_pending_key(token))
    if not pending or pending.get("offer") != offer.pk or pending.get("user") != actor.pk:
        return EditOutcome(state="unchanged")
    try:
        client = client or allegro_client_for(account=offer.account)
        result = offers_api.poll_offer_operation(
            client, operation_url=pending["url"], max_polls=1, sleep=lambda _s: None
        )
    except errors.TransientError as exc:
        return EditOutcome(state="pending", token=token, field_errors={None: [describe_error(exc)]})
    except errors.AllegroError as exc:
        cache.delete(_pending_key(token))
        audit_log(
            actor=actor,
            account=offer.account,
            action="offer.edit_failed",
            target=offer_target(offer),
            before=pending["before"],
            after={"requested": pending["changes"], "errors": [e.message for e in exc.errors]},
            allegro_trace_id=exc.trace_id,
        )
        return EditOutcome(state="failed", field_errors=errors_by_field(exc), trace_id=exc.trace_id)
    if not result.completed:
        return EditOutcome(state="pending", token=token, trace_id=result.trace_id)
    cache.delete(_pending_key(token))
    _finish_edit(
        offer=offer, actor=actor, client=client, before=pending["before"], trace_id=result.trace_id
    )
    return EditOutcome(state="done", trace_id=result.trace_id)


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
    """Activate or end one offer with a publication command (manager only)."""
    account_require_role(user=actor, account=offer.account, role=Role.MANAGER)
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

BULK_TTL = 7 * 24 * 3600
PRICE_KINDS: dict[str, offers_api.PriceModificationType] = {
    "price_set": "FIXED_PRICE",
    "price_increase": "INCREASE_PRICE",
    "price_decrease": "DECREASE_PRICE",
    "price_increase_pct": "INCREASE_PERCENTAGE",
    "price_decrease_pct": "DECREASE_PERCENTAGE",
}


def _job_key(job_id: str) -> str:
    return f"offers:bulk:{job_id}"


def bulk_job_get(*, job_id: str, user: AnyUser) -> dict[str, Any] | None:
    """The job if ``user`` started it (or is a superuser), else ``None``."""
    job: dict[str, Any] | None = cache.get(_job_key(job_id))
    if job is None:
        return None
    if job["user"] != user.pk and not getattr(user, "is_superuser", False):
        return None
    return job


def _job_save(job: Mapping[str, Any]) -> None:
    cache.set(_job_key(job["id"]), dict(job), BULK_TTL)


def _chunks(ids: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def bulk_job_create(
    *,
    actor: AnyUser,
    offers: Iterable[Offer],
    action: str,
    value: Decimal | None,
    chunk_size: int = offers_api.MAX_OFFERS_PER_COMMAND,
) -> dict[str, Any]:
    """Plan a bulk action: one command per account (and currency) per ``chunk_size`` offers.

    Raises ``PermissionDenied`` unless the actor manages every account in the selection.
    """
    groups: dict[tuple[int, str], list[Offer]] = {}
    accounts: dict[int, AllegroAccount] = {}
    for offer in offers:
        accounts[offer.account_id] = offer.account
        groups.setdefault((offer.account_id, offer.price_currency or "PLN"), []).append(offer)
    for account in accounts.values():
        account_require_role(user=actor, account=account, role=Role.MANAGER)
    job_id = uuid.uuid4().hex
    chunks = []
    rows: dict[str, dict[str, Any]] = {}
    for (account_id, currency), members in groups.items():
        for part in _chunks([o.allegro_id for o in members], chunk_size):
            chunks.append(
                {
                    "account": account_id,
                    "currency": currency,
                    "ids": part,
                    "command_id": str(uuid.uuid4()),
                    "state": "planned",
                }
            )
        for offer in members:
            rows[f"{account_id}:{offer.allegro_id}"] = {
                "account": accounts[account_id].login,
                "offer_id": offer.allegro_id,
                "title": offer.name,
                "status": "PENDING",
                "message": "",
                # What the mirror held before, and (once Allegro answered) after: the report
                # shows old → new per offer.
                "currency": offer.price_currency or currency,
                "before": _bulk_values(offer),
                "after": None,
            }
    job = {
        "id": job_id,
        "user": actor.pk,
        "action": action,
        "value": None if value is None else str(value),
        "status": "queued",
        "total": len(rows),
        "processed": 0,
        "chunks": chunks,
        "rows": rows,
        "error": "",
        "created_at": timezone.now().isoformat(),
    }
    _job_save(job)
    return job


def _send_chunk(client: AllegroClient, *, job: Mapping[str, Any], chunk: Mapping[str, Any]) -> str:
    """PUT the chunk's command; returns its kind. A 409 means an earlier run already sent it."""
    action, value = job["action"], Decimal(job["value"]) if job["value"] else None
    ids, command_id = chunk["ids"], chunk["command_id"]
    if action in PRICE_KINDS:
        assert value is not None
        kind = PRICE_KINDS[action]
        modification = (
            offers_api.price_modification(kind, percentage=f"{value:.2f}")
            if kind.endswith("PERCENTAGE")
            else offers_api.price_modification(
                kind, amount=Money(amount=value, currency=chunk["currency"])
            )
        )
        offers_api.modify_prices(
            client, command_id=command_id, offer_ids=ids, modification=modification
        )
        return "price"
    if action in ("stock_set", "stock_add"):
        assert value is not None
        offers_api.change_quantities(
            client,
            command_id=command_id,
            offer_ids=ids,
            change_type="FIXED" if action == "stock_set" else "GAIN",
            value=int(value),
        )
        return "quantity"
    offers_api.change_publication(
        client,
        command_id=command_id,
        offer_ids=ids,
        action="ACTIVATE" if action == "activate" else "END",
    )
    return "publication"


def _kind_of(action: str) -> offers_api.CommandKind:
    if action in PRICE_KINDS:
        return "price"
    if action.startswith("stock_"):
        return "quantity"
    return "publication"


def bulk_job_run(
    *,
    job_id: str,
    sleep: Callable[[float], None] = time.sleep,
    clients: Mapping[int, AllegroClient] | None = None,
) -> dict[str, Any] | None:
    """Run every chunk not yet done. Safe to run twice: a chunk's command id is fixed at plan
    time, a resent command answers 409 and is then only read back."""
    job: dict[str, Any] | None = cache.get(_job_key(job_id))
    if job is None or job["status"] == "done":
        return job
    job["status"] = "running"
    _job_save(job)
    kind = _kind_of(job["action"])
    accounts = {
        a.pk: a for a in AllegroAccount.objects.filter(pk__in={c["account"] for c in job["chunks"]})
    }
    for chunk in job["chunks"]:
        if chunk["state"] == "done":
            continue
        account = accounts[chunk["account"]]
        _run_chunk(job=job, chunk=chunk, account=account, kind=kind, sleep=sleep, clients=clients)
        _job_save(job)
    job["status"] = "done"
    _job_save(job)
    return job


def _run_chunk(
    *,
    job: dict[str, Any],
    chunk: dict[str, Any],
    account: AllegroAccount,
    kind: offers_api.CommandKind,
    sleep: Callable[[float], None],
    clients: Mapping[int, AllegroClient] | None,
) -> None:
    trace_id: str | None = None
    try:
        client = (clients or {}).get(account.pk) or allegro_client_for(account=account)
        if chunk["state"] == "planned":
            # A 409 means an earlier run of this task sent it: read its outcome below.
            with contextlib.suppress(errors.Conflict):
                _send_chunk(client, job=job, chunk=chunk)
            chunk["state"] = "sent"
            _job_save(job)
        report = _wait_command(client, kind=kind, command_id=chunk["command_id"], sleep=sleep)
        trace_id = report.trace_id
        if not report.done:
            # Still running on Allegro's side: the task retries later and only reads it back.
            raise errors.TransientError("batch command still running", trace_id=trace_id)
        tasks = list(
            offers_api.iter_command_tasks(client, kind=kind, command_id=chunk["command_id"])
        )
    except errors.TransientError:
        raise  # the task retries (bounded); the chunk keeps its command id
    except errors.AllegroError as exc:
        _mark_rows(
            job, account=account, ids=chunk["ids"], status="FAIL", message=describe_error(exc)
        )
        chunk["state"] = "done"
        job["processed"] += len(chunk["ids"])
        return
    by_id = {t.offer_id: t for t in tasks if t.offer_id}
    succeeded = []
    for offer_id in chunk["ids"]:
        task = by_id.get(offer_id)
        row = job["rows"][f"{account.pk}:{offer_id}"]
        if task is None:
            row.update(status="FAIL", message=_("Allegro did not report on this offer."))
        elif task.status == "SUCCESS":
            row.update(status="SUCCESS", message="")
            succeeded.append(offer_id)
        else:
            row.update(status="FAIL", message=_task_message(task))
    if succeeded:
        offers_refresh(account=account, client=client, allegro_ids=succeeded)
    _record_after(job, account=account, ids=chunk["ids"])
    audit_log(
        actor=_actor(job["user"]),
        account=account,
        action=f"offers.bulk.{job['action']}",
        target=f"command:{chunk['command_id']}",
        before={"offers": chunk["ids"], "value": job["value"]},
        after={"success": len(succeeded), "failed": len(chunk["ids"]) - len(succeeded)},
        allegro_trace_id=trace_id,
    )
    chunk["state"] = "done"
    job["processed"] += len(chunk["ids"])


def _bulk_values(offer: Offer) -> dict[str, Any]:
    return {
        "price": None if offer.price_amount is None else f"{offer.price_amount:.2f}",
        "stock": offer.stock_available,
        "status": offer.status,
    }


def _record_after(job: dict[str, Any], *, account: AllegroAccount, ids: Sequence[str]) -> None:
    """The mirror's price / stock / status of the chunk's offers after Allegro's answer."""
    fields = ("allegro_id", "price_amount", "stock_available", "status")
    for offer in Offer.objects.filter(account=account, allegro_id__in=list(ids)).only(*fields):
        row = job["rows"].get(f"{account.pk}:{offer.allegro_id}")
        if row is not None:
            row["after"] = _bulk_values(offer)


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


def bulk_job_kind(job: Mapping[str, Any]) -> offers_api.CommandKind:
    """``price``, ``quantity`` or ``publication``: which old → new values the report shows."""
    return _kind_of(job["action"])


def _side(row: Mapping[str, Any], side: str, key: str) -> Any:
    values = row.get(side)
    return values.get(key) if isinstance(values, Mapping) else None


def bulk_job_report(*, job: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
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
    for row in job["rows"].values():
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


def _mark_rows(
    job: dict[str, Any], *, account: AllegroAccount, ids: Sequence[str], status: str, message: str
) -> None:
    for offer_id in ids:
        job["rows"][f"{account.pk}:{offer_id}"].update(status=status, message=message)


def _actor(user_id: int) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=user_id).first()


def bulk_job_fail(*, job_id: str, error: str) -> None:
    job = cache.get(_job_key(job_id))
    if job is None:
        return
    job["status"] = "failed"
    job["error"] = error
    _job_save(job)
