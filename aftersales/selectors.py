"""Reads of the after-sales pages: ratings (list, detail), the lists' rows and saved replies.

Every selector starts from ``accounts.selectors`` (the accounts the staff member may see): a
rating of an account without a grant is a 404. The inbox's selectors are in ``aftersales.inbox``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.text import Truncator

from accounts.models import AuditLogEntry, Role
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
from ui.labels import decimal_or_none
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


# --- the lists' rows -------------------------------------------------------------------------
# A list page prints its rows from these: the values already as text (date, rates, shortened
# comment, account login, detail URL), so the template does no per-row lookup, reverse() or
# formatting (most of a 50-row page's time went there).

NONE = "\N{EM DASH}"
NO_RATE = "\N{EN DASH}"
DATE_FORMAT = "%Y-%m-%d %H:%M"


def when(value: datetime | None) -> str:
    """``value`` in the current time zone as ``2024-05-01 13:45`` (the lists' ``|date:"Y-m-d
    H:i"``), or a dash."""
    return timezone.localtime(value).strftime(DATE_FORMAT) if value else NONE


def shorten(text: str, length: int) -> str:
    """``text|truncatechars:length`` (the same result, without the character loop when the
    text is short enough already)."""
    return text if len(text) <= length else Truncator(text).chars(length)


@dataclass(frozen=True, slots=True)
class RatingRow:
    # the columns ``rating_rows`` reads (for ``.only()``)
    COLUMNS: ClassVar[tuple[str, ...]] = (
        "id",
        "account_id",
        "allegro_id",
        "created_at",
        "recommended",
        "rate_description",
        "rate_service",
        "rate_delivery_cost",
        "comment",
        "buyer_login",
        "answer_message",
        "removal_requested_at",
    )

    pk: int
    allegro_id: str
    url: str
    created: str
    recommended: bool
    rates: str
    comment: str
    buyer_login: str
    answered: bool
    removal_requested: bool
    account: str


def rating_rows(
    *, ratings: Iterable[Rating], logins: Mapping[int, str], detail_prefix: str
) -> list[RatingRow]:
    """The ratings list's rows; ``logins`` maps the accounts in view to their logins (no join),
    ``detail_prefix`` is the ratings list's URL (a rating's page is ``<prefix><pk>/``)."""
    return [
        RatingRow(
            pk=r.pk,
            allegro_id=r.allegro_id,
            url=f"{detail_prefix}{r.pk}/",
            created=when(r.created_at),
            recommended=r.recommended,
            rates=" / ".join(
                str(v) if v else NO_RATE
                for v in (r.rate_description, r.rate_service, r.rate_delivery_cost)
            ),
            comment=shorten(r.comment, 100) or NONE,
            buyer_login=r.buyer_login,
            answered=bool(r.answer_message),
            removal_requested=r.removal_requested_at is not None,
            account=logins.get(r.account_id, ""),
        )
        for r in ratings
    ]


@dataclass(frozen=True, slots=True)
class DisputeRow:
    pk: int
    allegro_id: str
    url: str
    opened: str
    type_label: str
    status_label: str
    subject: str
    buyer_login: str
    last_speaker: str  # BUYER, SELLER, ADMIN or ""
    decision_due: str
    account: str


def dispute_rows(
    *,
    disputes: Iterable[Dispute],
    logins: Mapping[int, str],
    detail_prefix: str,
    type_labels: Mapping[str, Any],
    status_labels: Mapping[str, Any],
) -> list[DisputeRow]:
    """The disputes list's rows (``disputes`` annotated with ``last_speaker``, as
    ``disputes_matching`` gives them); unknown types and statuses show no label."""
    types = {k: str(v) for k, v in type_labels.items()}
    statuses = {k: str(v) for k, v in status_labels.items()}
    return [
        DisputeRow(
            pk=d.pk,
            allegro_id=d.allegro_id,
            url=f"{detail_prefix}{d.pk}/",
            opened=when(d.opened_at),
            type_label=types.get(d.type, ""),
            status_label=statuses.get(d.status, ""),
            subject=shorten(d.subject, 80) or NONE,
            buyer_login=d.buyer_login,
            last_speaker=getattr(d, "last_speaker", None) or "",
            decision_due=when(d.decision_due_at),
            account=logins.get(d.account_id, ""),
        )
        for d in disputes
    ]


@dataclass(frozen=True, slots=True)
class ChatAttachment:
    url: str  # through this server (the account's token stays here)
    name: str  # "" when Allegro gave none


@dataclass(frozen=True, slots=True)
class ChatRow:
    role: str  # BUYER, SELLER, ADMIN or another word of Allegro's
    author_login: str
    sent: str
    text: str
    attachments: list[ChatAttachment]

    @property
    def role_class(self) -> str:
        return self.role.lower()


@dataclass(frozen=True)
class ClaimDecision:
    """The decision staff sent on a claim (Allegro's issue does not show it back)."""

    decision: str
    refund_amount: Decimal | None
    refund_currency: str
    decided_at: datetime


def claim_decision_of(*, dispute: Dispute) -> ClaimDecision | None:
    """The last decision sent on ``dispute`` from the back-office, read from its audit entry
    (``claim.decision``: ``refund_amount`` and ``refund_currency`` for a partial refund)."""
    entry = (
        AuditLogEntry.objects.filter(
            account_id=dispute.account_id,
            action="claim.decision",
            target=f"dispute:{dispute.allegro_id}",
        )
        .only("after", "created_at")
        .order_by("-created_at", "-id")
        .first()
    )
    after = entry.after if entry is not None and isinstance(entry.after, dict) else None
    if entry is None or after is None:
        return None
    amount, currency = after.get("refund_amount"), after.get("refund_currency")
    if amount is None and after.get("refund"):
        # entries written before the amount was kept as data: "60.00 PLN"
        amount, _, currency = str(after["refund"]).partition(" ")
    return ClaimDecision(
        decision=str(after.get("decision") or ""),
        refund_amount=decimal_or_none(amount),
        refund_currency=str(currency or ""),
        decided_at=entry.created_at,
    )


def dispute_chat(*, dispute: Dispute, detail_url: str) -> list[ChatRow]:
    """A dispute's whole chat, oldest first, as the page prints it; ``detail_url`` is the
    dispute's page (its attachments are under ``<detail_url>messages/<pk>/attachments/<n>/``)."""
    rows = []
    for m in dispute.messages.defer("raw").order_by("created_at", "id"):
        files = m.attachments if isinstance(m.attachments, list) else []
        rows.append(
            ChatRow(
                role=m.author_role,
                author_login=m.author_login,
                sent=when(m.created_at) if m.created_at else "",
                text=m.text,
                attachments=[
                    ChatAttachment(
                        url=f"{detail_url}messages/{m.pk}/attachments/{n}/",
                        name=str(f.get("fileName") or "") if isinstance(f, dict) else "",
                    )
                    for n, f in enumerate(files)
                ],
            )
        )
    return rows


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


def reply_fill(*, text: str, buyer_login: str, order_id: str, offer_title: str = "") -> str:
    """A saved reply with its placeholders filled; unknown ones stay as typed."""
    values = {"{buyer_login}": buyer_login, "{order_id}": order_id, "{offer_title}": offer_title}
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def reply_render(*, text: str, rating: Rating) -> str:
    """A saved reply with its placeholders filled for ``rating``."""
    offers = rating_offers(rating=rating)
    return reply_fill(
        text=text,
        buyer_login=rating.buyer_login,
        order_id=rating.checkout_form_id,
        offer_title=offers[0].title if offers else "",
    )


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
