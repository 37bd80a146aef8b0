"""The after-sales inbox: what waits for the seller across the staff member's accounts.

One definition, shared by the inbox page, the navigation badge and the dashboard's counts:

- **a rating** waits while it is negative (not recommended) or neutral (recommended, but some
  rate is 3 stars or fewer), still on Allegro, with neither an answer nor a removal request,
  and answering still makes sense: within ``ANSWER_WINDOW`` of the buyer's last word (the
  rating's creation or edit), or for as long as Allegro still accepts a removal request
  (``removal.possibleTo`` in the future). Allegro gives no deadline for an answer; we chose 30
  days (``AFTERSALES_ANSWER_WINDOW_DAYS``): past it, and past the removal window, an answer
  no longer changes what buyers read first.
- **a dispute or claim** waits while it is open (``DISPUTE_ONGOING`` / ``CLAIM_SUBMITTED``) and
  either awaits a decision (a submitted claim) or its last word (by a person) is the buyer's or
  an Allegro advisor's, or nobody spoke yet: a new buyer message puts it back here.
- an item **marked handled** here stays out until something new happens on Allegro (the rating
  edited, a new buyer message).

Sorted by the deadline Allegro gives (removal ``possibleTo``, a claim's ``decisionDueDate``);
where Allegro gives none, by age: such an item is "due" ``REPLY_TARGET`` after it started
waiting, so the two kinds interleave on one time line. Items leave when the mirror shows the
seller's answer (Allegro's reply to our request, or the next poll).

Every query here is constant in number: the page is one ``UNION ALL`` of the two kinds (plus its
capped count) and one load per kind; the per-account counts are one grouped ``UNION ALL``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models import (
    LIVE,
    NEGATIVE_OR_NEUTRAL,
    UNANSWERED,
    Dispute,
    DisputeMessage,
    Rating,
)
from ui.paging import Accounts, account_filter

M = TypeVar("M", Rating, Dispute)

DISPUTE_ONGOING = "DISPUTE_ONGOING"
CLAIM_SUBMITTED = "CLAIM_SUBMITTED"
# Chat authors who expect an answer; SYSTEM / FULFILLMENT notices do not change whose turn it is.
SPEAKERS = ("BUYER", "SELLER", "ADMIN")
OTHER_SIDE = ("BUYER", "ADMIN")

KIND_RATING = "rating"
KIND_DISPUTE = "dispute"
KIND_CLAIM = "claim"
KIND_CHOICES = [
    (KIND_RATING, _("Ratings")),
    (KIND_DISPUTE, _("Disputes")),
    (KIND_CLAIM, _("Claims")),
]


def answer_window() -> timedelta:
    return timedelta(days=int(getattr(settings, "AFTERSALES_ANSWER_WINDOW_DAYS", 30)))


def reply_target() -> timedelta:
    """How long an item without an Allegro deadline may wait before it counts as overdue."""
    return timedelta(hours=int(getattr(settings, "AFTERSALES_REPLY_TARGET_HOURS", 48)))


# --- ratings ----------------------------------------------------------------------------------

NOT_HANDLED = Q(inbox_state__handled_at__isnull=True) | Q(
    inbox_state__handled_at__lt=F("waiting_since")
)


def _later(delta: timedelta) -> ExpressionWrapper[Any]:
    return ExpressionWrapper(F("waiting_since") + Value(delta), output_field=DateTimeField())


def _of(qs: QuerySet[M], accounts: Accounts | None) -> QuerySet[M]:
    return qs if accounts is None else qs.filter(account__in=account_filter(accounts))


def ratings_waiting(*, accounts: Accounts | None, now: datetime | None = None) -> QuerySet[Rating]:
    """Ratings waiting for the seller, annotated ``waiting_since``, ``deadline`` (Allegro's:
    the removal window's end) and ``due`` (the deadline, else ``REPLY_TARGET`` after)."""
    now = now or timezone.now()
    return (
        _of(Rating.objects.all(), accounts)
        .filter(NEGATIVE_OR_NEUTRAL & UNANSWERED & LIVE)  # as the partial index rating_waiting
        .annotate(waiting_since=Coalesce("edited_at", "created_at", "synced_at"))
        .filter(Q(waiting_since__gte=now - answer_window()) | Q(removal_possible_to__gt=now))
        .filter(NOT_HANDLED)
        .annotate(
            deadline=Case(
                When(removal_possible_to__gt=now, then=F("removal_possible_to")),
                default=None,
                output_field=DateTimeField(),
            ),
        )
        .annotate(due=Coalesce("deadline", _later(reply_target())))
    )


# --- disputes and claims ----------------------------------------------------------------------


def _last_of(roles: Sequence[str], column: str) -> Subquery:
    return Subquery(
        DisputeMessage.objects.filter(dispute_id=OuterRef("pk"), author_role__in=roles)
        .order_by("-created_at", "-id")
        .values(column)[:1]
    )


def disputes_waiting(
    *, accounts: Accounts | None, now: datetime | None = None
) -> QuerySet[Dispute]:
    """Claims awaiting the seller's decision, and open disputes whose last word (by a person)
    is the buyer's or an Allegro advisor's, or with no word yet; annotated like
    :func:`ratings_waiting` (``deadline``: the claim's decision due date)."""
    return (
        _of(Dispute.objects.all(), accounts)
        .filter(status__in=[DISPUTE_ONGOING, CLAIM_SUBMITTED])
        .annotate(last_speaker=_last_of(SPEAKERS, "author_role"))
        .filter(
            Q(status=CLAIM_SUBMITTED)
            | Q(last_speaker__in=OTHER_SIDE)
            | Q(last_speaker__isnull=True)
        )
        .annotate(
            waiting_since=Coalesce(_last_of(OTHER_SIDE, "created_at"), "opened_at", "synced_at"),
            deadline=F("decision_due_at"),
        )
        .filter(NOT_HANDLED)
        .annotate(due=Coalesce("deadline", _later(reply_target())))
    )


# --- the inbox page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxQuery:
    account_ids: Sequence[int] = ()
    kinds: Sequence[str] = ()  # empty: all
    assigned: str = ""  # "me", "none" or ""
    overdue: bool = False


def _narrow(qs: QuerySet[Any], *, query: InboxQuery, user: Any, now: datetime) -> QuerySet[Any]:
    if query.account_ids:
        qs = qs.filter(account_id__in=query.account_ids)
    if query.assigned == "me":
        qs = qs.filter(inbox_state__assignee_id=user.pk)
    elif query.assigned == "none":
        qs = qs.filter(inbox_state__assignee__isnull=True)
    if query.overdue:
        qs = qs.filter(due__lt=now)
    return qs


def _rows(qs: QuerySet[Any], kind: Any) -> QuerySet[Any]:
    return qs.order_by().values_list(
        Value(kind, output_field=CharField()) if isinstance(kind, str) else kind,
        "pk",
        "due",
        "waiting_since",
    )


def inbox_source(
    *, accounts: Accounts, query: InboxQuery, user: Any, now: datetime | None = None
) -> QuerySet[Any]:
    """``(kind, pk, due, waiting_since)`` rows of the inbox, most urgent first (sliceable,
    countable: the page source of a ``CappedPaginator``)."""
    now = now or timezone.now()
    kinds = set(query.kinds) or {KIND_RATING, KIND_DISPUTE, KIND_CLAIM}
    parts: list[QuerySet[Any]] = []
    if KIND_RATING in kinds:
        ratings = _narrow(
            ratings_waiting(accounts=accounts, now=now), query=query, user=user, now=now
        )
        parts.append(_rows(ratings, KIND_RATING))
    issue_kinds = [k for k in (KIND_DISPUTE, KIND_CLAIM) if k in kinds]
    if issue_kinds:
        disputes = _narrow(
            disputes_waiting(accounts=accounts, now=now), query=query, user=user, now=now
        )
        if len(issue_kinds) == 1:
            disputes = disputes.filter(type=issue_kinds[0].upper())
        kind = Case(
            When(type="CLAIM", then=Value(KIND_CLAIM)),
            default=Value(KIND_DISPUTE),
            output_field=CharField(),
        )
        parts.append(_rows(disputes, kind))
    combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return combined.order_by("due", "waiting_since", "pk")


@dataclass(frozen=True)
class WaitingRow:
    kind: str
    pk: int
    due: datetime
    waiting_since: datetime
    account_id: int
    assignee_id: int | None


def _waiting_values(qs: QuerySet[Any], kind: Any) -> QuerySet[Any]:
    return qs.order_by().values_list(
        Value(kind, output_field=CharField()) if isinstance(kind, str) else kind,
        "pk",
        "due",
        "waiting_since",
        "account_id",
        "inbox_state__assignee_id",
    )


def inbox_waiting(*, accounts: Accounts, now: datetime | None = None) -> list[WaitingRow]:
    """Everything waiting in ``accounts``, most urgent first, in ONE query (a ``UNION ALL`` of
    the two kinds, six narrow columns a row). The inbox page filters, counts and pages these
    rows itself: what waits for a seller is a short list (what a team clears every morning),
    while the same union run three times (page, its count, the counts per account) costs three
    times the reading of the chats."""
    now = now or timezone.now()
    claim_or_dispute = Case(
        When(type="CLAIM", then=Value(KIND_CLAIM)),
        default=Value(KIND_DISPUTE),
        output_field=CharField(),
    )
    rows = _waiting_values(ratings_waiting(accounts=accounts, now=now), KIND_RATING).union(
        _waiting_values(disputes_waiting(accounts=accounts, now=now), claim_or_dispute), all=True
    )
    found = [WaitingRow(*row) for row in rows]
    found.sort(key=lambda r: (r.due, r.waiting_since, r.pk))
    return found


def inbox_select(
    *, rows: Sequence[WaitingRow], query: InboxQuery, user: Any, now: datetime
) -> list[WaitingRow]:
    """The rows the inbox's filters keep (the same rules as :func:`inbox_source`)."""
    kinds = set(query.kinds) or {KIND_RATING, KIND_DISPUTE, KIND_CLAIM}
    accounts = set(query.account_ids)
    chosen = []
    for row in rows:
        if row.kind not in kinds or (accounts and row.account_id not in accounts):
            continue
        if query.assigned == "me" and row.assignee_id != user.pk:
            continue
        if query.assigned == "none" and row.assignee_id is not None:
            continue
        if query.overdue and not row.due < now:
            continue
        chosen.append(row)
    return chosen


def inbox_counts_of(rows: Sequence[WaitingRow]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for row in rows:
        counts[row.account_id] = counts.get(row.account_id, 0) + 1
    return counts


@dataclass(frozen=True)
class InboxItem:
    kind: str
    obj: Any  # Rating or Dispute
    due: datetime
    waiting_since: datetime
    deadline: datetime | None  # Allegro's
    url: str  # where Enter goes
    reply_url: str  # where "r" goes
    order_url: str
    reasons: list[str]

    @property
    def account(self) -> Any:
        return self.obj.account

    @property
    def assignee(self) -> Any:
        state = getattr(self.obj, "inbox_state", None)
        return state.assignee if state is not None else None

    @property
    def target_kind(self) -> str:
        """``rating`` or ``dispute`` (a claim is a dispute): the inbox actions' URL kind."""
        return "rating" if self.kind == KIND_RATING else "dispute"

    @property
    def key(self) -> str:
        return f"{self.target_kind}-{self.obj.pk}"


def order_url(*, account_id: int, checkout_form_id: str, base: str | None = None) -> str:
    """The order page of an Allegro checkout form, by URL only (after-sales never imports
    orders): the orders list searched for the id within the account (``base``: the orders
    list's URL when the caller already has it)."""
    if not checkout_form_id:
        return ""
    from urllib.parse import urlencode

    query = urlencode({"q": checkout_form_id, "account": account_id})
    return f"{base or reverse('orders:index')}?{query}"


class _Urls:
    """Per-page URL building: each route reversed once, then filled in per row."""

    MARK = 987654321987

    def __init__(self) -> None:
        self.orders = reverse("orders:index")
        self.rating = reverse("aftersales:rating", args=[self.MARK])
        try:
            self.dispute: str | None = reverse("aftersales:dispute", args=[self.MARK])
        except NoReverseMatch:
            self.dispute = None

    def of(self, pattern: str, pk: int) -> str:
        return pattern.replace(str(self.MARK), str(pk))


def order_shipments_url(*, account_id: int, checkout_form_id: str) -> str:
    """The shipments of an Allegro checkout form, by URL only (after-sales never imports
    shipping): the shipping list's shipments tab searched for the order id within the account."""
    if not checkout_form_id:
        return ""
    from urllib.parse import urlencode

    query = urlencode({"tab": "shipments", "q": checkout_form_id, "account": account_id})
    return f"{reverse('shipping:index')}?{query}"


def dispute_url(dispute: Dispute) -> str:
    """The dispute's page (built by the disputes pages); the order until it exists."""
    try:
        return reverse("aftersales:dispute", args=[dispute.pk])
    except NoReverseMatch:
        return order_url(account_id=dispute.account_id, checkout_form_id=dispute.checkout_form_id)


def inbox_items(
    *, rows: Sequence[Any], now: datetime | None = None, removal_label: Any = None
) -> list[InboxItem]:
    """The page's items from its ``(kind, pk, due, waiting_since)`` rows (or
    :class:`WaitingRow`): one load per kind."""
    now = now or timezone.now()
    rows = [
        (r.kind, r.pk, r.due, r.waiting_since) if isinstance(r, WaitingRow) else r for r in rows
    ]
    rating_ids = [r[1] for r in rows if r[0] == KIND_RATING]
    dispute_ids = [r[1] for r in rows if r[0] != KIND_RATING]
    ratings = (
        {
            r.pk: r
            for r in Rating.objects.filter(pk__in=rating_ids)
            .select_related("account", "inbox_state__assignee")
            .defer("raw")
        }
        if rating_ids
        else {}
    )
    disputes = (
        {
            d.pk: d
            for d in Dispute.objects.filter(pk__in=dispute_ids)
            .select_related("account", "inbox_state__assignee")
            .defer("raw")
        }
        if dispute_ids
        else {}
    )
    items: list[InboxItem] = []
    urls = _Urls()
    for kind, pk, due, waiting_since in rows:
        if kind == KIND_RATING:
            rating = ratings.get(pk)
            if rating is None:
                continue
            url = urls.of(urls.rating, rating.pk)
            reasons = [str(_("no answer"))]
            deadline = None
            if rating.removal_possible_to and rating.removal_possible_to > now:
                deadline = rating.removal_possible_to
                reasons.append(str(_("removal can be requested")))
            items.append(
                InboxItem(
                    kind=kind,
                    obj=rating,
                    due=due,
                    waiting_since=waiting_since,
                    deadline=deadline,
                    url=url,
                    reply_url=f"{url}#answer",
                    order_url=order_url(
                        account_id=rating.account_id,
                        checkout_form_id=rating.checkout_form_id,
                        base=urls.orders,
                    ),
                    reasons=reasons,
                )
            )
        else:
            dispute = disputes.get(pk)
            if dispute is None:
                continue
            url = urls.of(urls.dispute, dispute.pk) if urls.dispute else dispute_url(dispute)
            reasons = (
                [str(_("awaits your decision"))]
                if dispute.status == CLAIM_SUBMITTED
                else [str(_("buyer wrote"))]
            )
            items.append(
                InboxItem(
                    kind=kind,
                    obj=dispute,
                    due=due,
                    waiting_since=waiting_since,
                    deadline=dispute.decision_due_at,
                    url=url,
                    reply_url=f"{url}#reply" if "/orders/" not in url else url,
                    order_url=order_url(
                        account_id=dispute.account_id,
                        checkout_form_id=dispute.checkout_form_id,
                        base=urls.orders,
                    ),
                    reasons=reasons,
                )
            )
    return items


# --- counts -----------------------------------------------------------------------------------


def inbox_counts(*, accounts: Accounts, now: datetime | None = None) -> dict[int, int]:
    """``{account id: items waiting}``: one grouped query for every account in view."""
    now = now or timezone.now()

    def grouped(qs: QuerySet[Any]) -> QuerySet[Any]:
        rows: QuerySet[Any] = (
            qs.order_by()
            .values("account_id")
            .annotate(n=Count("pk", output_field=IntegerField()))
            .values_list("account_id", "n")
        )
        return rows

    rows = grouped(ratings_waiting(accounts=accounts, now=now)).union(
        grouped(disputes_waiting(accounts=accounts, now=now)), all=True
    )
    counts: dict[int, int] = {}
    for account_id, n in rows:
        counts[account_id] = counts.get(account_id, 0) + n
    return counts
