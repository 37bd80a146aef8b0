"""Customer returns in the after-sales inbox, in Polish (Playwright, Debian's Chromium), against
the simulator: a buyer starts two returns (the simulator's control plane), their parcels come
back to the seller, a sync runs, and staff sees both in the inbox as waiting for a refund; one
is rejected on Allegro (a code the spec allows, with its required reason), the other refunded in
part from the inbox's "r" (the refund job runs, as a worker would), and both leave the inbox."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import AuditLogEntry, Role
from aftersales.models import CustomerReturn, Refund
from aftersales.refunds import REFUND_KIND
from jobs.models import Job, JobStatus
from jobs.tasks import job_run
from tests.factories import staff_member
from tests.mirror.conftest import drive
from tests.pages.conftest import browser_login  # noqa: F401  (a fixture, used by name)
from tests.plugins.allegro_accounts import SELLER_LOGIN

pytestmark = pytest.mark.django_db(transaction=True)

BETA = {"Accept": "application/vnd.allegro.beta.v1+json"}
REASON = "Zwrócony towar nosi ślady używania."


@pytest.fixture
def linked(sim: Any, link_account: Callable[..., Any]) -> Any:
    sim.control("POST", "/reset", {"seed": {"sellers": 2, "offers": 10, "orders": 30, "seed": 7}})
    return link_account(SELLER_LOGIN)


def _on_allegro(api: Any, return_id: str) -> dict[str, Any]:
    response = api.get(f"/order/customer-returns/{return_id}", headers=BETA)
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    return doc


def test_returns_wait_for_a_refund_in_the_inbox_until_rejected_or_refunded(
    live_server: Any,
    browser_login: Callable[[Any], Any],  # noqa: F811
    sim: Any,
    linked: Any,
    api: Any,
) -> None:
    seller = linked.allegro_user_id
    # the buyer starts two returns; their parcels travel back and are delivered
    started = [sim.control("POST", f"/sellers/{seller}/customer-returns", {}) for _ in range(2)]
    for doc in started:
        for step in ("DISPATCHED", "IN_TRANSIT", "DELIVERED"):
            moved = sim.control("POST", f"/customer-returns/{doc['id']}/parcel", {})
            assert moved["status"] == step
    drive(linked, "returns")
    first, second = (
        CustomerReturn.objects.get(account=linked, allegro_id=doc["id"]) for doc in started
    )
    assert first.order_id != second.order_id
    # the seed has returns of its own (one delivered, waiting too): these two come on top
    seeded = CustomerReturn.objects.filter(account=linked, status="DELIVERED").exclude(
        pk__in=[first.pk, second.pk]
    )
    others = seeded.count()

    page = browser_login(staff_member("manny", Role.MANAGER, linked))
    inbox = live_server.url + reverse("aftersales:index")
    page.goto(inbox)
    expect(page.get_by_role("heading", name="Skrzynka posprzedażowa")).to_be_visible()
    returns = page.locator('[data-testid="inbox-row"][data-kind="return"]')
    expect(returns).to_have_count(2 + others)
    ours = page.locator(f'[data-item="return-{first.pk}"], [data-item="return-{second.pk}"]')
    for ret in (first, second):
        row = page.locator(f'[data-item="return-{ret.pk}"]')
        expect(row).to_contain_text("Zwrot do rozliczenia")
        expect(row).to_contain_text("paczka doręczona")
        expect(row).to_contain_text(ret.reference_number)
        expect(row).to_contain_text(ret.buyer_login)
    expect(page.get_by_test_id(f"inbox-count-{linked.pk}")).to_have_text(str(2 + others))
    page.get_by_label("Zwroty do rozliczenia").check()  # the kind filter (htmx swaps the rows)
    # htmx pushes the filtered address and swaps the rows in one go: once the address is there,
    # the rows are the filtered ones (the total alone can read the same before and after)
    page.wait_for_url("**kind=return**")
    # the whole number: "3" is also inside the unfiltered "13 …"
    expect(page.get_by_test_id("inbox-total")).to_have_text(re.compile(rf"^\s*{2 + others}\D"))

    # the first: Enter opens the return, which is rejected on Allegro with a reason
    page.locator(f'[data-item="return-{first.pk}"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{reverse('aftersales:return', args=[first.pk])}")
    form = page.get_by_test_id("reject-form")
    form.get_by_label("Dlaczego zwrot pieniędzy jest odrzucony").select_option("REFUND_REJECTED")
    form.get_by_label("Powód dla kupującego").fill(REASON)
    form.get_by_label("Potwierdzam odrzucenie: Allegro od razu powiadomi kupującego.").check()
    form.get_by_role("button", name="Odrzuć na Allegro").click()
    expect(page.get_by_text("Zwrot odrzucony na Allegro.").first).to_be_visible()
    expect(page.get_by_test_id("return-status")).to_have_text("Zwrot pieniędzy odrzucony")
    rejected = _on_allegro(api, first.allegro_id)
    assert rejected["status"] == "REJECTED"
    assert rejected["rejection"]["code"] == "REFUND_REJECTED"
    assert rejected["rejection"]["reason"] == REASON

    # the second: out of the inbox's rows only the second is left; "r" opens its refund form
    page.goto(inbox)
    expect(ours).to_have_count(1)
    page.locator(f'[data-item="return-{second.pk}"]').focus()
    page.keyboard.press("r")
    refund_url = reverse("aftersales:refund", args=[linked.pk, second.order_id])
    page.wait_for_url(f"**{refund_url}?return={second.pk}")
    form = page.get_by_test_id("refund-form")
    line = form.get_by_test_id("refund-line").first
    line.get_by_label("Albo kwota:").fill("1,50")  # in part: an amount, in the Polish format
    form.get_by_label("Powód:", exact=True).select_option("REFUND")
    form.get_by_role("button", name="Zwróć pieniądze na Allegro").click()
    expect(
        page.get_by_text("Zwrot pieniędzy w kolejce: właśnie trafia do Allegro.")
    ).to_be_visible()
    refund = Refund.objects.get(account=linked, customer_return=second)
    job = Job.objects.get(kind=REFUND_KIND, params__refund=refund.pk)
    for _ in range(5):  # the worker: send once, then follow until Allegro finishes it
        if job_run(str(job.pk)) == JobStatus.DONE:
            break
        Job.objects.filter(pk=job.pk).update(next_poll_at=None)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    expect(page.get_by_test_id("refund-status")).to_have_text("Zwrócono")  # SUCCESS; the page polls
    # The navigation's badge is a number here too (its per-account text is for screen readers
    # only, on pages without the list styles as well).
    badge = page.get_by_test_id("aftersales-badge")
    expect(badge).to_be_visible()
    box = badge.bounding_box()
    assert box is not None
    assert box["width"] < 60, box
    refund.refresh_from_db()
    assert refund.total == Decimal("1.50")
    assert refund.customer_return_id == second.pk
    assert AuditLogEntry.objects.filter(action="refund.create", account=linked).count() == 1
    on_allegro = api.get("/payments/refunds", params={"order.id": second.order_id}).json()
    assert [r["id"] for r in on_allegro["refunds"]] == [refund.allegro_id]
    assert _on_allegro(api, second.allegro_id)["status"] == "FINISHED"

    # both left the inbox, and the next sync (Allegro: rejected, finished) keeps them out
    page.goto(inbox)
    expect(ours).to_have_count(0)
    expect(returns).to_have_count(others)
    drive(linked, "returns")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("REJECTED", "FINISHED")
    page.reload()
    expect(ours).to_have_count(0)
    expect(page.get_by_test_id(f"inbox-count-{linked.pk}")).to_have_text(str(others))
