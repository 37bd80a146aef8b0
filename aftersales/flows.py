"""Ratings (by ``lastChangedAt`` + periodic full pass for deletions), issues (periodic listing)
and return policies (full listing)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import AllegroAccount
from aftersales.models import Rating
from aftersales.sync import (
    disputes_changed,
    disputes_sweep,
    disputes_upsert,
    ratings_mark_deleted,
    ratings_upsert,
    return_policies_replace,
    warranties_replace,
)
from allegro import errors, paging
from allegro.api import issues as issues_api
from allegro.api import ratings as ratings_api
from allegro.api import return_policies as policies_api
from allegro.api import warranties as warranties_api
from allegro.client import AllegroClient
from mirror.fetching import in_order, settle
from mirror.models import Resource
from mirror.passes import Deadline, iso, setting, workers
from mirror.progress import pass_begin, pass_end, pass_page, state_for, state_locked

log = logging.getLogger(__name__)
RATINGS_PAGE = 100
ISSUES_PAGE = 100
CHAT_PAGE = 100
AllegroRating = ratings_api.Rating


# --- ratings ----------------------------------------------------------------------------------


def _rating_pages(
    client: AllegroClient, *, gte: str | None, lte: str | None
) -> Iterator[list[AllegroRating]]:
    """Newest change first. Offsets stop at 20000: continue below the oldest change seen."""
    upper = lte
    while True:
        oldest: str | None = None
        count = 0
        offset = 0
        while offset <= (paging.RATINGS.max_offset or 0):
            page = ratings_api.list_ratings(
                client,
                last_changed_gte=gte,
                last_changed_lte=upper,
                offset=offset,
                limit=RATINGS_PAGE,
            ).ratings
            docs = page
            if docs:
                yield docs
                oldest = docs[-1].last_changed_at or oldest
            count += len(docs)
            if len(docs) < RATINGS_PAGE:
                return
            offset += RATINGS_PAGE
        if oldest is None or oldest == upper:
            return
        upper = oldest  # the boundary change is read twice: harmless


def ratings_pass(
    *, account: AllegroAccount, client: AllegroClient, deadline: Deadline, full: bool = False
) -> bool:
    state = state_for(account=account, resource=Resource.RATINGS)
    every = timedelta(seconds=float(setting("MIRROR_RATINGS_FULL_PASS_SECONDS", 3600)))
    due = state.full_pass_at is None or timezone.now() - state.full_pass_at > every
    if full or due or not state.initial_done:
        return _ratings_full(account=account, client=client)
    since = state.cursor_at
    gte = iso(since - timedelta(seconds=1)) if since else None
    newest = since
    for docs in _rating_pages(client, gte=gte, lte=None):
        newest = _max_changed(docs, newest)
        with transaction.atomic():
            ratings_upsert(account=account, ratings=docs, synced_at=timezone.now())
            locked = state_locked(account=account, resource=Resource.RATINGS)
            locked.fetched += len(docs)
            locked.save()
    with transaction.atomic():
        locked = state_locked(account=account, resource=Resource.RATINGS)
        pass_end(state=locked, cursor_at=newest)
    return True


def _max_changed(docs: Sequence[AllegroRating], current: datetime | None) -> datetime | None:
    for doc in docs:
        when = doc.last_changed
        if when is not None and (current is None or when > current):
            current = when
    return current


def _ratings_full(*, account: AllegroAccount, client: AllegroClient) -> bool:
    """Every rating; the ones not seen are confirmed gone (404) and recorded as deleted."""
    state = state_for(account=account, resource=Resource.RATINGS)
    pass_begin(state=state)
    started = state.started_at or timezone.now()
    newest = state.cursor_at
    for docs in _rating_pages(client, gte=None, lte=None):
        newest = _max_changed(docs, newest)
        with transaction.atomic():
            ratings_upsert(account=account, ratings=docs, synced_at=timezone.now())
            pass_page(state=state, fetched=len(docs), total=None)
    _confirm_deletions(account=account, client=client, seen_since=started)
    with transaction.atomic():
        locked = state_locked(account=account, resource=Resource.RATINGS)
        pass_end(state=locked, initial_done=True, full_pass_at=timezone.now(), cursor_at=newest)
    return True


def _confirm_deletions(
    *, account: AllegroAccount, client: AllegroClient, seen_since: datetime
) -> None:
    candidates = list(
        Rating.objects.filter(
            account=account, synced_at__lt=seen_since, deleted_at__isnull=True
        ).values_list("allegro_id", flat=True)
    )
    if not candidates:
        return

    def get(rating_id: str) -> AllegroRating:
        return ratings_api.get_rating(client, rating_id=rating_id)

    still_there: list[AllegroRating] = []
    for _rid, doc, error in settle(get, candidates, workers=workers()):
        if error is None and doc is not None:
            still_there.append(doc)
        elif not isinstance(error, errors.NotFound) and error is not None:
            raise error
    now = timezone.now()
    with transaction.atomic():
        # Seen now (the listing moved under the pass): refresh, so the sweep keeps them.
        ratings_upsert(account=account, ratings=still_there, synced_at=now)
        deleted = ratings_mark_deleted(account=account, seen_since=seen_since, now=now)
    if deleted:
        log.info("account %s: %s ratings deleted on Allegro", account.pk, deleted)


# --- issues -----------------------------------------------------------------------------------


def _chat_of(client: AllegroClient, issue_id: str) -> list[issues_api.IssueMessage]:
    messages: list[issues_api.IssueMessage] = []
    offset = 0
    while True:
        page = issues_api.get_issue_chat(
            client, issue_id=issue_id, offset=offset, limit=CHAT_PAGE
        ).messages
        messages.extend(page)
        if len(page) < CHAT_PAGE:
            return messages
        offset += CHAT_PAGE


def issues_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    """List every issue; refresh the chat of the new or changed ones; drop vanished ones."""
    state = state_for(account=account, resource=Resource.ISSUES)
    pass_begin(state=state)
    seen: list[str] = []
    offset = 0
    while True:
        docs = issues_api.list_issues(client, offset=offset, limit=ISSUES_PAGE).issues
        seen.extend(i.id for i in docs)
        changed_ids = set(disputes_changed(account=account, issues=docs))
        changed = [i for i in docs if i.id in changed_ids]
        chats = dict(
            zip(
                [i.id for i in changed],
                in_order(lambda i: _chat_of(client, i.id), changed, workers=workers()),
                strict=True,
            )
        )
        with transaction.atomic():
            disputes_upsert(account=account, issues=changed, chats=chats, synced_at=timezone.now())
            pass_page(state=state, fetched=len(docs), total=None)
        if len(docs) < ISSUES_PAGE:
            break
        offset += ISSUES_PAGE
    with transaction.atomic():
        disputes_sweep(account=account, seen_ids=seen)
        pass_end(state=state_locked(account=account, resource=Resource.ISSUES), initial_done=True)
    return True


# --- return policies --------------------------------------------------------------------------


def return_policies_pass(
    *, account: AllegroAccount, client: AllegroClient, deadline: Deadline
) -> bool:
    state = state_for(account=account, resource=Resource.RETURN_POLICIES)
    pass_begin(state=state)
    docs = list(policies_api.iter_return_policies(client))
    with transaction.atomic():
        return_policies_replace(account=account, policies=docs, synced_at=timezone.now())
        locked = state_locked(account=account, resource=Resource.RETURN_POLICIES)
        locked.fetched = len(docs)
        locked.total = len(docs)
        pass_end(state=locked, initial_done=True)
    return True


# --- warranties -------------------------------------------------------------------------------


def warranties_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    """Warranties and implied warranties: the listings give names, each document is read by id."""
    state = state_for(account=account, resource=Resource.WARRANTIES)
    pass_begin(state=state)
    warranty_ids = [w.id for w in warranties_api.iter_warranties(client)]
    implied_ids = [w.id for w in warranties_api.iter_implied_warranties(client)]
    warranties = list(
        in_order(
            lambda i: warranties_api.get_warranty(client, warranty_id=i),
            warranty_ids,
            workers=workers(),
        )
    )
    implied = list(
        in_order(
            lambda i: warranties_api.get_implied_warranty(client, implied_warranty_id=i),
            implied_ids,
            workers=workers(),
        )
    )
    with transaction.atomic():
        count = warranties_replace(
            account=account, warranties=warranties, implied=implied, synced_at=timezone.now()
        )
        locked = state_locked(account=account, resource=Resource.WARRANTIES)
        locked.fetched = count
        locked.total = count
        pass_end(state=locked, initial_done=True)
    return True
