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
keeps, ``Dispute.last_speaker``, not a read of its chat): a page of the inbox is ONE query, a
``UNION ALL`` of the kinds carrying every column a row shows, materialised once and read for the
page (sorted and sliced by the database), for the counts per account and kind, and for the
page's total when the assignee or overdue filter is on (else the counts give it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, overload
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Left
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
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
    Message,
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


# --- the inbox's rows: one query for the page and the counts ----------------------------------


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


def _last_buyer_text() -> Subquery:
    """The start of the buyer's latest message in the thread (the row's preview)."""
    return Subquery(
        Message.objects.filter(thread_id=OuterRef("pk"), author_is_buyer=True)
        .order_by("-created_at", "-id")
        .annotate(preview=Left("text", SUMMARY + 1))
        .values("preview")[:1],
        output_field=CharField(),
    )


def _claim_or_dispute() -> Case:
    return Case(
        When(type="CLAIM", then=_text(KIND_CLAIM)),
        default=_text(KIND_DISPUTE),
        output_field=CharField(),
    )


# The columns of every part of the union, in this order (see :class:`Row`).
COLUMNS = (
    "kind",
    "pk",
    "due",
    "waiting_since",
    "deadline",
    "account_id",
    "buyer",
    "order_id",
    "summary",
    "state",
    "assignee_id",
    "assignee",
)


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


def _parts(*, accounts: Accounts, now: datetime) -> list[QuerySet[Any]]:
    """Every kind's waiting items as :data:`COLUMNS` rows."""
    negative = Case(
        When(recommended=True, then=_text("neutral")),
        default=_text("negative"),
        output_field=CharField(),
    )
    return [
        ratings_waiting(accounts=accounts, now=now)
        .order_by()
        .values_list(
            *_columns(
                _text(KIND_RATING),
                buyer="buyer_login",
                order="checkout_form_id",
                summary=Left("comment", SUMMARY + 1),
                state=negative,
            )
        ),
        disputes_waiting(accounts=accounts, now=now)
        .order_by()
        .values_list(
            *_columns(
                _claim_or_dispute(),
                buyer="buyer_login",
                order="checkout_form_id",
                summary=Left("subject", SUMMARY + 1),
                state="status",
            )
        ),
        returns_waiting(accounts=accounts, now=now)
        .order_by()
        .values_list(
            *_columns(
                _text(KIND_RETURN),
                buyer="buyer_login",
                order="order_id",
                summary="reference_number",
                state="status",
            )
        ),
        threads_waiting(accounts=accounts, now=now)
        .order_by()
        .values_list(
            *_columns(
                _text(KIND_MESSAGE),
                buyer="interlocutor_login",
                order="order_id",
                summary=Coalesce(_last_buyer_text(), _text("")),
                state=_text("unread"),
            )
        ),
    ]


def inbox_union(*, accounts: Accounts, now: datetime | None = None) -> QuerySet[Any]:
    """Everything waiting in ``accounts``: one ``UNION ALL`` of the kinds (:data:`COLUMNS`)."""
    now = now or timezone.now()
    first, *others = _parts(accounts=accounts, now=now)
    return first.union(*others, all=True)


# The union's SQL for a list of N accounts, built once per process (building the four
# querysets and compiling them was a third of the page's Python): compiled for stand-in
# accounts and a stand-in "now", whose parameters are then replaced by the real ones. On
# PostgreSQL, where the compiler hands datetimes to the driver as they are.
_STAND_IN_NOW = datetime(2000, 1, 1, tzinfo=UTC)
_STAND_IN_ID = -(10**15)
_compiled: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}


@dataclass(frozen=True)
class _StandIn:
    pk: int


def inbox_union_sql(*, accounts: Accounts, now: datetime) -> tuple[str, list[Any]]:
    """``(sql, params)`` of :func:`inbox_union`; raises ``EmptyResultSet`` without accounts."""
    if isinstance(accounts, QuerySet) or connection.vendor != "postgresql":
        # (SQLite's compiler turns datetimes into text already: nothing to replace there)
        compiled, values = inbox_union(accounts=accounts, now=now).query.sql_with_params()
        return compiled, list(values)
    ids = [a.pk for a in accounts]
    if not ids:
        raise EmptyResultSet
    key = (len(ids), answer_window(), reply_target())
    if key not in _compiled:
        stand_ins = [_StandIn(pk=_STAND_IN_ID - n) for n in range(len(ids))]
        union = inbox_union(accounts=stand_ins, now=_STAND_IN_NOW)  # type: ignore[arg-type]
        _compiled[key] = union.query.sql_with_params()
    sql, template = _compiled[key]
    params: list[Any] = []
    for value in template:
        if isinstance(value, datetime):  # "now", or a fixed span before or after it
            value = now + (value - _STAND_IN_NOW)
        elif type(value) is int and _STAND_IN_ID - len(ids) < value <= _STAND_IN_ID:
            value = ids[_STAND_IN_ID - value]
        params.append(value)
    return sql, params


def _where(*, query: InboxQuery, user: Any, now: datetime) -> tuple[str, list[Any]]:
    """The filters of ``query`` on the union's columns."""
    clauses: list[str] = []
    params: list[Any] = []
    if query.account_ids:
        clauses.append(f"account_id IN ({', '.join(['%s'] * len(query.account_ids))})")
        params.extend(query.account_ids)
    if query.kinds:
        clauses.append(f"kind IN ({', '.join(['%s'] * len(query.kinds))})")
        params.extend(query.kinds)
    if query.assigned == "me":
        clauses.append("assignee_id = %s")
        params.append(user.pk)
    elif query.assigned == "none":
        clauses.append("assignee_id IS NULL")
    if query.overdue:
        clauses.append("due < %s")
        params.append(now)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params


