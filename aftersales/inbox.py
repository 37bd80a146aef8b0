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
- **a customer return** waits for its refund while its returned parcel was delivered to the
  seller (``DELIVERED``), it was not rejected, and no refund was made for it, here or on Allegro
  (a refund linked to the return, or a refund of its order made since the return was declared;
  one Allegro refused or cancelled does not count). Allegro gives no deadline; its age counts
  from the return's declaration (Allegro does not say when the parcel arrived). It leaves when
  refunded (Allegro then shows it ``FINISHED``) or rejected.
- **a buyer message thread** waits while it is unread on Allegro (opening it here marks it
  read); its age counts from its last message.
- an item **marked handled** here stays out until something new happens on Allegro (the rating
  edited, a new buyer message).

Sorted by the deadline Allegro gives (removal ``possibleTo``, a claim's ``decisionDueDate``);
where Allegro gives none, by age: such an item is "due" ``REPLY_TARGET`` after it started
waiting, so the two kinds interleave on one time line. Items leave when the mirror shows the
seller's answer (Allegro's reply to our request, or the next poll).

Every query here is constant in number, and each reads only what waits (partial indexes:
``rating_waiting``, ``dispute_waiting``; whose turn it is in a dispute is a column the mirror
keeps, ``Dispute.last_speaker``, not a read of its chat): the page is one ``UNION ALL`` of the
kinds that carries every column a row shows, sorted and sliced in SQL; the counts per account
and kind are one grouped ``UNION ALL``, from which the page's total is taken unless the
assignee or overdue filter is on (then one ``COUNT`` of the union).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Left
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from aftersales.models import (
    CLAIM_SUBMITTED,
    DISPUTE_WAITING,
    LIVE,
    NEGATIVE_OR_NEUTRAL,
    UNANSWERED,
    CustomerReturn,
    Dispute,
    MessageThread,
    Rating,
    Refund,
)
from ui.paging import Accounts, account_filter

M = TypeVar("M", Rating, Dispute, CustomerReturn, MessageThread)

KIND_RATING = "rating"
KIND_DISPUTE = "dispute"
KIND_CLAIM = "claim"
KIND_RETURN = "return"
KIND_MESSAGE = "message"
KIND_CHOICES = [
    (KIND_RATING, _("Ratings")),
    (KIND_DISPUTE, _("Disputes")),
    (KIND_CLAIM, _("Claims")),
    (KIND_RETURN, _("Returns to refund")),
    (KIND_MESSAGE, _("Buyer messages")),
]
ALL_KINDS = tuple(k for k, _label in KIND_CHOICES)
# What the inbox's actions (assign, handled, note) name in their URL, per kind of item.
TARGET_OF_KIND = {
    KIND_RATING: "rating",
    KIND_DISPUTE: "dispute",
    KIND_CLAIM: "dispute",
    KIND_RETURN: "return",
    KIND_MESSAGE: "thread",
}
TARGET_KINDS = ("rating", "dispute", "return", "thread")
RETURN_DELIVERED = "DELIVERED"


def answer_window() -> timedelta:
    return timedelta(days=int(getattr(settings, "AFTERSALES_ANSWER_WINDOW_DAYS", 30)))


def reply_target() -> timedelta:
    """How long an item without an Allegro deadline may wait before it counts as overdue."""
    return timedelta(hours=int(getattr(settings, "AFTERSALES_REPLY_TARGET_HOURS", 48)))


# --- what waits, per kind ---------------------------------------------------------------------

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


def disputes_waiting(
    *, accounts: Accounts | None, now: datetime | None = None
) -> QuerySet[Dispute]:
    """Claims awaiting the seller's decision, and open disputes whose last word (by a person)
    is the buyer's or an Allegro advisor's, or with no word yet (``DISPUTE_WAITING``: the
    columns the mirror keeps, as the partial index dispute_waiting); ``waiting_since`` is the
    column, annotated like :func:`ratings_waiting` (``deadline``: the claim's decision due
    date)."""
    return (
        _of(Dispute.objects.all(), accounts)
        .filter(DISPUTE_WAITING)
        .filter(NOT_HANDLED)
        .annotate(deadline=F("decision_due_at"))
        .annotate(due=Coalesce("deadline", _later(reply_target())))
    )


