"""The returns, refunds, buyer messages and billing pages: against the simulator (a buyer's
return rejected, another refunded in part, a buyer message answered with an attachment, an
order's fees), the permission matrix of every new view, query bounds on the lists, and
generated input over the forms."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from aftersales.models import CustomerReturn, Message, MessageThread, Refund
from tests.aftersales.test_disputes_policies import PDF
from tests.factories import staff_member
from tests.mirror.conftest import drive
from tests.plugins.allegro_accounts import SELLER_LOGIN

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def linked(sim: Any, link_account: Callable[..., Any]) -> Any:
    sim.control("POST", "/reset", {"seed": {"sellers": 2, "offers": 10, "orders": 30, "seed": 7}})
    return link_account(SELLER_LOGIN)


def test_return_rejected_and_another_refunded_in_part(
    sim: Any, linked: Any, client_for: Callable[[Any], Any]
) -> None:
    seller = linked.allegro_user_id
    first = sim.control("POST", f"/sellers/{seller}/customer-returns", {})
    second = sim.control("POST", f"/sellers/{seller}/customer-returns", {})
    sim.control("POST", f"/customer-returns/{second['id']}/parcel", {"status": "DELIVERED"})
    drive(linked, "returns")
    manager = client_for(staff_member("manny", Role.MANAGER, linked))
    listing = manager.get(reverse("aftersales:returns")).content.decode()
    assert first["id"] in listing
    assert second["id"] in listing
    one = CustomerReturn.objects.get(account=linked, allegro_id=first["id"])
    url = reverse("aftersales:return_reject", args=[one.pk])
    missing = manager.post(url, {"code": "REFUND_REJECTED", "confirm": "on"})
    assert missing.status_code == 422  # the reason is required with this code
    done = manager.post(url, {"code": "REFUND_REJECTED", "reason": "Brak metki", "confirm": "on"})
    assert done.status_code == 302
    one.refresh_from_db()
    assert one.status == "REJECTED"

    two = CustomerReturn.objects.get(account=linked, allegro_id=second["id"])
    refund_url = reverse("aftersales:refund", args=[linked.pk, two.order_id])
    page = manager.get(refund_url + f"?return={two.pk}")
    assert page.status_code == 200
    command = page.context["form"].initial["command_id"]
    data = {"command_id": command, "reason": "REFUND", "qty_0": "1", "return": str(two.pk)}
    too_much = manager.post(refund_url, {**data, "qty_0": "", "delivery": "999999"})
    assert too_much.status_code == 422
    assert manager.post(refund_url, data).status_code == 302
    assert manager.post(refund_url, data).status_code == 302  # a double click
    assert Refund.objects.filter(account=linked, order_id=two.order_id).count() == 1
    refund = Refund.objects.get(account=linked, order_id=two.order_id)
    assert refund.customer_return_id == two.pk
    status = manager.get(reverse("aftersales:refund_status", args=[refund.pk]))
    assert status.status_code == 200


def test_a_buyer_message_answered_with_an_attachment(
    sim: Any, linked: Any, client_for: Callable[[Any], Any]
) -> None:
    seller = linked.allegro_user_id
    form = sim.control("POST", f"/sellers/{seller}/purchases", {"pay": True})
    sim.control("POST", f"/sellers/{seller}/messages", {"orderId": form["id"], "text": "Kiedy?"})
    drive(linked, "threads")
    thread = MessageThread.objects.get(account=linked, order_id=form["id"])
    assert not thread.read
    operator = client_for(staff_member("olga", Role.OPERATOR, linked))
    listing = operator.get(reverse("aftersales:messages")).content.decode()
    assert thread.interlocutor_login in listing
    page = operator.get(reverse("aftersales:thread", args=[thread.pk])).content.decode()
    assert "Kiedy?" in page
    thread.refresh_from_db()
    assert thread.read  # marked read on Allegro
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = operator.post(
        reverse("aftersales:thread_reply", args=[thread.pk]),
        {
            "text": "Jutro, faktura w załączniku.",
            "attachments": SimpleUploadedFile("faktura.pdf", PDF, "application/pdf"),
        },
    )
    assert response.status_code == 302
    sent = Message.objects.get(thread=thread, text="Jutro, faktura w załączniku.")
    page = operator.get(reverse("aftersales:thread", args=[thread.pk])).content.decode()
    assert "faktura.pdf" in page
    assert sent.local_state in ("sending", "sent")


def test_an_orders_fees_fragment(sim: Any, linked: Any, client_for: Callable[[Any], Any]) -> None:
    seller = linked.allegro_user_id
    form = sim.control("POST", f"/sellers/{seller}/purchases", {"pay": True})
    sim.control("POST", f"/orders/{form['id']}/fees")
    drive(linked, "billing")
    viewer = client_for(staff_member("vera", Role.VIEWER, linked))
    fragment = viewer.get(reverse("aftersales:order_fees", args=[linked.pk, form["id"]]))
    assert fragment.status_code == 200
    assert fragment.content.decode().count('data-testid="order-fee"') >= 1
    assert viewer.get(reverse("aftersales:billing")).status_code == 200


# --- permission matrix (no Allegro call) ------------------------------------------------------


def _rows(account: Any) -> tuple[CustomerReturn, MessageThread, Refund]:
    now = timezone.now()
    order = str(uuid.uuid4())
    ret = CustomerReturn.objects.create(
        account=account, allegro_id="r1", order_id=order, status="DELIVERED", synced_at=now
    )
    thread = MessageThread.objects.create(
        account=account, allegro_id="t1", read=True, order_id=order, synced_at=now
    )
    refund = Refund.objects.create(account=account, order_id=order, reason="REFUND")
    return ret, thread, refund


def test_pages_matrix(
    client: Any, client_for: Callable[[Any], Any], alice: Any, bob: Any, charlie: Any, account: Any
) -> None:
    ret, thread, refund = _rows(account)
    reads = {
        "returns": reverse("aftersales:returns"),
        "return": reverse("aftersales:return", args=[ret.pk]),
        "messages": reverse("aftersales:messages"),
        "thread": reverse("aftersales:thread", args=[thread.pk]),
        "refund_status": reverse("aftersales:refund_status", args=[refund.pk]),
        "billing": reverse("aftersales:billing"),
        "fees": reverse("aftersales:order_fees", args=[account.pk, ret.order_id]),
    }
    for url in [*reads.values(), reverse("aftersales:message_new")]:
        assert client.get(url).status_code == 302  # anonymous: to the login page
    for key in ("return", "thread", "refund_status", "fees"):
        assert client_for(bob).get(reads[key]).status_code == 404, key
    assert 'data-return-id="r1"' not in client_for(bob).get(reads["returns"]).content.decode()
    refund_form = reverse("aftersales:refund", args=[account.pk, ret.order_id])
    assert client_for(bob).get(refund_form).status_code == 404
    viewer = client_for(charlie)
    for key, url in reads.items():
        assert viewer.get(url).status_code == 200, key
    assert 'data-testid="reject-form"' not in viewer.get(reads["return"]).content.decode()
    assert 'data-testid="thread-reply-form"' not in viewer.get(reads["thread"]).content.decode()
    reject = reverse("aftersales:return_reject", args=[ret.pk])
    reply = reverse("aftersales:thread_reply", args=[thread.pk])
    claim = reverse("aftersales:refund_claim", args=[account.pk, ret.order_id])
    assert viewer.post(reject, {"code": "ITEM_FIXED", "confirm": "on"}).status_code == 403
    assert viewer.post(reply, {"text": "x"}).status_code == 403
    assert viewer.get(refund_form).status_code == 403
    assert viewer.get(reverse("aftersales:message_new")).status_code == 403
    assert client_for(bob).post(reject, {"code": "ITEM_FIXED"}).status_code == 404
    assert client_for(bob).post(reply, {"text": "x"}).status_code == 404
    operator = client_for(alice)
    assert 'data-testid="thread-reply-form"' in operator.get(reads["thread"]).content.decode()
    assert 'data-testid="reject-form"' not in operator.get(reads["return"]).content.decode()
    assert operator.post(reject, {"code": "ITEM_FIXED", "confirm": "on"}).status_code == 403
    assert operator.get(refund_form).status_code == 403  # refunds: managers only
    assert operator.post(claim, {"line_item": "x", "quantity": "1"}).status_code == 403
    assert operator.get(reverse("aftersales:message_new")).status_code == 200


def test_thread_attachments_and_new_messages_matrix(
    client: Any, client_for: Callable[[Any], Any], alice: Any, bob: Any, charlie: Any, account: Any
) -> None:
    _, thread, _ = _rows(account)
    now = timezone.now()
    message = Message.objects.create(
        account=account,
        thread=thread,
        local_state=Message.Local.SENT,
        created_at=now,
        text="W załączniku",
        attachments=[{"id": "a1", "file_name": "f.pdf"}, {"id": "../me", "file_name": "x.pdf"}],
    )
    elsewhere = Message.objects.create(
        account=account, thread=None, local_state=Message.Local.SENDING, created_at=now, text="x"
    )

    def url(pk: int, index: int) -> str:
        return reverse("aftersales:thread_attachment", args=[thread.pk, pk, index])

    assert client.get(url(message.pk, 0)).status_code == 302  # anonymous: to the login page
    assert client_for(bob).get(url(message.pk, 0)).status_code == 404
    viewer = client_for(charlie)
    assert viewer.get(url(message.pk, 1)).status_code == 404  # not an Allegro attachment id
    assert viewer.get(url(message.pk, 2)).status_code == 404
    assert viewer.get(url(elsewhere.pk, 0)).status_code == 404  # not this thread's message
    unreachable = viewer.get(url(message.pk, 0))  # a factory account: Allegro cannot be asked
    assert unreachable.status_code == 502
    assert unreachable.content

    # New messages with no thread yet: listed while sending, and for a week once failed.
    Message.objects.create(
        account=account,
        thread=None,
        local_state=Message.Local.FAILED,
        created_at=now,
        recipient_login="kupujacy_nowy",
        error="Odbiorca nie jest kupującym",
        text="y",
    )
    Message.objects.create(
        account=account,
        thread=None,
        local_state=Message.Local.FAILED,
        created_at=now - timedelta(days=8),
        recipient_login="kupujacy_dawny",
        text="z",
    )
    listing = client_for(alice).get(reverse("aftersales:messages")).content.decode()
    assert listing.count('data-testid="outgoing-message"') == 2
    assert "Odbiorca nie jest kupującym" in listing
    assert "kupujacy_dawny" not in listing
    assert (
        'data-testid="outgoing-message"'
        not in client_for(bob).get(reverse("aftersales:messages")).content.decode()
    )


def test_lists_queries_do_not_grow(
    client_for: Callable[[Any], Any],
    alice: Any,
    account: Any,
    django_assert_max_num_queries: Any,
) -> None:
    now = timezone.now()
    for n in range(30):
        ret = CustomerReturn.objects.create(
            account=account, allegro_id=f"r{n}", status="CREATED", synced_at=now
        )
        ret.items.create(name=f"Item {n}", quantity=1)
        ret.parcels.create(waybill=f"W{n}", carrier_id="INPOST")
        MessageThread.objects.create(
            account=account, allegro_id=f"t{n}", read=n % 2 == 0, synced_at=now
        )
    client = client_for(alice)
    for name in ("returns", "messages", "billing"):
        with django_assert_max_num_queries(14):
            assert client.get(reverse(f"aftersales:{name}")).status_code == 200


# --- generated input ---------------------------------------------------------------------------

TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.sampled_from(["", " ", "1", "0", "-1", "1,5", "9" * 30, "NaN", "\x00", "y" * 260]),
)


def _no_500(sim_stats: Any) -> None:
    statuses = sim_stats()["statuses"]
    assert not any(int(code) >= 500 for code in statuses), statuses


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    code=st.one_of(st.sampled_from(["REFUND_REJECTED", "ITEM_FIXED"]), TEXT),
    reason=TEXT,
    qty=TEXT,
    amount=TEXT,
    delivery=TEXT,
    refund_reason=st.one_of(st.sampled_from(["REFUND", "COMPLAINT"]), TEXT),
    text=TEXT,
    order=st.one_of(st.just(""), TEXT, st.uuids().map(str)),
)
def test_forms_never_500(
    sim: Any,
    linked: Any,
    client_for: Callable[[Any], Any],
    sim_stats: Any,
    code: str,
    reason: str,
    qty: str,
    amount: str,
    delivery: str,
    refund_reason: str,
    text: str,
    order: str,
) -> None:
    seller = linked.allegro_user_id
    ret = CustomerReturn.objects.filter(account=linked).first()
    if ret is None:
        sim.control("POST", f"/sellers/{seller}/customer-returns", {})
        sim.control("POST", f"/sellers/{seller}/messages", {"text": "Hej", "login": "kupujacy_1"})
        drive(linked, "returns")
        drive(linked, "threads")
        ret = CustomerReturn.objects.filter(account=linked).first()
    assert ret is not None
    thread = MessageThread.objects.filter(account=linked).first()
    manager = staff_member(f"m{uuid.uuid4().hex[:8]}", Role.MANAGER, linked)
    client = client_for(manager)
    r = client.post(
        reverse("aftersales:return_reject", args=[ret.pk]), {"code": code, "reason": reason}
    )
    assert r.status_code in (302, 422)
    refund_url = reverse("aftersales:refund", args=[linked.pk, ret.order_id])
    data = {
        "command_id": str(uuid.uuid4()),
        "reason": refund_reason,
        "qty_0": qty,
        "amount_0": amount,
        "delivery": delivery,
        "comment": text,
    }
    assert client.post(refund_url, data).status_code in (302, 422)
    if thread is not None:
        r = client.post(reverse("aftersales:thread_reply", args=[thread.pk]), {"text": text})
        assert r.status_code in (302, 422)
    r = client.post(
        reverse("aftersales:message_new"),
        {"account": str(linked.pk), "login": text, "order": order, "text": text},
    )
    assert r.status_code in (302, 422)
    _no_500(sim_stats)
