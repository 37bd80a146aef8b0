"""The after-sales inbox and the rating pages against the simulator over real HTTP: a negative
rating arrives, shows in the inbox, is answered with a saved reply (the simulator holds the
answer) and leaves; a removal request; a buyer message shows within one poll; an answer made
on allegro.pl removes the item. Plus the permission matrix and query bounds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuditLogEntry, Role
from aftersales.inbox import inbox_counts
from aftersales.models import Rating, SavedReply
from tests.factories import (
    CustomerReturnFactory,
    DisputeFactory,
    MessageThreadFactory,
    RatingFactory,
    staff_member,
)
from tests.mirror.conftest import drive
from tests.plugins.allegro_accounts import SELLER_LOGIN

pytestmark = pytest.mark.django_db(transaction=False)


def _rows(html: str) -> int:
    return html.count('data-testid="inbox-row"')


@pytest.fixture
def linked(sim: Any, link_account: Callable[..., Any]) -> Any:
    sim.control("POST", "/reset", {"seed": {"sellers": 2, "offers": 10, "orders": 30, "seed": 7}})
    account = link_account(SELLER_LOGIN)
    drive(account, "ratings")
    drive(account, "issues")
    return account


def test_negative_rating_answered_with_saved_reply_leaves_the_inbox(
    sim: Any, linked: Any, client_for: Callable[[Any], Any], api: Any
) -> None:
    operator = staff_member("olga", Role.OPERATOR, linked)
    client = client_for(operator)
    doc = sim.control(
        "POST",
        f"/sellers/{linked.allegro_user_id}/ratings",
        {"recommended": False, "comment": "Paczka przyszła uszkodzona."},
    )
    drive(linked, "ratings")
    rating = Rating.objects.get(account=linked, allegro_id=doc["id"])
    inbox = client.get(reverse("aftersales:index")).content.decode()
    assert f'data-item="rating-{rating.pk}"' in inbox

    reply = SavedReply.objects.create(
        account=None, title="Przeprosiny", text="Przepraszamy {buyer_login}, zamówienie {order_id}."
    )
    page = client.get(reverse("aftersales:rating", args=[rating.pk]) + f"?reply={reply.pk}")
    expected = f"Przepraszamy {rating.buyer_login}, zamówienie {rating.checkout_form_id}."
    assert expected in page.content.decode()
    response = client.post(
        reverse("aftersales:rating_answer", args=[rating.pk]), {"message": expected}
    )
    assert response.status_code == 302
    on_allegro = api.get(f"/sale/user-ratings/{doc['id']}").json()
    assert on_allegro["answer"]["message"] == expected
    entry = AuditLogEntry.objects.get(action="rating.answer", target=f"rating:{doc['id']}")
    assert entry.allegro_trace_id
    drive(linked, "ratings")
    inbox = client.get(reverse("aftersales:index")).content.decode()
    assert f'data-item="rating-{rating.pk}"' not in inbox


def test_removal_request_by_a_manager_only(
    sim: Any, linked: Any, client_for: Callable[[Any], Any], api: Any
) -> None:
    doc = sim.control("POST", f"/sellers/{linked.allegro_user_id}/ratings", {"recommended": False})
    drive(linked, "ratings")
    rating = Rating.objects.get(account=linked, allegro_id=doc["id"])
    url = reverse("aftersales:rating_removal", args=[rating.pk])
    operator = client_for(staff_member("olga", Role.OPERATOR, linked))
    assert operator.post(url, {"message": "Kupujący pomylił sprzedawcę."}).status_code == 403
    manager = client_for(staff_member("manny", Role.MANAGER, linked))
    assert manager.post(url, {"message": ""}).status_code == 422
    assert manager.post(url, {"message": "x" * 501}).status_code == 422
    response = manager.post(url, {"message": "Kupujący pomylił sprzedawcę."})
    assert response.status_code == 302
    on_allegro = api.get(f"/sale/user-ratings/{doc['id']}").json()
    assert on_allegro["removal"]["request"]["message"] == "Kupujący pomylił sprzedawcę."
    rating.refresh_from_db()
    assert rating.removal_requested_at is not None


def test_buyer_message_shows_within_one_poll_and_seller_answer_removes_it(
    sim: Any, linked: Any, client_for: Callable[[Any], Any], api: Any
) -> None:
    client = client_for(staff_member("olga", Role.OPERATOR, linked))
    issue = sim.control(
        "POST",
        f"/sellers/{linked.allegro_user_id}/issues",
        {"type": "DISPUTE", "text": "Gdzie jest moja paczka?"},
    )
    drive(linked, "issues")
    before = client.get(reverse("aftersales:index") + "?kind=dispute").content.decode()
    from aftersales.models import Dispute

    dispute = Dispute.objects.get(account=linked, allegro_id=issue["id"])
    assert f'data-item="dispute-{dispute.pk}"' in before
    # the seller answers on allegro.pl: the next poll takes the item out
    response = api.post(
        f"/sale/issues/{issue['id']}/message",
        json={"text": "Paczka wyszła wczoraj.", "type": "REGULAR"},
        headers={
            "Accept": "application/vnd.allegro.beta.v1+json",
            "Content-Type": "application/vnd.allegro.beta.v1+json",
        },
    )
    assert response.status_code in (200, 201), response.text
    drive(linked, "issues")
    after = client.get(reverse("aftersales:index") + "?kind=dispute").content.decode()
    assert f'data-item="dispute-{dispute.pk}"' not in after
    # the buyer writes again: back within one poll
    sim.control("POST", f"/issues/{issue['id']}/messages", {"text": "Nadal nic nie dostałem."})
    drive(linked, "issues")
    again = client.get(reverse("aftersales:index") + "?kind=dispute").content.decode()
    assert f'data-item="dispute-{dispute.pk}"' in again


# --- permission matrix (factory data, no Allegro call) -----------------------------------------


@pytest.mark.parametrize(
    "name",
    ["aftersales:index", "aftersales:ratings", "aftersales:replies", "aftersales:badge"],
)
def test_lists_need_a_login_and_show_only_granted_accounts(
    name: str, client: Any, client_for: Callable[[Any], Any], alice: Any, bob: Any, account: Any
) -> None:
    mine = RatingFactory(account=account, recommended=False, buyer_login="tylko_moj")
    url = reverse(name)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    assert "tylko_moj" not in client_for(bob).get(url).content.decode()
    response = client_for(alice).get(url)
    assert response.status_code == 200
    if name in ("aftersales:index", "aftersales:ratings"):
        assert "tylko_moj" in response.content.decode(), mine


def test_rating_detail_and_actions_matrix(
    client: Any, client_for: Callable[[Any], Any], alice: Any, bob: Any, charlie: Any, account: Any
) -> None:
    rating = RatingFactory(account=account, recommended=False)
    detail = reverse("aftersales:rating", args=[rating.pk])
    handled = reverse("aftersales:handled", args=["rating", rating.pk])
    assert client.get(detail).status_code == 302
    assert client_for(bob).get(detail).status_code == 404
    assert client_for(bob).post(handled).status_code == 404
    viewer = client_for(charlie)
    page = viewer.get(detail)
    assert page.status_code == 200
    assert 'data-testid="answer-form"' not in page.content.decode()
    assert viewer.post(handled).status_code == 403
    assert (
        viewer.post(
            reverse("aftersales:rating_answer", args=[rating.pk]), {"message": "x"}
        ).status_code
        == 403
    )
    operator = client_for(alice)
    assert 'data-testid="answer-form"' in operator.get(detail).content.decode()
    assert operator.post(handled).status_code == 302
    assert inbox_counts(accounts=[account]) == {}


def test_inbox_queries_do_not_grow_with_items(
    client_for: Callable[[Any], Any], alice: Any, account: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        RatingFactory(account=account, recommended=False)
        DisputeFactory(account=account, status="DISPUTE_ONGOING", messages=1)
    client = client_for(alice)
    client.get(reverse("aftersales:index"))
    with django_assert_max_num_queries(12):
        first = client.get(reverse("aftersales:index")).content.decode()
    assert _rows(first) == 6
    for _ in range(20):
        RatingFactory(account=account, recommended=False)
        DisputeFactory(account=account, status="CLAIM_SUBMITTED", type="CLAIM", messages=2)
    with django_assert_max_num_queries(12):
        more = client.get(reverse("aftersales:index") + "?per_page=100").content.decode()
    assert _rows(more) == 46
    with django_assert_max_num_queries(12):
        client.get(reverse("aftersales:ratings"))


# --- customer returns waiting for a refund and unread buyer threads (issue 14) ---------------


def _keys(html: str) -> set[str]:
    import re

    return set(re.findall(r'data-item="([a-z]+-\d+)"', html))


def test_returns_and_unread_threads_wait_until_allegro_shows_them_dealt_with(
    client_for: Callable[[Any], Any], alice: Any, account: Any
) -> None:
    from django.utils import timezone

    from aftersales.models import Refund

    now = timezone.now()
    waiting = CustomerReturnFactory(account=account)
    CustomerReturnFactory(account=account, status="IN_TRANSIT")  # not back yet
    CustomerReturnFactory(account=account, status="REJECTED", rejection_code="ITEM_FIXED")
    refunded_here = CustomerReturnFactory(account=account)
    Refund.objects.create(
        account=account,
        order_id=refunded_here.order_id,
        customer_return=refunded_here,
        reason="REFUND",
        local_state=Refund.Local.PENDING,
        created_at=now,
    )
    refunded_on_allegro = CustomerReturnFactory(account=account)
    Refund.objects.create(  # mirrored: linked by its order, made after the return
        account=account,
        allegro_id="refund-1",
        order_id=refunded_on_allegro.order_id,
        reason="REFUND",
        status="SUCCESS",
        created_at=now,
    )
    refused = CustomerReturnFactory(account=account)
    Refund.objects.create(
        account=account,
        order_id=refused.order_id,
        customer_return=refused,
        reason="REFUND",
        local_state=Refund.Local.FAILED,
        created_at=now,
    )
    earlier = CustomerReturnFactory(account=account)
    Refund.objects.create(  # the delivery refunded before the buyer sent the goods back
        account=account,
        allegro_id="refund-2",
        order_id=earlier.order_id,
        reason="REFUND",
        status="SUCCESS",
        created_at=earlier.created_at - timedelta(days=1),
    )
    unread = MessageThreadFactory(account=account)
    MessageThreadFactory(account=account, read=True)
    client = client_for(alice)
    html = client.get(reverse("aftersales:index")).content.decode()
    expected = {f"return-{r.pk}" for r in (waiting, refused, earlier)} | {f"thread-{unread.pk}"}
    assert _keys(html) == expected
    assert inbox_counts(accounts=[account]) == {account.pk: 4}
    assert f'data-testid="inbox-count-{account.pk}">4<' in html
    returns = client.get(reverse("aftersales:index") + "?kind=return").content.decode()
    assert _keys(returns) == {f"return-{r.pk}" for r in (waiting, refused, earlier)}
    assert 'data-testid="inbox-total">3 ' in returns
    threads = client.get(reverse("aftersales:index") + "?kind=message").content.decode()
    assert _keys(threads) == {f"thread-{unread.pk}"}
    # Enter opens the return's page and the thread; an operator's "r" too (refunds: managers)
    assert f'href="{reverse("aftersales:return", args=[waiting.pk])}" data-row-link' in html
    assert f'href="{reverse("aftersales:return", args=[waiting.pk])}" data-row-reply' in html
    assert f'href="{reverse("aftersales:thread", args=[unread.pk])}#reply" data-row-reply' in html
    manager = client_for(staff_member("manny", Role.MANAGER, account))
    refund = reverse("aftersales:refund", args=[account.pk, waiting.order_id])
    as_manager = manager.get(reverse("aftersales:index")).content.decode()
    assert f'href="{refund}?return={waiting.pk}" data-row-reply' in as_manager
    badge = manager.get(reverse("aftersales:badge")).content.decode()
    assert ">4<" in badge

    # the next sync shows them dealt with on Allegro: refunded, rejected, read
    waiting.status = "FINISHED"
    waiting.save(update_fields=["status"])
    refused.status = "REJECTED"
    refused.rejection_code = "REFUND_REJECTED"
    refused.save(update_fields=["status", "rejection_code"])
    unread.read = True
    unread.save(update_fields=["read"])
    html = client.get(reverse("aftersales:index")).content.decode()
    assert _keys(html) == {f"return-{earlier.pk}"}


def test_handled_returns_and_threads_stay_out_until_something_new(
    client_for: Callable[[Any], Any], alice: Any, account: Any
) -> None:
    from django.utils import timezone

    from aftersales.models import InboxNote, InboxState

    ret = CustomerReturnFactory(account=account)
    thread = MessageThreadFactory(account=account)
    client = client_for(alice)
    for kind, target in (("return", ret), ("thread", thread)):
        args = [kind, target.pk]
        assert (
            client.post(reverse("aftersales:assign", args=args), {"assignee": "me"}).status_code
            == 302
        )
        assert (
            client.post(reverse("aftersales:note", args=args), {"text": "Sprawdzić"}).status_code
            == 302
        )
        assert client.post(reverse("aftersales:handled", args=args)).status_code == 302
    assert InboxState.objects.get(customer_return=ret).assignee_id == alice.pk
    assert InboxState.objects.get(thread=thread).handled_by_id == alice.pk
    assert InboxNote.objects.filter(customer_return=ret).count() == 1
    assert InboxNote.objects.filter(thread=thread).count() == 1
    assert AuditLogEntry.objects.filter(
        action="inbox.handled", target=f"customer_return:{ret.allegro_id}"
    ).exists()
    assert AuditLogEntry.objects.filter(
        action="inbox.note", target=f"thread:{thread.allegro_id}"
    ).exists()
    assert inbox_counts(accounts=[account]) == {}
    # the return's page and the thread's show the internal work
    page = client.get(reverse("aftersales:return", args=[ret.pk])).content.decode()
    assert "Sprawdzić" in page
    assert 'data-testid="work-assignee">alice<' in page
    # the buyer writes again: the thread is back
    thread.last_message_at = timezone.now()
    thread.save(update_fields=["last_message_at"])
    html = client.get(reverse("aftersales:index") + "?assigned=me").content.decode()
    assert _keys(html) == {f"thread-{thread.pk}"}


@pytest.mark.parametrize("kind", ["return", "thread"])
def test_actions_on_returns_and_threads_matrix(
    kind: str,
    client: Any,
    client_for: Callable[[Any], Any],
    alice: Any,
    bob: Any,
    charlie: Any,
    account: Any,
) -> None:
    target = (CustomerReturnFactory if kind == "return" else MessageThreadFactory)(account=account)
    for name, data in (("assign", {"assignee": "me"}), ("handled", {}), ("note", {"text": "x"})):
        url = reverse(f"aftersales:{name}", args=[kind, target.pk])
        assert client.post(url, data).status_code == 302  # anonymous: to the login page
        assert client_for(bob).post(url, data).status_code == 404, name
        assert client_for(charlie).post(url, data).status_code == 403, name
        assert client_for(alice).post(url, data).status_code == 302, name
    assert "piszacy" not in client_for(bob).get(reverse("aftersales:index")).content.decode()


def test_inbox_queries_with_every_kind_do_not_grow(
    client_for: Callable[[Any], Any], alice: Any, account: Any, django_assert_max_num_queries: Any
) -> None:
    def add(n: int) -> None:
        for _ in range(n):
            RatingFactory(account=account, recommended=False)
            DisputeFactory(account=account, status="DISPUTE_ONGOING", messages=1)
            DisputeFactory(account=account, status="CLAIM_SUBMITTED", type="CLAIM", messages=2)
            CustomerReturnFactory(account=account)
            MessageThreadFactory(account=account)

    add(3)
    client = client_for(alice)
    client.get(reverse("aftersales:index"))
    with django_assert_max_num_queries(6):
        first = client.get(reverse("aftersales:index")).content.decode()
    assert _rows(first) == 15
    add(20)
    for query in ("?per_page=100", "?per_page=100&assigned=none", "?kind=return&overdue=on"):
        with django_assert_max_num_queries(6):
            more = client.get(reverse("aftersales:index") + query).content.decode()
        assert _rows(more) == (100 if "per_page" in query else 0), query
    first_page = _keys(client.get(reverse("aftersales:index") + "?per_page=100").content.decode())
    second = client.get(reverse("aftersales:index") + "?per_page=100&page=2").content.decode()
    assert _rows(second) == 15
    assert not _keys(second) & first_page
    with django_assert_max_num_queries(7):  # past the end: the last page, read once more
        last = client.get(reverse("aftersales:index") + "?per_page=100&page=99").content.decode()
    assert _keys(last) == _keys(second)
    huge = client.get(reverse("aftersales:index") + "?per_page=100&page=" + "9" * 30)
    assert _keys(huge.content.decode()) == _keys(second)
    with django_assert_max_num_queries(5):  # session, user, accounts, counts, the switcher
        client.get(reverse("aftersales:badge"))


def test_the_unions_sql_is_compiled_once_and_filled_with_the_real_values(
    account: Any, other_account: Any, settings: Any
) -> None:
    from django.utils import timezone

    from aftersales.inbox import inbox_union, inbox_union_sql

    for days in (30, 7):  # the answer window is part of what the SQL is kept for
        settings.AFTERSALES_ANSWER_WINDOW_DAYS = days
        for accounts in ([account], [account, other_account], [other_account]):
            now = timezone.now() - timedelta(hours=len(accounts))
            sql, params = inbox_union(accounts=accounts, now=now).query.sql_with_params()
            assert inbox_union_sql(accounts=accounts, now=now) == (sql, list(params))


def test_a_thread_row_shows_the_start_of_the_buyers_latest_message(
    client_for: Callable[[Any], Any], alice: Any, account: Any
) -> None:
    from django.utils import timezone

    from aftersales.models import Message

    thread = MessageThreadFactory(account=account)
    silent = MessageThreadFactory(account=account)  # nothing from the buyer mirrored yet
    now = timezone.now()
    for minutes, by_buyer, text in (
        (30, True, "Czy wysłaliście już paczkę?"),
        (20, False, "Tak, wczoraj."),
        (10, True, "Nie mam jej. " + "Proszę o numer przesyłki. " * 10),
    ):
        Message.objects.create(
            account=account,
            thread=thread,
            allegro_id=f"m-{minutes}",
            created_at=now - timedelta(minutes=minutes),
            author_is_buyer=by_buyer,
            author_login=thread.interlocutor_login if by_buyer else account.login,
            text=text,
        )
    html = client_for(alice).get(reverse("aftersales:index") + "?kind=message").content.decode()
    row = html.split(f'data-item="thread-{thread.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "Nie mam jej. Proszę o numer przesyłki." in row  # the buyer's latest, cut short
    assert "Tak, wczoraj." not in row
    assert "Czy wysłaliście" not in row
    assert "numer przesyłki. " * 10 not in row
    empty = html.split(f'data-item="thread-{silent.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "—" in empty
