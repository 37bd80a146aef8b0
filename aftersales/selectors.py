"""Reads of the after-sales pages: ratings (list, detail) and saved replies.

Every selector starts from ``accounts.selectors`` (the accounts the staff member may see): a
rating of an account without a grant is a 404. The inbox's selectors are in ``aftersales.inbox``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Role
from accounts.selectors import accounts_visible_to, role_expression, roles_by_account
from aftersales.models import (
    CustomerReturn,
    Dispute,
    InboxNote,
    MessageThread,
    Rating,
    RatingRevision,
    SavedReply,
)
from ui.paging import Accounts, account_filter, contains

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

RATE_FIELDS = ("rate_description", "rate_service", "rate_delivery_cost", "rate_delivery")


@dataclass(frozen=True)
class RatingQuery:
    q: str = ""
    account_ids: Sequence[int] = ()
    recommended: bool | None = None
    rates: Sequence[int] = ()  # ratings with any rate among these values
    answered: bool | None = None
    removal_requested: bool | None = None
    created_from: date | None = None
    created_to: date | None = None
    deleted: bool = False


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def ratings_matching(*, accounts: Accounts, query: RatingQuery) -> QuerySet[Rating]:
    """Ratings of ``accounts`` matching the filters and the search (buyer login, order id,
    rating id, comment text), newest change first."""
    qs = Rating.objects.filter(account__in=account_filter(accounts))
    if query.account_ids:
        qs = qs.filter(account_id__in=query.account_ids)
    if not query.deleted:
        qs = qs.filter(deleted_at__isnull=True)
    if query.recommended is not None:
        qs = qs.filter(recommended=query.recommended)
    if query.rates:
        any_rate = Q()
        for column in RATE_FIELDS:
            any_rate |= Q(**{f"{column}__in": list(query.rates)})
        qs = qs.filter(any_rate)
    if query.answered is True:
        qs = qs.exclude(answer_message="", answer_created_at__isnull=True)
    elif query.answered is False:
        qs = qs.filter(answer_message="", answer_created_at__isnull=True)
    if query.removal_requested is True:
        qs = qs.filter(removal_requested_at__isnull=False)
    elif query.removal_requested is False:
        qs = qs.filter(removal_requested_at__isnull=True)
    if query.created_from:
        qs = qs.filter(created_at__gte=_day_start(query.created_from))
    if query.created_to:
        qs = qs.filter(created_at__lt=_day_start(query.created_to) + timedelta(days=1))
    text = query.q.strip()
    if text:
        # every arm has an index (trigram for the ILIKEs): PostgreSQL ORs bitmaps, no scan
        qs = qs.filter(
            Q(checkout_form_id=text)
            | Q(allegro_id=text)
            | contains("buyer_login", text)
            | contains("comment", text)
        )
    return qs.order_by("-last_changed_at", "-id")


def rating_get_for_user(*, user: AnyUser, pk: int) -> Rating:
    """One rating the user may see, with ``viewer_role`` (their role on its account)."""
    try:
        return (
            Rating.objects.filter(account__in=accounts_visible_to(user=user))
            .select_related("account", "inbox_state__assignee")
            .annotate(viewer_role=role_expression(user=user, account_ref="account_id"))
            .get(pk=pk)
        )
    except Rating.DoesNotExist as exc:
        raise Http404("No such rating.") from exc


def rating_revisions(*, rating: Rating) -> list[RatingRevision]:
    return list(rating.revisions.order_by("-recorded_at", "-id"))


def rating_notes(*, rating: Rating) -> list[InboxNote]:
    return inbox_notes(target=rating)


def inbox_notes(*, target: Rating | Dispute | CustomerReturn | MessageThread) -> list[InboxNote]:
    """The internal notes on an inbox item, oldest first."""
    return list(target.notes.select_related("author").order_by("created_at", "id"))


@dataclass(frozen=True)
class OfferRef:
    offer_id: str
    title: str


def rating_offers(*, rating: Rating) -> list[OfferRef]:
    """The offers the rated order bought, as Allegro's rating document names them."""
    order = rating.raw.get("order") if isinstance(rating.raw, dict) else None
    offers = order.get("offers") if isinstance(order, dict) else None
    refs: list[OfferRef] = []
    for offer in offers if isinstance(offers, list) else []:
        if isinstance(offer, dict) and offer.get("id"):
            refs.append(OfferRef(offer_id=str(offer["id"]), title=str(offer.get("title") or "")))
    return refs


# --- staff who may be assigned ----------------------------------------------------------------


def assignable_staff(*, account_id: int) -> list[Any]:
    """Staff who may work on the account's inbox: operators and managers granted on it."""
    from django.contrib.auth import get_user_model

    return list(
        get_user_model()
        .objects.filter(
            is_active=True,
            account_grants__account_id=account_id,
            account_grants__role__gte=Role.OPERATOR,
        )
        .order_by("username", "id")
    )


# --- saved replies ----------------------------------------------------------------------------


def saved_replies_for(*, user: AnyUser, account_id: int | None = None) -> QuerySet[SavedReply]:
    """Replies the user may use: the shared ones and those of their accounts (narrowed to
    ``account_id`` and the shared ones when given)."""
    visible = accounts_visible_to(user=user)
    qs = SavedReply.objects.filter(Q(account__isnull=True) | Q(account__in=visible))
    if account_id is not None:
        qs = qs.filter(Q(account__isnull=True) | Q(account_id=account_id))
    return qs.select_related("account").order_by("title", "id")


def saved_reply_get_for_user(*, user: AnyUser, pk: int) -> SavedReply:
    try:
        return saved_replies_for(user=user).get(pk=pk)
    except SavedReply.DoesNotExist as exc:
        raise Http404("No such saved reply.") from exc


def user_can_edit_reply(*, user: AnyUser, reply: SavedReply | None) -> bool:
    """Operators edit their accounts' replies; shared ones, anyone operating some account."""
    roles = roles_by_account(user=user)
    if reply is not None and reply.account_id is not None:
        return roles.get(reply.account_id, 0) >= Role.OPERATOR
    return any(role >= Role.OPERATOR for role in roles.values())


def reply_render(*, text: str, rating: Rating) -> str:
    """A saved reply with its placeholders filled for ``rating``; unknown ones stay as typed."""
    offers = rating_offers(rating=rating)
    values = {
        "{buyer_login}": rating.buyer_login,
        "{order_id}": rating.checkout_form_id,
        "{offer_title}": offers[0].title if offers else "",
    }
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def inbox_target_for_user(
    *, user: AnyUser, kind: str, pk: int
) -> Rating | Dispute | CustomerReturn | MessageThread:
    """The item an inbox action names (``rating``, ``dispute``, ``return`` or ``thread``), if
    the user may see it (else 404)."""
    models: dict[str, Any] = {
        "rating": Rating,
        "dispute": Dispute,
        "return": CustomerReturn,
        "thread": MessageThread,
    }
    model = models.get(kind)
    if model is None:
        raise Http404("No such item.")
    try:
        target: Rating | Dispute | CustomerReturn | MessageThread = model.objects.select_related(
            "account"
        ).get(pk=pk, account__in=accounts_visible_to(user=user))
    except model.DoesNotExist as exc:
        raise Http404("No such item.") from exc
    return target
