"""The after-sales pages in Polish against the simulator: a return's reasons and carriers, a
refund's state and amounts in words and with their currency, the refund form's per-item limit
after a partial refund, a claim's partial-refund amount shown once decided (with one success
message), saved replies confirmed, policies and warranties with a "Nazwa" column and periods in
words; the same pages read right in English."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from aftersales.models import CustomerReturn, Dispute, Refund, ReturnPolicy, Warranty
from tests.factories import staff_member
from tests.mirror.conftest import drive
from tests.plugins.allegro_accounts import SELLER_LOGIN
from ui import labels

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def linked(sim: Any, link_account: Callable[..., Any]) -> Any:
    sim.control("POST", "/reset", {"seed": {"sellers": 2, "offers": 10, "orders": 30, "seed": 7}})
    return link_account(SELLER_LOGIN)


def _texts(page: str) -> set[str]:
    return {html_lib.unescape(t).strip() for t in re.findall(r">([^<]+)<", page)}


def _codes(kind: str) -> set[str]:
    return {k for k, label in labels.KINDS[kind].items() if str(label.text) != k}


def _run_refund(refund: Refund) -> None:
    from aftersales.refunds import REFUND_KIND
    from jobs.models import Job, JobStatus
    from jobs.tasks import job_run

    job = Job.objects.get(kind=REFUND_KIND, params__refund=refund.pk)
    for _ in range(5):  # send once, then follow until Allegro finishes it
        if job_run(str(job.pk)) == JobStatus.DONE:
            break
        Job.objects.filter(pk=job.pk).update(next_poll_at=None)
    refund.refresh_from_db()


def test_a_return_and_its_partial_refund_read_in_words(
    sim: Any, linked: Any, client_for: Callable[[Any], Any]
) -> None:
    seller = linked.allegro_user_id
    made = sim.control("POST", f"/sellers/{seller}/customer-returns", {})
    sim.control("POST", f"/customer-returns/{made['id']}/parcel", {"status": "DELIVERED"})
    drive(linked, "returns")
    ret = CustomerReturn.objects.get(account=linked, allegro_id=made["id"])
    items, parcels = list(ret.items.all()), list(ret.parcels.all())
    assert items
    assert parcels
    manager = client_for(staff_member("manny", Role.MANAGER, linked))
    raw = {i.reason_type for i in items} | {p.carrier_id for p in parcels}

    for url in (reverse("aftersales:returns"), reverse("aftersales:return", args=[ret.pk])):
        page = manager.get(url).content.decode()
        texts = " ".join(_texts(page))
        with translation.override("pl"):
            for item in items:
                assert labels.status_label("return_reason", item.reason_type) in texts
            for parcel in parcels:
                assert labels.status_label("carrier", parcel.carrier_id) in texts
        shown = set(re.findall(r"[A-Z][A-Z_]{2,}", texts))
        assert not shown & (_codes("return_reason") | _codes("carrier")), sorted(shown & raw)

    # the refund form: amounts with their currency, "pieces · amount" refunded, focus on it
    refund_url = reverse("aftersales:refund", args=[linked.pk, ret.order_id]) + f"?return={ret.pk}"
    page = manager.get(refund_url)
    line = page.context["form"].lines[0]
    currency = line.currency
    html = page.content.decode()
    assert re.search(rf'data-testid="refund-paid">\d[\d  ]*,\d\d {currency}<', html)
    assert f'data-testid="refund-done">0,00 {currency}<' in html
    assert f'data-testid="refund-line-done">0 szt. · 0,00 {currency}<' in html
    assert re.search(r'<input[^>]*name="qty_0"[^>]*autofocus', html)

    command = page.context["form"].initial["command_id"]
    data = {"command_id": command, "reason": "REFUND", "return": str(ret.pk), "amount_0": "1,50"}
    assert manager.post(refund_url, data).status_code == 302
    refund = Refund.objects.get(account=linked, customer_return=ret)
    _run_refund(refund)
    assert refund.status == "SUCCESS"

    detail = manager.get(reverse("aftersales:return", args=[ret.pk])).content.decode()
    assert f"1,50 {currency}</a> — Zwrócono" in detail
    assert "SUCCESS" not in _texts(detail)
    status = manager.get(reverse("aftersales:refund_status", args=[refund.pk])).content.decode()
    assert f"<dd>1,50 {currency}</dd>" in status

    # what is left for the item: its price less the 1,50 refunded, said in the message
    again = manager.get(refund_url)
    line = again.context["form"].lines[0]
    assert line.refunded_amount == Decimal("1.50")
    html = again.content.decode()
    assert f'data-testid="refund-line-done">0 szt. · 1,50 {currency}<' in html
    left = line.price * line.quantity - Decimal("1.50")
    over = {**data, "command_id": "second", "amount_0": str(left + Decimal("0.01"))}
    refused = manager.post(refund_url, over)
    assert refused.status_code == 422
    left_text = f"{left:.2f}".replace(".", ",")
    assert f"Do zwrotu zostało najwyżej {left_text} {currency}." in refused.content.decode()

    # the refund's job on the jobs list: the one minute format
    from jobs.models import Job

    job = Job.objects.filter(actor__isnull=False).latest("created_at")
    jobs_page = manager.get(reverse("jobs:index")).content.decode()
    assert f"<td>{labels.minute_text(job.created_at)}</td>" in jobs_page

    manager.cookies["django_language"] = "en"
    english = manager.get(reverse("aftersales:return", args=[ret.pk])).content.decode()
    assert f"1.50 {currency}</a> — Refunded" in english
    with translation.override("en"):
        for item in items:
            assert labels.status_label("return_reason", item.reason_type) in english


def test_a_claims_partial_refund_is_shown_once_decided(
    sim: Any, linked: Any, client_for: Callable[[Any], Any]
) -> None:
    doc = sim.control(
        "POST",
        f"/sellers/{linked.allegro_user_id}/issues",
        {"type": "CLAIM", "text": "Brakuje jednej części."},
    )
    drive(linked, "issues")
    claim = Dispute.objects.get(account=linked, allegro_id=doc["id"])
    manager = client_for(staff_member("manny", Role.MANAGER, linked))
    before = manager.get(reverse("aftersales:dispute", args=[claim.pk])).content.decode()
    assert 'data-testid="claim-decision"' not in before
    data = {
        "decision": "ACCEPTED_PARTIAL_REFUND",
        "message": "Zwracamy część kwoty za brakujący element.",
        "refund": "60,00",
        "currency": "PLN",
        "confirm": "on",
    }
    done = manager.post(reverse("aftersales:dispute_decide", args=[claim.pk]), data, follow=True)
    page = done.content.decode()
    assert page.count("Decyzja wysłana do Allegro.") == 1
    decision = page.split('data-testid="claim-decision"', 1)[1].split("</dd>", 1)[0]
    assert "Uznaj: częściowy zwrot pieniędzy" in decision
    assert 'data-testid="claim-decision-refund">60,00 PLN<' in decision

    manager.cookies["django_language"] = "en"
    english = manager.get(reverse("aftersales:dispute", args=[claim.pk])).content.decode()
    assert 'data-testid="claim-decision-refund">60.00 PLN<' in english


def test_saving_a_saved_reply_is_confirmed_once(
    linked: Any, client_for: Callable[[Any], Any]
) -> None:
    operator = client_for(staff_member("olga", Role.OPERATOR, linked))
    data = {"title": "Przeprosiny", "text": "Dzień dobry {buyer_login}, przepraszamy."}
    done = operator.post(reverse("aftersales:reply_create"), data, follow=True)
    assert done.redirect_chain
    page = done.content.decode()
    assert page.count("Zapisano odpowiedź „Przeprosiny”.") == 1


def test_policies_and_warranties_name_their_column_and_periods_in_words(
    linked: Any, client_for: Callable[[Any], Any]
) -> None:
    drive(linked, "return_policies")
    drive(linked, "warranties")
    policies = list(ReturnPolicy.objects.filter(account=linked).exclude(withdrawal_period=""))
    warranties = list(Warranty.objects.filter(account=linked).exclude(individual_period=""))
    assert policies
    assert warranties
    viewer = client_for(staff_member("vera", Role.VIEWER, linked))
    pages = [
        viewer.get(reverse("aftersales:policies")).content.decode(),
        viewer.get(reverse("aftersales:warranties")).content.decode(),
    ]
    for page in pages:
        assert '<th scope="col">Nazwa</th>' in page
        assert "Imię i nazwisko" not in page
        assert not {t for t in _texts(page) if re.fullmatch(r"P(\d+[YMWD])+", t)}
    with translation.override("pl"):
        for p in policies:
            assert f"<td>{labels.duration_label(p.withdrawal_period)}</td>" in pages[0]
        for w in warranties:
            if not w.individual_lifetime:
                assert f"<td>{labels.duration_label(w.individual_period)}</td>" in pages[1]

    viewer.cookies["django_language"] = "en"
    english = viewer.get(reverse("aftersales:policies")).content.decode()
    assert '<th scope="col">Name</th>' in english
    with translation.override("en"):
        for p in policies:
            assert f"<td>{labels.duration_label(p.withdrawal_period)}</td>" in english
