"""After-sales actions on ratings and on the inbox's local state, and saved replies.

Roles are checked here, once: operators answer, assign, mark handled, write notes and saved
replies; managers request a rating's removal. Every action is audited (with Allegro's trace id
when Allegro was called). Assignee, "handled" and notes are local: never sent to Allegro.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.audit import audit_log
from accounts.models import AllegroAccount, Role
from accounts.selectors import account_role_for
from accounts.services import account_require_role, account_require_writable, allegro_client_for
from accounts.tokens import AccountNotUsable
from aftersales.models import (
    CustomerReturn,
    Dispute,
    InboxNote,
    InboxState,
    MessageThread,
    Rating,
    SavedReply,
)
from aftersales.selectors import user_can_edit_reply
from allegro import errors
from allegro.api import ratings as ratings_api

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

log = logging.getLogger(__name__)


def parse_time(value: str | None) -> datetime | None:
    try:
        return parse_datetime(value) if value else None
    except ValueError:
        return None


MAX_ANSWER = ratings_api.MAX_ANSWER_LENGTH
MAX_NOTE = 2000
SUMMARY_TTL = 15 * 60
SUMMARY_PROBLEM_TTL = 60


def _clean_message(message: str, *, limit: int = MAX_ANSWER) -> str:
    text = message.strip()
    if not text:
        raise ValidationError(_("Write a message."), code="required")
    if len(text) > limit:
        raise ValidationError(
            _("At most %(limit)s characters (this one has %(length)s).")
            % {"limit": limit, "length": len(text)},
            code="max_length",
        )
    return text


# --- ratings ----------------------------------------------------------------------------------


def rating_answer(*, rating: Rating, message: str, actor: AnyUser) -> Rating:
    """Answer the rating on Allegro (``PUT …/answer``); the mirror takes Allegro's answer."""
    account_require_role(user=actor, account=rating.account, role=Role.OPERATOR)
    account_require_writable(account=rating.account)
    text = _clean_message(message)
    client = allegro_client_for(account=rating.account)
    answer = ratings_api.answer_rating(client, rating_id=rating.allegro_id, message=text)
    before = {"answer": rating.answer_message}
    rating.answer_message = answer.message or text
    rating.answer_created_at = parse_time(answer.created_at) or timezone.now()
    with transaction.atomic():
        rating.save(update_fields=["answer_message", "answer_created_at"])
        audit_log(
            actor=actor,
            account=rating.account,
            action="rating.answer",
            target=f"rating:{rating.allegro_id}",
            before=before,
            after={"answer": rating.answer_message},
            allegro_trace_id=answer.trace_id,
        )
    return rating


def rating_removal_possible(*, rating: Rating, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        rating.deleted_at is None
        and rating.removal_requested_at is None
        and rating.removal_possible_to is not None
        and rating.removal_possible_to > now
    )


def rating_request_removal(*, rating: Rating, message: str, actor: AnyUser) -> Rating:
    """Ask Allegro to remove the rating (``PUT …/removal``), only while ``possibleTo`` is ahead."""
    account_require_role(user=actor, account=rating.account, role=Role.MANAGER)
    account_require_writable(account=rating.account)
    text = _clean_message(message)
    if not rating_removal_possible(rating=rating):
        raise ValidationError(
            _("A removal of this rating can no longer be requested."), code="expired"
        )
    client = allegro_client_for(account=rating.account)
    removal = ratings_api.request_rating_removal(client, rating_id=rating.allegro_id, message=text)
    rating.removal_requested_at = parse_time(removal.requested_at) or timezone.now()
    rating.removal_message = removal.message or text
    rating.removal_source = "SELLER"
    rating.removal_possible_to = parse_time(removal.possible_to) or rating.removal_possible_to
    with transaction.atomic():
        rating.save(
            update_fields=[
                "removal_requested_at",
                "removal_message",
                "removal_source",
                "removal_possible_to",
            ]
        )
        audit_log(
            actor=actor,
            account=rating.account,
            action="rating.removal_request",
            target=f"rating:{rating.allegro_id}",
            before={"removal_requested": False},
            after={"removal_requested": True, "message": rating.removal_message},
            allegro_trace_id=removal.trace_id,
        )
    return rating


def _summary_key(account_id: int) -> str:
    return f"aftersales:ratings-summary:{account_id}"


def _summary_cached(cached: Any) -> ratings_api.RatingsSummary | str:
    return cached if isinstance(cached, str) else ratings_api.RatingsSummary.parse(cached)


def ratings_summary_for(*, account: AllegroAccount) -> ratings_api.RatingsSummary | str:
    """The account's ratings summary from Allegro (cached for 15 minutes), or the reason it
    could not be read (remembered for a minute so pages stay fast when Allegro is not)."""
    key = _summary_key(account.pk)
    cached = cache.get(key)
    if cached is not None:
        return _summary_cached(cached)
    try:
        summary = ratings_api.get_ratings_summary(
            allegro_client_for(account=account), user_id=account.allegro_user_id
        )
    except (errors.AllegroError, AccountNotUsable) as exc:
        log.info("ratings summary of account %s: %s", account.pk, exc)
        problem = _("Allegro did not give the ratings summary now.")
        cache.set(key, problem, SUMMARY_PROBLEM_TTL)
        return problem
    cache.set(key, summary.raw, SUMMARY_TTL)
    return summary