def _no_deadline() -> Cast:
    return Cast(Value(None), output_field=DateTimeField())


def refunds_covering_return() -> Exists:
    """A refund made for the return (linked to it), or of its order since the return was
    declared, that Allegro did not refuse or cancel."""
    return Exists(
        Refund.objects.filter(
            Q(customer_return_id=OuterRef("pk"))
            | Q(
                account_id=OuterRef("account_id"),
                order_id=OuterRef("order_id"),
                created_at__gte=OuterRef("created_at"),
            )
        )
        .exclude(local_state=Refund.Local.FAILED)
        .exclude(status="CANCELED")
    )


def returns_waiting(
    *, accounts: Accounts | None, now: datetime | None = None
) -> QuerySet[CustomerReturn]:
    """Customer returns whose parcel came back and that wait for the refund, annotated like
    :func:`ratings_waiting` (no deadline: ``due`` is ``REPLY_TARGET`` after the declaration)."""
    return (
        _of(CustomerReturn.objects.all(), accounts)
        .filter(status=RETURN_DELIVERED, rejection_code="", rejected_at__isnull=True)
        .exclude(refunds_covering_return())
        .annotate(waiting_since=Coalesce("created_at", "synced_at"))
        .filter(NOT_HANDLED)
        .annotate(deadline=_no_deadline())
        .annotate(due=_later(reply_target()))
    )


def threads_waiting(
    *, accounts: Accounts | None, now: datetime | None = None
) -> QuerySet[MessageThread]:
    """Buyer message threads unread on Allegro, annotated like :func:`ratings_waiting` (no
    deadline: ``due`` is ``REPLY_TARGET`` after the last message)."""
    return (
        _of(MessageThread.objects.all(), accounts)
        .filter(read=False)
        .annotate(waiting_since=Coalesce("last_message_at", "synced_at"))
        .filter(NOT_HANDLED)
        .annotate(deadline=_no_deadline())
        .annotate(due=_later(reply_target()))
    )


# --- the inbox's rows: one UNION ALL of the kinds ---------------------------------------------


@dataclass(frozen=True)
class InboxQuery:
    account_ids: Sequence[int] = ()
    kinds: Sequence[str] = ()  # empty: all
    assigned: str = ""  # "me", "none" or ""
    overdue: bool = False

    @property
    def counted_by_kind(self) -> bool:
        """Whether the counts per account and kind give this query's total (no assignee or
        overdue filter)."""
        return not self.assigned and not self.overdue


SUMMARY = 80  # characters of a comment or subject shown


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


def _claim_or_dispute() -> Case:
    return Case(
        When(type="CLAIM", then=_text(KIND_CLAIM)),
        default=_text(KIND_DISPUTE),
        output_field=CharField(),
    )


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


# Every part of the union selects these columns, in this order (see :class:`Row`).
def _columns(kind: Any, *, buyer: str, order: str, summary: Any, state: Any) -> tuple[Any, ...]:
    return (
        kind,
        "pk",
        "due",
        "waiting_since",
        "deadline",
        "account_id",
        buyer,
        order,
        summary,
        state,
        "inbox_state__assignee_id",
        "inbox_state__assignee__username",
    )


@dataclass(frozen=True)
class Row:
    """One waiting item as the union selects it: everything its line on the page shows."""

    kind: str
    pk: int
    due: datetime
    waiting_since: datetime
    deadline: datetime | None
    account_id: int
    buyer: str
    order_id: str
    summary: str
    state: str  # a rating: "negative" / "neutral"; a dispute, claim or return: its status
    assignee_id: int | None
    assignee: str | None


