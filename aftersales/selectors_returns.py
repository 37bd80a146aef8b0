"""Reads of the returns, refunds, buyer messages and billing pages: one object the user may see
(with ``viewer_role``, their role on its account), lists across the accounts in view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from accounts.models import AllegroAccount
from accounts.selectors import accounts_visible_to, role_expression
from aftersales.models import (
    CustomerReturn,
    CustomerReturnItem,
    CustomerReturnParcel,
    Message,
    MessageThread,
)
from ui.paging import Accounts, account_filter

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


def account_get_for_user(*, user: AnyUser, pk: int) -> AllegroAccount:
    """An account the user was granted, with ``viewer_role``; 404 otherwise."""
    try:
        return (
            accounts_visible_to(user=user)
            .annotate(viewer_role=role_expression(user=user, account_ref="pk"))
            .get(pk=pk)
        )
    except AllegroAccount.DoesNotExist as exc:
        raise Http404("No such account.") from exc


@dataclass(frozen=True)
class ReturnQuery:
    q: str = ""
    account_ids: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    order_id: str = ""


def customer_returns_matching(
    *, accounts: Accounts, query: ReturnQuery
) -> QuerySet[CustomerReturn]:
    """Returns across the accounts in view, newest first, with items and parcels prefetched."""
    qs = CustomerReturn.objects.filter(account__in=account_filter(accounts)).select_related(
        "account"
    )
    if query.account_ids:
        qs = qs.filter(account_id__in=query.account_ids)
    if query.statuses:
        qs = qs.filter(status__in=query.statuses)
    if query.order_id:
        qs = qs.filter(order_id=query.order_id)
    if query.q:
        qs = qs.filter(
            Q(buyer_login__icontains=query.q)
            | Q(reference_number__icontains=query.q)
            | Q(order_id__icontains=query.q)
            | Q(parcels__waybill__icontains=query.q)
        ).distinct()
    return qs.prefetch_related(
        Prefetch("items", queryset=CustomerReturnItem.objects.order_by("position")),
        Prefetch("parcels", queryset=CustomerReturnParcel.objects.order_by("position")),
    ).order_by("-created_at", "-pk")


def customer_return_get_for_user(*, user: AnyUser, pk: int) -> CustomerReturn:
    try:
        return (
            CustomerReturn.objects.filter(account__in=accounts_visible_to(user=user))
            .select_related("account")
            .annotate(viewer_role=role_expression(user=user, account_ref="account_id"))
            .get(pk=pk)
        )
    except CustomerReturn.DoesNotExist as exc:
        raise Http404("No such return.") from exc


def threads_matching(
    *, accounts: Accounts, account_ids: tuple[int, ...] = (), unread: bool = False, q: str = ""
) -> QuerySet[MessageThread]:
    """Buyer threads across the accounts in view: unread first, then the newest message."""
    qs = MessageThread.objects.filter(account__in=account_filter(accounts)).select_related(
        "account"
    )
    if account_ids:
        qs = qs.filter(account_id__in=account_ids)
    if unread:
        qs = qs.filter(read=False)
    if q:
        qs = qs.filter(Q(interlocutor_login__icontains=q) | Q(order_id__icontains=q))
    return qs.annotate(
        sending=Count("messages", filter=Q(messages__local_state="sending"))
    ).order_by("read", "-last_message_at", "-pk")


OUTGOING_SHOWN = 20


def messages_outgoing(
    *, accounts: Accounts, account_ids: tuple[int, ...] = (), since: datetime
) -> list[Message]:
    """New messages to buyers written here that have no thread yet: still sending, or failed
    since ``since`` (a sent one joins its thread)."""
    qs = Message.objects.filter(account__in=account_filter(accounts), thread__isnull=True).filter(
        Q(local_state=Message.Local.SENDING)
        | Q(local_state=Message.Local.FAILED, created_at__gte=since)
    )
    if account_ids:
        qs = qs.filter(account_id__in=account_ids)
    return list(qs.select_related("account").order_by("-created_at", "-pk")[:OUTGOING_SHOWN])


def thread_get_for_user(*, user: AnyUser, pk: int) -> MessageThread:
    try:
        return (
            MessageThread.objects.filter(account__in=accounts_visible_to(user=user))
            .select_related("account")
            .annotate(viewer_role=role_expression(user=user, account_ref="account_id"))
            .get(pk=pk)
        )
    except MessageThread.DoesNotExist as exc:
        raise Http404("No such thread.") from exc


def thread_messages(*, thread: MessageThread) -> list[Message]:
    """The thread's messages, oldest first (those still sending last)."""
    return list(thread.messages.order_by("created_at", "pk"))


def message_get_for_user(*, user: AnyUser, pk: int) -> Message:
    try:
        return Message.objects.filter(account__in=accounts_visible_to(user=user)).get(pk=pk)
    except Message.DoesNotExist as exc:
        raise Http404("No such message.") from exc
