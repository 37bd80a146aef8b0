"""Mirror passes for returns, refunds, commission refund claims, buyer messages and billing.

- returns and claims: the whole listing (small per account), vanished ones dropped;
- refunds: newest first from ``occurredAt`` just before the oldest refund still moving (or the
  newest seen), a full pass every ``MIRROR_REFUNDS_FULL_PASS_SECONDS``;
- threads: newest last message first, stopping at the first thread already mirrored with the
  same last message; each changed thread's messages after the newest one held; a full pass
  (read flags changed elsewhere) every ``MIRROR_THREADS_FULL_PASS_SECONDS``;
- billing: newest first from the newest ``occurredAt`` held (minus a margin), the cursor saved
  with the last page.
Each cursor is written in the transaction of the rows it covers.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import AllegroAccount
from aftersales.models import MessageThread, Refund
from aftersales.sync_returns import (
    billing_upsert,
    claims_replace,
    refunds_upsert,
    returns_sweep,
    returns_upsert,
    thread_upsert,
)
from allegro.api import billing as billing_api
from allegro.api import messaging as messaging_api
from allegro.api import refunds as refunds_api
from allegro.api import returns as returns_api
from allegro.client import AllegroClient
from mirror.models import Resource
from mirror.passes import Deadline, iso, setting
from mirror.progress import pass_begin, pass_end, pass_page, state_for, state_locked

MARGIN = timedelta(minutes=5)


def _full_due(*, account: AllegroAccount, resource: str, setting_name: str) -> bool:
    state = state_for(account=account, resource=resource)
    every = timedelta(seconds=float(setting(setting_name, 3600)))
    return (
        not state.initial_done
        or state.full_pass_at is None
        or timezone.now() - state.full_pass_at > every
    )


def returns_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    state = state_for(account=account, resource=Resource.RETURNS)
    pass_begin(state=state)
    seen: list[str] = []
    for page in returns_api.iter_returns(client):
        seen.extend(r.id for r in page)
        with transaction.atomic():
            returns_upsert(account=account, returns=page, synced_at=timezone.now())
            pass_page(state=state, fetched=len(page), total=None)
    with transaction.atomic():
        returns_sweep(account=account, seen_ids=seen)
        pass_end(state=state_locked(account=account, resource=Resource.RETURNS), initial_done=True)
    return True


def refunds_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    full = _full_due(
        account=account, resource=Resource.REFUNDS, setting_name="MIRROR_REFUNDS_FULL_PASS_SECONDS"
    )
    state = state_for(account=account, resource=Resource.REFUNDS)
    gte = None
    if not full:
        moving = (
            Refund.objects.filter(account=account, created_at__isnull=False)
            .exclude(status__in=refunds_api.FINAL_STATUSES)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        start = (
            min(x for x in (moving, state.cursor_at) if x is not None)
            if (moving or state.cursor_at)
            else None
        )
        gte = iso(start - MARGIN) if start else None
    pass_begin(state=state)
    newest = state.cursor_at
    for page in refunds_api.iter_refunds(client, occurred_gte=gte):
        for doc in page:
            if doc.created_at and (newest is None or doc.created_at > newest):
                newest = doc.created_at
        with transaction.atomic():
            refunds_upsert(account=account, refunds=page, synced_at=timezone.now())
            pass_page(state=state, fetched=len(page), total=None)
    with transaction.atomic():
        extra = {"full_pass_at": timezone.now()} if full else {}
        pass_end(
            state=state_locked(account=account, resource=Resource.REFUNDS),
            initial_done=True,
            cursor_at=newest,
            **extra,
        )
    return True


def refund_claims_pass(
    *, account: AllegroAccount, client: AllegroClient, deadline: Deadline
) -> bool:
    state = state_for(account=account, resource=Resource.REFUND_CLAIMS)
    pass_begin(state=state)
    claims = [c for page in refunds_api.iter_refund_claims(client) for c in page]
    with transaction.atomic():
        claims_replace(account=account, claims=claims, synced_at=timezone.now())
        locked = state_locked(account=account, resource=Resource.REFUND_CLAIMS)
        locked.fetched = locked.total = len(claims)
        pass_end(state=locked, initial_done=True)
    return True


def threads_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    full = _full_due(
        account=account, resource=Resource.THREADS, setting_name="MIRROR_THREADS_FULL_PASS_SECONDS"
    )
    state = state_for(account=account, resource=Resource.THREADS)
    pass_begin(state=state)
    seen: list[str] = []
    offset = 0
    while offset <= messaging_api.THREADS_MAX_OFFSET:
        page = messaging_api.list_threads(client, offset=offset).threads
        held = {
            t.allegro_id: t
            for t in MessageThread.objects.filter(
                account=account, allegro_id__in=[t.id for t in page]
            )
        }
        caught_up = False
        for thread in page:
            seen.append(thread.id)
            mine = held.get(thread.id)
            same = mine is not None and mine.last_message_at == thread.last_message_at
            if same and not full:
                caught_up = True
                break
            after = mine.messages_synced_to if mine is not None and same is False else ""
            messages = (
                []
                if same
                else messaging_api.thread_messages(client, thread_id=thread.id, after=after or None)
            )
            thread_upsert(
                account=account, thread=thread, messages=messages, synced_at=timezone.now()
            )
        with transaction.atomic():
            pass_page(
                state=state_locked(account=account, resource=Resource.THREADS),
                fetched=len(page),
                total=None,
            )
        if caught_up or len(page) < messaging_api.THREADS_PAGE_LIMIT:
            break
        offset += messaging_api.THREADS_PAGE_LIMIT
    with transaction.atomic():
        extra = {"full_pass_at": timezone.now()} if full else {}
        if full:
            MessageThread.objects.filter(account=account).exclude(allegro_id__in=seen).delete()
        pass_end(
            state=state_locked(account=account, resource=Resource.THREADS),
            initial_done=True,
            **extra,
        )
    return True


def billing_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    state = state_for(account=account, resource=Resource.BILLING)
    since = state.cursor_at
    gte = iso(since - MARGIN) if since else None
    pass_begin(state=state)
    newest = since
    for page in billing_api.iter_entries(client, occurred_gte=gte):
        for doc in page:
            if doc.occurred_at and (newest is None or doc.occurred_at > newest):
                newest = doc.occurred_at
        with transaction.atomic():
            billing_upsert(account=account, entries=page, synced_at=timezone.now())
            pass_page(state=state, fetched=len(page), total=None)
    with transaction.atomic():
        pass_end(
            state=state_locked(account=account, resource=Resource.BILLING),
            initial_done=True,
            cursor_at=newest,
        )
    return True