def _parts(
    *, accounts: Accounts, query: InboxQuery, user: Any, now: datetime
) -> list[QuerySet[Any]]:
    kinds = set(query.kinds) or set(ALL_KINDS)
    parts: list[QuerySet[Any]] = []
    if KIND_RATING in kinds:
        ratings = _narrow(
            ratings_waiting(accounts=accounts, now=now), query=query, user=user, now=now
        )
        negative = Case(
            When(recommended=True, then=_text("neutral")),
            default=_text("negative"),
            output_field=CharField(),
        )
        parts.append(
            ratings.order_by().values_list(
                *_columns(
                    _text(KIND_RATING),
                    buyer="buyer_login",
                    order="checkout_form_id",
                    summary=Left("comment", SUMMARY + 1),
                    state=negative,
                )
            )
        )
    issue_kinds = [k for k in (KIND_DISPUTE, KIND_CLAIM) if k in kinds]
    if issue_kinds:
        disputes = _narrow(
            disputes_waiting(accounts=accounts, now=now), query=query, user=user, now=now
        )
        if len(issue_kinds) == 1:
            disputes = disputes.filter(type=issue_kinds[0].upper())
        parts.append(
            disputes.order_by().values_list(
                *_columns(
                    _claim_or_dispute(),
                    buyer="buyer_login",
                    order="checkout_form_id",
                    summary=Left("subject", SUMMARY + 1),
                    state="status",
                )
            )
        )
    if KIND_RETURN in kinds:
        returns = _narrow(
            returns_waiting(accounts=accounts, now=now), query=query, user=user, now=now
        )
        parts.append(
            returns.order_by().values_list(
                *_columns(
                    _text(KIND_RETURN),
                    buyer="buyer_login",
                    order="order_id",
                    summary="reference_number",
                    state="status",
                )
            )
        )
    if KIND_MESSAGE in kinds:
        threads = _narrow(
            threads_waiting(accounts=accounts, now=now), query=query, user=user, now=now
        )
        parts.append(
            threads.order_by().values_list(
                *_columns(
                    _text(KIND_MESSAGE),
                    buyer="interlocutor_login",
                    order="order_id",
                    summary=_text(""),
                    state=_text("unread"),
                )
            )
        )
    return parts


def inbox_source(
    *, accounts: Accounts, query: InboxQuery, user: Any, now: datetime | None = None
) -> QuerySet[Any] | None:
    """The inbox's rows (the :class:`Row` columns), most urgent first: one ``UNION ALL``,
    sorted and sliced by PostgreSQL. ``None`` when no kind is asked for."""
    now = now or timezone.now()
    parts = _parts(accounts=accounts, query=query, user=user, now=now)
    if not parts:
        return None
    combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return combined.order_by("due", "waiting_since", "pk")