def ratings_summaries_for(
    *, accounts: Sequence[AllegroAccount]
) -> list[tuple[AllegroAccount, ratings_api.RatingsSummary | str]]:
    """``ratings_summary_for`` of each account, the cached ones read in one round trip."""
    found = cache.get_many([_summary_key(a.pk) for a in accounts])
    summaries: list[tuple[AllegroAccount, ratings_api.RatingsSummary | str]] = []
    for account in accounts:
        cached = found.get(_summary_key(account.pk))
        if cached is None:  # not cached: asked from Allegro (and cached) as one account's
            summaries.append((account, ratings_summary_for(account=account)))
        else:
            summaries.append((account, _summary_cached(cached)))
    return summaries


# --- the inbox's local state ------------------------------------------------------------------

Target = Rating | Dispute | CustomerReturn | MessageThread
# The field of InboxState / InboxNote naming each kind of target (also its audit log name).
TARGET_FIELDS: dict[type[Target], str] = {
    Rating: "rating",
    Dispute: "dispute",
    CustomerReturn: "customer_return",
    MessageThread: "thread",
}


def _lookup(target: Target) -> dict[str, Any]:
    return {TARGET_FIELDS[type(target)]: target}


def _state_for(target: Target) -> InboxState:
    state, _created = InboxState.objects.select_for_update().get_or_create(
        **_lookup(target), defaults={"account_id": target.account_id}
    )
    return state


def _target_name(target: Target) -> str:
    return f"{TARGET_FIELDS[type(target)]}:{target.allegro_id}"


def inbox_assign(*, target: Target, assignee: Any | None, actor: AnyUser) -> InboxState:
    """Give the item to ``assignee`` (an operator or manager of its account) or to nobody."""
    account_require_role(user=actor, account=target.account, role=Role.OPERATOR)
    if assignee is not None:
        role = account_role_for(user=assignee, account=target.account)
        if role is None or role < Role.OPERATOR:
            raise PermissionDenied(_("This person cannot work on this account."))
    with transaction.atomic():
        state = _state_for(target)
        before = state.assignee_id
        state.assignee = assignee
        state.save(update_fields=["assignee", "updated_at"])
        audit_log(
            actor=actor,
            account=target.account,
            action="inbox.assign",
            target=_target_name(target),
            before={"assignee": before},
            after={"assignee": assignee.pk if assignee is not None else None},
        )
    return state


def inbox_mark_handled(*, target: Target, actor: AnyUser, handled: bool = True) -> InboxState:
    """Take the item out of the inbox until something new happens on Allegro (or put it back)."""
    account_require_role(user=actor, account=target.account, role=Role.OPERATOR)
    with transaction.atomic():
        state = _state_for(target)
        before = state.handled_at is not None
        state.handled_at = timezone.now() if handled else None
        state.handled_by_id = actor.pk if handled else None
        state.save(update_fields=["handled_at", "handled_by", "updated_at"])
        audit_log(
            actor=actor,
            account=target.account,
            action="inbox.handled" if handled else "inbox.reopened",
            target=_target_name(target),
            before={"handled": before},
            after={"handled": handled},
        )
    return state


def inbox_note_add(*, target: Target, text: str, actor: AnyUser) -> InboxNote:
    account_require_role(user=actor, account=target.account, role=Role.OPERATOR)
    body = _clean_message(text, limit=MAX_NOTE)
    with transaction.atomic():
        note = InboxNote.objects.create(
            account_id=target.account_id, author_id=actor.pk, text=body, **_lookup(target)
        )
        audit_log(
            actor=actor,
            account=target.account,
            action="inbox.note",
            target=_target_name(target),
            before=None,
            after={"note": body},
        )
    return note


# --- saved replies ----------------------------------------------------------------------------


def saved_reply_save(
    *,
    reply: SavedReply | None,
    account: AllegroAccount | None,
    title: str,
    text: str,
    actor: AnyUser,
) -> SavedReply:
    """Create (``reply`` ``None``) or change a saved reply; operators of its account only."""
    if account is not None:
        account_require_role(user=actor, account=account, role=Role.OPERATOR)
    if not user_can_edit_reply(user=actor, reply=reply) or not user_can_edit_reply(
        user=actor, reply=SavedReply(account=account)
    ):
        raise PermissionDenied(_("Your role does not allow editing saved replies."))
    body = _clean_message(text)
    name = title.strip()[:100]
    if not name:
        raise ValidationError(_("Give the reply a title."), code="required")
    before = None if reply is None else {"title": reply.title, "text": reply.text}
    with transaction.atomic():
        if reply is None:
            reply = SavedReply(created_by_id=actor.pk)
        reply.account = account
        reply.title = name
        reply.text = body
        reply.save()
        audit_log(
            actor=actor,
            account=account,
            action="saved_reply.create" if before is None else "saved_reply.update",
            target=f"saved_reply:{reply.pk}",
            before=before,
            after={"title": reply.title, "text": reply.text, "account": account and account.pk},
        )
    return reply


def saved_reply_delete(*, reply: SavedReply, actor: AnyUser) -> None:
    if not user_can_edit_reply(user=actor, reply=reply):
        raise PermissionDenied(_("Your role does not allow editing saved replies."))
    with transaction.atomic():
        audit_log(
            actor=actor,
            account=reply.account,
            action="saved_reply.delete",
            target=f"saved_reply:{reply.pk}",
            before={"title": reply.title, "text": reply.text},
            after=None,
        )
        reply.delete()
