"""Buyer messages and Allegro fees clicked through in Polish (Playwright, Debian's Chromium)
against the simulator: a buyer's message (sent through the control plane) answered with a saved
reply and an attachment once the send job runs, a new message to a buyer started from the order
page, an order's fees on its page in the Polish number format, and the billing page's fees by
type for an account and a day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from aftersales.messaging import SEND_KIND
from aftersales.models import Message, MessageThread, SavedReply
from jobs.models import Job, JobStatus
from jobs.tasks import job_run
from orders.models import Order
from tests.aftersales.test_disputes_policies import PDF
from tests.factories import staff_member
from tests.mirror.conftest import drive
from tests.pages.conftest import browser_login  # noqa: F401  (a fixture, used by name)
from tests.plugins.allegro_accounts import SELLER_LOGIN
from tests.synced_template import synced_accounts

pytestmark = pytest.mark.django_db(transaction=True)

WARSAW = ZoneInfo("Europe/Warsaw")
OCTET = {"Accept": "application/octet-stream"}


@pytest.fixture
def linked(sim: Any, link_account: Callable[..., Any]) -> Any:
    """The seller linked through OAuth: for real on a worker's first test, restored from that
    run's snapshot afterwards (linking is tested in ``tests/accounts/``; each flow here still
    syncs what it needs on the real path)."""

    def build() -> list[Any]:
        sim.control(
            "POST", "/reset", {"seed": {"sellers": 2, "offers": 10, "orders": 30, "seed": 7}}
        )
        return [link_account(SELLER_LOGIN)]

    return synced_accounts("aftersales-messages-fees", sim, build)[0]


def _run_send_jobs() -> None:
    """Play the worker's part: every queued send job runs to its end."""
    jobs = list(Job.objects.filter(kind=SEND_KIND).order_by("created_at"))
    assert jobs, "no send job was queued"
    for job in jobs:
        assert job_run(str(job.pk)) == JobStatus.DONE


def _pln(amount: Decimal | str) -> str:
    """``-12,35 PLN``: two decimal places with the Polish decimal comma."""
    return f"{Decimal(amount):.2f}".replace(".", ",") + " PLN"