def _when(value: Any) -> datetime | None:
    """A timestamp from the raw cursor: PostgreSQL gives datetimes, SQLite (the embedded demo)
    gives Django's text for computed ones."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


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


@dataclass(frozen=True)
class Fetched:
    rows: list[Row]
    counts: Counts
    total: int | None  # the query's total when the counts do not give it


PAGE, COUNT, TOTAL = 0, 1, 2


def inbox_fetch(
    *,
    accounts: Accounts,
    query: InboxQuery,
    user: Any,
    offset: int,
    limit: int,
    counts: bool = True,
    now: datetime | None = None,
) -> Fetched:
    """One page of the inbox (``query``'s rows from ``offset``, most urgent first) and, with
    ``counts``, what waits per account and kind (and ``query``'s total unless those give it):
    ONE query. The union of the kinds is a ``MATERIALIZED`` common table read by each part, so
    every table is read once and the statement is planned once, as a whole (separate queries
    for the page and the counts each planned the union anew, and a misestimated count made
    PostgreSQL start parallel workers for a few hundred rows)."""
    now = now or timezone.now()
    try:
        base, base_params = inbox_union_sql(accounts=accounts, now=now)
    except EmptyResultSet:  # no account in view
        return Fetched(rows=[], counts=Counts(), total=0)
    # Only constant fragments and %s placeholders are put together here; every value (and the
    # union's own parameters) goes to the driver as a parameter.
    where, where_params = _where(query=query, user=user, now=now)
    names = ", ".join(COLUMNS)
    nothing = ", ".join("NULL" for _ in COLUMNS[1:])
    members = [
        f"SELECT {PAGE} AS part, w.*, CAST(NULL AS INTEGER) AS n FROM (SELECT * FROM waiting"  # noqa: S608
        f"{where} ORDER BY due, waiting_since, pk LIMIT %s OFFSET %s) AS w"
    ]
    params: list[Any] = [*base_params, *where_params, limit, offset]
    if counts:
        grouped = ", ".join(
            "kind" if c == "kind" else "account_id" if c == "account_id" else "NULL"
            for c in COLUMNS
        )
        members.append(
            f"SELECT {COUNT}, {grouped}, COUNT(*) FROM waiting GROUP BY account_id, kind"  # noqa: S608
        )
        if not query.counted_by_kind:
            members.append(f"SELECT {TOTAL}, NULL, {nothing}, COUNT(*) FROM waiting{where}")  # noqa: S608
            params.extend(where_params)
    sql = (
        f"WITH waiting ({names}) AS MATERIALIZED ({base}) "  # noqa: S608
        f"SELECT * FROM ({' UNION ALL '.join(members)}) AS parts "
        "ORDER BY part, due, waiting_since, pk"
    )
    rows: list[Row] = []
    by_kind: dict[tuple[int, str], int] = {}
    total = None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for part, *values, n in cursor.fetchall():
            if part == PAGE:
                row = dict(zip(COLUMNS, values, strict=True))
                for name in ("due", "waiting_since", "deadline"):
                    row[name] = _when(row[name])
                rows.append(Row(**row))
            elif part == COUNT:
                by_kind[(values[COLUMNS.index("account_id")], values[0])] = int(n)
            else:
                total = int(n)
    return Fetched(rows=rows, counts=Counts(by_kind), total=total)


def inbox_counts_by_kind(*, accounts: Accounts, now: datetime | None = None) -> Counts:
    """Items waiting per account and kind, for every account in view (one query)."""
    return inbox_fetch(
        accounts=accounts, query=InboxQuery(), user=None, offset=0, limit=0, now=now
    ).counts


def inbox_counts(*, accounts: Accounts, now: datetime | None = None) -> dict[int, int]:
    """``{account id: items waiting}``: one query for every account in view."""
    return inbox_counts_by_kind(accounts=accounts, now=now).per_account()


MAX_PAGE = 10**6  # past every real inbox; bounds the OFFSET a typed page number asks for


def _page_number(value: Any) -> int:
    try:
        return min(MAX_PAGE, max(1, int(str(value))))
    except (TypeError, ValueError):
        return 1


class InboxRows:
    """The inbox's rows for a ``Paginator``, with :attr:`counts`: the asked page and the counts
    come from one query (:func:`inbox_fetch`) made here; another page is read only when the
    paginator asks for one (a page number past the end shows the last page)."""

    def __init__(
        self,
        *,
        accounts: Accounts,
        query: InboxQuery,
        user: Any,
        per_page: int,
        page: Any = 1,
        now: datetime | None = None,
    ) -> None:
        self.accounts, self.query, self.user = accounts, query, user
        self.now = now or timezone.now()
        self.start = (_page_number(page) - 1) * per_page
        first = inbox_fetch(
            accounts=accounts,
            query=query,
            user=user,
            offset=self.start,
            limit=per_page,
            now=self.now,
        )
        self.rows, self.counts = first.rows, first.counts
        self.total = first.total if first.total is not None else first.counts.total(query=query)

    def __len__(self) -> int:
        return self.total

    @overload
    def __getitem__(self, item: int) -> Row: ...

    @overload
    def __getitem__(self, item: slice) -> list[Row]: ...

    def __getitem__(self, item: int | slice) -> Row | list[Row]:
        if isinstance(item, int):
            return self[item : item + 1][0]
        start, stop = item.start or 0, item.stop if item.stop is not None else self.total
        if start == self.start:
            return self.rows[: max(0, stop - start)]
        return inbox_fetch(
            accounts=self.accounts,
            query=self.query,
            user=self.user,
            offset=start,
            limit=max(0, stop - start),
            counts=False,
            now=self.now,
        ).rows

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