# --- counts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """What waits in the accounts in view: ``by_kind[(account id, kind)]``."""

    by_kind: dict[tuple[int, str], int] = field(default_factory=dict)

    def per_account(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for (account_id, _kind), n in self.by_kind.items():
            counts[account_id] = counts.get(account_id, 0) + n
        return counts

    def total(self, *, query: InboxQuery) -> int:
        """The total of ``query`` (only when :attr:`InboxQuery.counted_by_kind`)."""
        kinds = set(query.kinds) or set(ALL_KINDS)
        accounts = set(query.account_ids)
        return sum(
            n
            for (account_id, kind), n in self.by_kind.items()
            if kind in kinds and (not accounts or account_id in accounts)
        )


def _grouped(qs: QuerySet[Any], kind: str | None = None) -> QuerySet[Any]:
    """``(account id, kind or the dispute's type, n)`` rows."""
    rows: QuerySet[Any] = (
        qs.order_by()
        .values("account_id", *([] if kind else ["type"]))
        .annotate(n=Count("pk", output_field=IntegerField()))
        .values_list("account_id", _text(kind) if kind else "type", "n")
    )
    return rows


def inbox_counts_by_kind(*, accounts: Accounts, now: datetime | None = None) -> Counts:
    """Items waiting per account and kind: one grouped ``UNION ALL`` for every account in view."""
    now = now or timezone.now()
    rows = _grouped(ratings_waiting(accounts=accounts, now=now), KIND_RATING).union(
        _grouped(disputes_waiting(accounts=accounts, now=now)),
        _grouped(returns_waiting(accounts=accounts, now=now), KIND_RETURN),
        _grouped(threads_waiting(accounts=accounts, now=now), KIND_MESSAGE),
        all=True,
    )
    named = {"CLAIM": KIND_CLAIM, KIND_RATING: KIND_RATING}
    named.update({KIND_RETURN: KIND_RETURN, KIND_MESSAGE: KIND_MESSAGE})
    by_kind: dict[tuple[int, str], int] = {}
    for account_id, kind_or_type, n in rows:
        kind = named.get(kind_or_type, KIND_DISPUTE)
        by_kind[(account_id, kind)] = by_kind.get((account_id, kind), 0) + n
    return Counts(by_kind)


def inbox_counts(*, accounts: Accounts, now: datetime | None = None) -> dict[int, int]:
    """``{account id: items waiting}``: one grouped query for every account in view."""
    return inbox_counts_by_kind(accounts=accounts, now=now).per_account()


class InboxRows:
    """The inbox's rows for a ``Paginator``: sliced in SQL, counted from :class:`Counts` when
    they tell (else one ``COUNT`` of the union)."""

    def __init__(
        self,
        *,
        accounts: Accounts,
        query: InboxQuery,
        user: Any,
        counts: Counts,
        now: datetime | None = None,
    ) -> None:
        self.query = query
        self.counts = counts
        self.source = inbox_source(accounts=accounts, query=query, user=user, now=now)
        self._total: int | None = None

    def __len__(self) -> int:
        if self._total is None:
            if self.source is None:
                self._total = 0
            elif self.query.counted_by_kind:
                self._total = self.counts.total(query=self.query)
            else:
                self._total = int(self.source.count())
        return self._total

    @overload
    def __getitem__(self, item: int) -> Row: ...

    @overload
    def __getitem__(self, item: slice) -> list[Row]: ...

    def __getitem__(self, item: int | slice) -> Row | list[Row]:
        if isinstance(item, int):
            return self[item : item + 1][0]
        if self.source is None:
            return []
        return [Row(*row) for row in self.source[item]]

    def __iter__(self) -> Iterator[Row]:
        return iter(self[0 : len(self)])


# --- the page's items -------------------------------------------------------------------------


def order_url(*, account_id: int, checkout_form_id: str, base: str | None = None) -> str:
    """The order page of an Allegro checkout form, by URL only (after-sales never imports
    orders): the orders list searched for the id within the account (``base``: the orders
    list's URL when the caller already has it)."""
    if not checkout_form_id:
        return ""
    query = urlencode({"q": checkout_form_id, "account": account_id})
    return f"{base or reverse('orders:index')}?{query}"


def order_shipments_url(*, account_id: int, checkout_form_id: str) -> str:
    """The shipments of an Allegro checkout form, by URL only (after-sales never imports
    shipping): the shipping list's shipments tab searched for the order id within the account."""
    if not checkout_form_id:
        return ""
    query = urlencode({"tab": "shipments", "q": checkout_form_id, "account": account_id})
    return f"{reverse('shipping:index')}?{query}"


def dispute_url(dispute: Dispute) -> str:
    """The dispute's page (built by the disputes pages); the order until it exists."""
    try:
        return reverse("aftersales:dispute", args=[dispute.pk])
    except NoReverseMatch:
        return order_url(account_id=dispute.account_id, checkout_form_id=dispute.checkout_form_id)


MARK = 987654321987  # a number no row has: reversed once, then replaced by each row's pk
ORDER_MARK = "order-id-here"


def _pattern(name: str, *args: Any) -> str:
    return reverse(name, args=[*args, MARK])


@dataclass(frozen=True)
class InboxItem:
    """A line of the inbox page, ready to print: every text computed here once, so the template
    only prints (a Django template's lookups and filters are most of a long page's time)."""

    kind: str
    target_kind: str  # the inbox actions' URL kind (``TARGET_KINDS``; a claim is a dispute)
    pk: int
    key: str
    label: str
    summary: str
    reasons: list[str]
    account_id: int
    account_login: str
    buyer: str
    order_id: str
    order_short: str
    order_url: str
    due: datetime
    waiting_since: datetime
    waited: str  # how long it has been waiting
    deadline: datetime | None  # Allegro's
    left: str  # time left before the deadline, or why it is late; "—" when nothing to say
    left_alert: bool
    deadline_text: str
    assignee_id: int | None
    assignee: str
    url: str  # where Enter goes
    reply_url: str  # where "r" goes
    handled_url: str
    assign_url: str
    operable: bool  # the viewer may assign and mark handled
    take: bool  # the viewer may take it (operable, not theirs yet)
    overdue: bool  # past its deadline, or waiting longer than ``REPLY_TARGET``

    def __getitem__(self, name: str) -> Any:
        # A template looks ``item.x`` up as ``item["x"]`` first: answering it here spares the
        # failed subscript (an exception) before the attribute, for every value of every row.
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None


class _Urls:
    """Per-page URL building: each route reversed once, then filled in per row."""

    def __init__(self) -> None:
        self.orders = reverse("orders:index")
        self.page = {
            "rating": _pattern("aftersales:rating"),
            "dispute": _pattern("aftersales:dispute"),
            "return": _pattern("aftersales:return"),
            "thread": _pattern("aftersales:thread"),
        }
        self.refund = reverse("aftersales:refund", args=[MARK, ORDER_MARK])
        self.handled = {k: _pattern("aftersales:handled", k) for k in TARGET_KINDS}
        self.assign = {k: _pattern("aftersales:assign", k) for k in TARGET_KINDS}

    @staticmethod
    def of(pattern: str, pk: int) -> str:
        return pattern.replace(str(MARK), str(pk))

    def refund_of(self, *, account_id: int, order_id: str, return_pk: int) -> str:
        """The refund form of the return's order, for the return."""
        url = self.refund.replace(ORDER_MARK, quote(order_id, safe=""))
        return f"{self.of(url, account_id)}?return={return_pk}"


class _Durations:
    """ "3 days, 4 hours" (two adjacent units at most, as Django's ``timesince``), each unit's
    translation looked up once per page."""

    UNITS = (("days", 86400), ("hours", 3600), ("minutes", 60))

    def __init__(self) -> None:
        self.words: dict[tuple[str, int], str] = {}

    def unit(self, name: str, count: int) -> str:
        key = (name, count)
        if key not in self.words:
            if name == "days":
                text = ngettext("%(count)d day", "%(count)d days", count)
            elif name == "hours":
                text = ngettext("%(count)d hour", "%(count)d hours", count)
            else:
                text = ngettext("%(count)d minute", "%(count)d minutes", count)
            self.words[key] = text % {"count": count}
        return self.words[key]

    def of(self, delta: timedelta) -> str:
        seconds = max(0, int(delta.total_seconds()))
        for i, (name, size) in enumerate(self.UNITS):
            count = seconds // size
            if count or name == "minutes":
                text = self.unit(name, count)
                if i + 1 < len(self.UNITS):
                    below, below_size = self.UNITS[i + 1]
                    rest = (seconds - count * size) // below_size
                    if rest:
                        text = f"{text}, {self.unit(below, rest)}"
                return text
        return ""  # not reached: minutes always answer


def _labels() -> dict[str, str]:
    return {
        k: str(v)
        for k, v in {
            "negative": _("Negative rating"),
            "neutral": _("Neutral rating"),
            KIND_DISPUTE: _("Dispute"),
            KIND_CLAIM: _("Claim"),
            "no_answer": _("no answer"),
            "removal": _("removal can be requested"),
            "decision": _("awaits your decision"),
            "buyer_wrote": _("buyer wrote"),
            KIND_RETURN: _("Return to refund"),
            "parcel_delivered": _("parcel delivered"),
            KIND_MESSAGE: _("Buyer message"),
            "unread": _("unread"),
            "overdue": _("overdue"),
            "waiting_long": _("waiting long"),
        }.items()
    }


def _cut(text: str, limit: int = SUMMARY) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def inbox_items(
    *,
    rows: Sequence[Row],
    accounts: Accounts,
    user: Any,
    operable: Sequence[int] = (),
    refundable: Sequence[int] = (),
    now: datetime | None = None,
) -> list[InboxItem]:
    """The page's items from its :class:`Row`s: no query (the accounts are in view already).
    ``operable``: the accounts where the viewer may assign and mark handled; ``refundable``:
    where they may refund (a return's "r" then opens the refund form)."""
    now = now or timezone.now()
    logins = {a.pk: a.login for a in accounts}
    can_operate, can_refund = set(operable), set(refundable)
    labels = _labels()
    urls = _Urls()
    spans = _Durations()
    items: list[InboxItem] = []
    for row in rows:
        target = TARGET_OF_KIND.get(row.kind, "dispute")
        url = urls.of(urls.page[target], row.pk)
        if row.kind == KIND_RATING:
            reply_url = f"{url}#answer"
            label = labels[row.state]
            reasons = [labels["no_answer"]]
            if row.deadline is not None:
                reasons.append(labels["removal"])
        elif row.kind == KIND_RETURN:
            # "r": the refund form for a manager of the account, else the return's page
            reply_url = url
            if row.order_id and row.account_id in can_refund:
                reply_url = urls.refund_of(
                    account_id=row.account_id, order_id=row.order_id, return_pk=row.pk
                )
            label = labels[KIND_RETURN]
            reasons = [labels["parcel_delivered"]]
        elif row.kind == KIND_MESSAGE:
            reply_url = f"{url}#reply"
            label = labels[KIND_MESSAGE]
            reasons = [labels["unread"]]
        else:
            reply_url = f"{url}#reply"
            label = labels[row.kind]
            decision = row.state == CLAIM_SUBMITTED
            reasons = [labels["decision"] if decision else labels["buyer_wrote"]]
        overdue = row.due < now
        left, left_alert, deadline_text = "—", False, ""
        if row.deadline is not None:
            deadline_text = timezone.localtime(row.deadline).strftime("%Y-%m-%d %H:%M")
            if row.deadline > now:
                left = spans.of(row.deadline - now)
            else:
                left, left_alert = labels["overdue"], True
        elif overdue:
            left, left_alert = labels["waiting_long"], True
        may_operate = row.account_id in can_operate
        items.append(
            InboxItem(
                kind=row.kind,
                target_kind=target,
                pk=row.pk,
                key=f"{target}-{row.pk}",
                label=label,
                summary=_cut(row.summary or "") or "—",
                reasons=reasons,
                account_id=row.account_id,
                account_login=logins.get(row.account_id, ""),
                buyer=row.buyer or "—",
                order_id=row.order_id or "",
                order_short=_cut(row.order_id or "", 13),
                order_url=order_url(
                    account_id=row.account_id, checkout_form_id=row.order_id, base=urls.orders
                ),
                due=row.due,
                waiting_since=row.waiting_since,
                waited=spans.of(now - row.waiting_since),
                deadline=row.deadline,
                left=left,
                left_alert=left_alert,
                deadline_text=deadline_text,
                assignee_id=row.assignee_id,
                assignee=row.assignee or "—",
                url=url,
                reply_url=reply_url,
                handled_url=urls.of(urls.handled[target], row.pk),
                assign_url=urls.of(urls.assign[target], row.pk),
                operable=may_operate,
                take=may_operate and row.assignee_id != user.pk,
                overdue=overdue,
            )
        )
    return items
