"""Offer details: the EAN, which only ``GET /sale/product-offers/{offerId}`` carries.

The listing (``GET /sale/offers``) has no EAN, so this pass reads the details of the offers
whose details are due: never read (new offers; the offer sync clears ``details_synced_at``
when an offer's last change moves) and, as a safety net, read longer ago than
``MIRROR_OFFER_DETAILS_MAX_AGE_HOURS``. The database is the cursor: a crashed run leaves the
unread offers due, and the next run resumes with them. A run reads at most
``MIRROR_OFFER_DETAILS_PER_RUN`` offers through the account's client (the shared rate governor
paces it) and runs under the offers lock group, so it never races the offer passes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import AllegroAccount
from allegro import errors
from allegro.api import offers as offers_api
from allegro.client import AllegroClient
from mirror.fetching import in_order
from mirror.flows.common import Deadline, setting, workers
from mirror.models import Resource, SyncStatus
from mirror.progress import state_locked
from offers.models import Offer
from offers.sync import offers_details_count_due, offers_details_due, offers_store_details

log = logging.getLogger(__name__)
CHUNK = 50  # offers written per transaction (the crash-resume granularity)


def _details(client: AllegroClient, allegro_id: str) -> dict[str, Any] | None:
    """The product-offer document, ``None`` when Allegro no longer has the offer."""
    try:
        return offers_api.get_product_offer(client, offer_id=allegro_id).raw
    except errors.NotFound:
        return None


def _fetch_chunk(client: AllegroClient, offers: Sequence[Offer]) -> dict[str, Any]:
    return {
        offer.allegro_id: doc
        for offer, doc in zip(
            offers,
            in_order(lambda o: _details(client, o.allegro_id), offers, workers=workers()),
            strict=True,
        )
    }


def details_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    """Read the details of up to ``MIRROR_OFFER_DETAILS_PER_RUN`` due offers.

    Always ``True`` (finished): a run that meets its batch bound or its deadline leaves the rest
    to the next scheduled run rather than chaining itself, so other passes get their turn.
    """
    batch = max(0, int(setting("MIRROR_OFFER_DETAILS_PER_RUN", 2000)))
    max_age = float(setting("MIRROR_OFFER_DETAILS_MAX_AGE_HOURS", 168) or 0)
    started = timezone.now()
    read_before = started - timedelta(hours=max_age) if max_age > 0 else None
    due = offers_details_due(account=account, limit=batch, read_before=read_before)
    with transaction.atomic():
        state = state_locked(account=account, resource=Resource.OFFER_DETAILS)
        state.total = Offer.objects.filter(account=account).count()
        waiting = len(due)  # a short batch is everything that is due
        if len(due) >= batch:
            waiting = offers_details_count_due(account=account, read_before=read_before)
        state.fetched = max(state.total - waiting, 0)  # offers whose details are fresh
        state.status = SyncStatus.RUNNING
        state.started_at = started
        state.finished_at = None
        state.rate = None
        state.save()
    read = 0
    for start in range(0, len(due), CHUNK):
        chunk = due[start : start + CHUNK]
        details = _fetch_chunk(client, chunk)
        with transaction.atomic():
            offers_store_details(offers=chunk, details=details, synced_at=timezone.now())
            read += len(chunk)
            state = state_locked(account=account, resource=Resource.OFFER_DETAILS)
            state.fetched += len(chunk)
            elapsed = (timezone.now() - started).total_seconds()
            state.rate = read / elapsed if elapsed > 0 else None
            state.save()
        if deadline.passed():
            break
    with transaction.atomic():
        state = state_locked(account=account, resource=Resource.OFFER_DETAILS)
        now = timezone.now()
        state.status = SyncStatus.DONE
        state.finished_at = now
        state.last_success_at = now
        state.last_error = ""
        state.initial_done = state.initial_done or state.fetched >= (state.total or 0)
        state.save()
    log.info("offer details of account %s: %s read, %s were due", account.pk, read, waiting)
    return True