def test_a_buyer_message_answered_with_a_saved_reply_and_an_attachment(
    live_server: Any,
    browser_login: Callable[[Any], Any],  # noqa: F811
    sim: Any,
    linked: Any,
    api: Any,
) -> None:
    seller = linked.allegro_user_id
    form = sim.control(
        "POST", f"/sellers/{seller}/purchases", {"pay": True, "buyerLogin": "anna_k"}
    )
    sent = sim.control(
        "POST",
        f"/sellers/{seller}/messages",
        {"orderId": form["id"], "text": "Czy mogę prosić o fakturę VAT?"},
    )
    thread_id = sent["thread"]["id"]
    assert api.get(f"/messaging/threads/{thread_id}").json()["read"] is False
    drive(linked, "threads")
    thread = MessageThread.objects.get(account=linked, allegro_id=thread_id)
    SavedReply.objects.create(
        account=linked,
        title="Faktura w załączniku",
        text="Dzień dobry {buyer_login}, fakturę do zamówienia {order_id} przesyłamy w załączniku.",
    )
    expected = f"Dzień dobry anna_k, fakturę do zamówienia {form['id']} przesyłamy w załączniku."
    page = browser_login(staff_member("olga", Role.OPERATOR, linked))
    page.goto(live_server.url + reverse("aftersales:messages"))
    expect(page.get_by_role("heading", name="Wiadomości od kupujących")).to_be_visible()
    rows = page.get_by_test_id("thread-row")
    expect(rows.first).to_be_visible()
    unread = [row.get_attribute("class") == "unread" for row in rows.all()]
    assert unread.count(True) == MessageThread.objects.filter(account=linked, read=False).count()
    assert unread == sorted(unread, reverse=True)  # unread first
    assert True in unread
    assert False in unread
    row = page.locator(f'[data-thread-id="{thread_id}"]')
    expect(row).to_contain_text("nieprzeczytana")

    row.get_by_role("link", name="anna_k").click()
    expect(page.get_by_role("heading", name="anna_k")).to_be_visible()
    expect(page.get_by_test_id("thread-chat")).to_contain_text("Czy mogę prosić o fakturę VAT?")
    expect(page.get_by_test_id("thread-order-link")).to_have_text(form["id"])
    assert api.get(f"/messaging/threads/{thread_id}").json()["read"] is True  # on Allegro
    thread.refresh_from_db()
    assert thread.read

    page.get_by_test_id("saved-reply").filter(has_text="Faktura w załączniku").click()
    text = page.get_by_label("Wiadomość do kupującego")
    expect(text).to_have_value(expected)
    page.get_by_label("Załączniki").set_input_files(
        files=[{"name": "faktura.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Wyślij do kupującego").click()
    expect(page.get_by_text("Wiadomość w kolejce: trwa wysyłanie do kupującego.")).to_be_visible()
    expect(page.get_by_test_id("message-sending")).to_have_text("wysyłanie")
    mine = page.get_by_test_id("thread-message").filter(has_text=expected)
    expect(mine.get_by_test_id("message-attachment")).to_contain_text("faktura.pdf")

    _run_send_jobs()
    # The chat refreshes itself while a message is sending: the badge goes, the file stays.
    expect(page.get_by_test_id("message-sending")).to_have_count(0, timeout=10_000)
    expect(mine.get_by_test_id("message-attachment")).to_contain_text("faktura.pdf")
    reply = Message.objects.get(thread=thread, text=expected)
    assert reply.local_state == Message.Local.SENT
    # The file opens through the back-office (Allegro's token stays on the server).
    link = mine.get_by_test_id("message-attachment")
    opened = page.request.get(live_server.url + str(link.get_attribute("href")))
    assert opened.status == 200
    assert opened.headers["content-type"] == "application/pdf"
    assert opened.body() == PDF

    on_allegro = api.get(f"/messaging/threads/{thread_id}/messages").json()["messages"]
    newest = on_allegro[0]
    assert newest["id"] == reply.allegro_id
    assert newest["text"] == expected
    assert newest["author"]["isInterlocutor"] is False
    assert [(a["fileName"], a["mimeType"]) for a in newest["attachments"]] == [
        ("faktura.pdf", "application/pdf")
    ]
    download = api.get(newest["attachments"][0]["url"], headers=OCTET)
    assert download.status_code == 200
    assert download.content == PDF


def test_a_new_message_to_the_buyer_from_the_order_page(
    live_server: Any,
    browser_login: Callable[[Any], Any],  # noqa: F811
    sim: Any,
    linked: Any,
    api: Any,
) -> None:
    seller = linked.allegro_user_id
    form = sim.control("POST", f"/sellers/{seller}/purchases", {"pay": True, "buyerLogin": "jan_n"})
    drive(linked, "orders")
    order = Order.objects.get(account=linked, allegro_id=form["id"])
    page = browser_login(staff_member("olga", Role.OPERATOR, linked))
    page.goto(live_server.url + reverse("orders:detail", args=[order.pk]))
    page.get_by_role("link", name="Napisz do kupującego").click()
    expect(page.get_by_role("heading", name="Nowa wiadomość do kupującego")).to_be_visible()
    new = page.get_by_test_id("new-message-form")
    expect(new.get_by_label("Konto")).to_have_value(str(linked.pk))
    expect(new.get_by_label("Login kupującego")).to_have_value("jan_n")
    expect(new.get_by_label("Id zamówienia")).to_have_value(form["id"])
    new.get_by_label("Wiadomość do kupującego").fill("Dzień dobry, paczka wyjdzie jutro rano.")
    new.get_by_role("button", name="Wyślij do kupującego").click()
    expect(page.get_by_text("Wiadomość w kolejce: trwa wysyłanie do kupującego.")).to_be_visible()
    outgoing = page.get_by_test_id("outgoing-message")
    expect(outgoing).to_contain_text("jan_n")
    expect(outgoing).to_contain_text("wysyłanie")

    _run_send_jobs()
    threads = [
        t
        for t in api.get("/messaging/threads").json()["threads"]
        if t["interlocutor"]["login"] == "jan_n"
    ]
    assert len(threads) == 1
    on_allegro = api.get(f"/messaging/threads/{threads[0]['id']}/messages").json()["messages"]
    assert [m["text"] for m in on_allegro] == ["Dzień dobry, paczka wyjdzie jutro rano."]
    assert on_allegro[0]["relatesTo"]["order"]["id"] == form["id"]

    page.reload()
    expect(page.get_by_test_id("outgoing-message")).to_have_count(0)
    row = page.locator(f'[data-thread-id="{threads[0]["id"]}"]')
    row.get_by_role("link", name="jan_n").click()
    expect(page.get_by_test_id("thread-chat")).to_contain_text(
        "Dzień dobry, paczka wyjdzie jutro rano."
    )
    expect(page.get_by_test_id("thread-order-link")).to_have_text(form["id"])


def test_an_orders_fees_on_its_page_and_the_fees_by_type(
    live_server: Any,
    browser_login: Callable[[Any], Any],  # noqa: F811
    sim: Any,
    linked: Any,
    api: Any,
) -> None:
    seller = linked.allegro_user_id
    offers = api.get("/sale/offers", params={"publication.status": "ACTIVE", "limit": 1}).json()
    offer_id = offers["offers"][0]["id"]
    form = sim.control(
        "POST",
        f"/sellers/{seller}/purchases",
        {"pay": True, "offerIds": [offer_id], "quantity": 3, "buyerLogin": "ewa_z"},
    )
    fees = sim.control("POST", f"/orders/{form['id']}/fees")["billingEntries"]
    assert fees
    drive(linked, "orders")
    drive(linked, "billing")
    order = Order.objects.get(account=linked, allegro_id=form["id"])
    page = browser_login(staff_member("vera", Role.VIEWER, linked))
    page.goto(live_server.url + reverse("orders:detail", args=[order.pk]))
    section = page.get_by_test_id("order-fees")
    expect(section.get_by_role("heading", name="Opłaty Allegro")).to_be_visible()
    rows = section.get_by_test_id("order-fee")
    expect(rows).to_have_count(len(fees))
    for row, fee in zip(rows.all(), fees, strict=True):
        expect(row).to_contain_text(fee["type"]["name"])
        expect(row).to_contain_text(_pln(fee["value"]["amount"]))
    total = sum(Decimal(f["value"]["amount"]) for f in fees)
    expect(section.get_by_test_id("order-fees-total")).to_have_text(_pln(total))
    assert "." not in _pln(total)

    # The billing page: this account, today, by fee type; equal to the simulator's entries.
    today = timezone.localdate()
    entries: list[dict[str, Any]] = []
    while True:
        batch = api.get(
            "/billing/billing-entries",
            params={"limit": 100, "offset": len(entries)},
            headers={"Accept-Language": "pl-PL"},
        ).json()["billingEntries"]
        entries.extend(batch)
        if len(batch) < 100:
            break
    by_type: dict[str, list[Decimal]] = defaultdict(list)
    for entry in entries:
        when = datetime.fromisoformat(entry["occurredAt"].replace("Z", "+00:00"))
        if when.astimezone(WARSAW).date() == today:
            by_type[entry["type"]["name"]].append(Decimal(entry["value"]["amount"]))
    assert "Prowizja od sprzedaży" in by_type
    page.goto(live_server.url + reverse("aftersales:billing"))
    expect(page.get_by_role("heading", name="Opłaty pobrane przez Allegro")).to_be_visible()
    filters = page.get_by_test_id("billing-filters")
    filters.get_by_label("Konto").select_option(label=SELLER_LOGIN)
    filters.get_by_label("Od").fill(today.isoformat())
    filters.get_by_label("Do").fill(today.isoformat())
    filters.get_by_label("Grupuj według").select_option(label="Rodzaj opłaty")
    filters.get_by_role("button", name="Filtruj").click()
    summary = page.get_by_test_id("billing-row")
    expect(summary).to_have_count(len(by_type))
    for name, amounts in by_type.items():
        row = summary.filter(has_text=name)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(SELLER_LOGIN)
        expect(row.locator("td").nth(2)).to_have_text(str(len(amounts)))
        expect(row.locator("td").nth(3)).to_have_text(_pln(sum(amounts)))
