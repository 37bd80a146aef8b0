"""Disputes, claims and return policies clicked through in Polish (Playwright, Debian's
Chromium) against the simulator: a reply with a PDF that the simulator's chat then holds, a
claim accepted with a partial refund, a return policy created, edited, copied to a second
account and deleted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role
from aftersales.models import ReturnPolicy
from tests.aftersales.test_disputes_policies import BETA, PDF, _new_issue
from tests.factories import staff_member
from tests.mirror.conftest import drive
from tests.pages.conftest import browser_login  # noqa: F401  (a fixture, used by name)
from tests.plugins.allegro_accounts import OTHER_SELLER_LOGIN, SELLER_LOGIN
from tests.synced_template import synced_accounts

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def linked(sim: Any, link_account: Callable[..., Any]) -> Any:
    """The seller linked and its issues and return policies mirrored: for real on a worker's first
    test, restored from that run's snapshot afterwards (the link and the sync are not what these
    flows are about; ``tests/aftersales/test_disputes_policies.py`` covers them)."""

    def build() -> list[Any]:
        sim.control(
            "POST", "/reset", {"seed": {"sellers": 2, "offers": 10, "orders": 30, "seed": 7}}
        )
        account = link_account(SELLER_LOGIN)
        drive(account, "issues")
        drive(account, "return_policies")
        return [account]

    return synced_accounts("aftersales-disputes-policies", sim, build)[0]


def test_reply_to_a_dispute_with_a_pdf(
    live_server: Any,
    browser_login: Callable[[Any], Any],  # noqa: F811
    sim: Any,
    linked: Any,
    api: Any,
) -> None:
    dispute = _new_issue(sim, linked, "DISPUTE")
    page = browser_login(staff_member("olga", Role.OPERATOR, linked))
    page.goto(live_server.url + reverse("aftersales:disputes"))
    page.locator(f'[data-issue-id="{dispute.allegro_id}"]').get_by_role("link").click()
    expect(page.get_by_test_id("dispute-chat")).to_contain_text("Paczka przyszła uszkodzona")
    page.get_by_test_id("reply-form").get_by_label("Wiadomość do kupującego").fill(
        "W załączniku protokół szkody."
    )
    page.get_by_label("Załączniki").set_input_files(
        files=[{"name": "protokol.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Wyślij na Allegro").click()
    expect(page.get_by_text("Wiadomość wysłana do kupującego na Allegro.").first).to_be_visible()
    expect(page.get_by_test_id("chat-attachment")).to_contain_text("protokol.pdf")
    chat = api.get(f"/sale/issues/{dispute.allegro_id}/chat", headers=BETA).json()["chat"]
    sent = next(m for m in chat if m["author"]["role"] == "SELLER")
    assert sent["text"] == "W załączniku protokół szkody."
    assert [a["fileName"] for a in sent["attachments"]] == ["protokol.pdf"]


def test_claim_accepted_with_a_partial_refund(
    live_server: Any,
    browser_login: Callable[[Any], Any],  # noqa: F811
    sim: Any,
    linked: Any,
    api: Any,
) -> None:
    claim = _new_issue(sim, linked, "CLAIM")
    page = browser_login(staff_member("manny", Role.MANAGER, linked))
    page.goto(live_server.url + reverse("aftersales:dispute", args=[claim.pk]))
    page.get_by_label("Decyzja", exact=True).select_option(label="Uznaj: częściowy zwrot pieniędzy")
    page.get_by_test_id("decision-form").get_by_label("Wiadomość do kupującego").fill(
        "Zwracamy 12,50 zł za brakujący element."
    )
    page.get_by_label("Kwota zwrotu").fill("12,50")
    page.get_by_label("Potwierdzam decyzję").check()
    page.get_by_role("button", name="Wyślij decyzję").click()
    expect(page.get_by_text("Decyzja wysłana do Allegro.").first).to_be_visible()
    expect(page.get_by_test_id("dispute-status")).to_have_text("Reklamacja uznana")
    on_allegro = api.get(f"/sale/issues/{claim.allegro_id}", headers=BETA).json()
    assert on_allegro["currentState"]["status"] == "CLAIM_ACCEPTED"


def test_return_policy_created_edited_copied_and_deleted(
    live_server: Any,
    browser_login: Callable[[Any], Any],  # noqa: F811
    linked: Any,
    link_account: Callable[..., Any],
    api: Any,
) -> None:
    second = link_account(OTHER_SELLER_LOGIN)
    page = browser_login(staff_member("manny", Role.MANAGER, linked, second))
    page.goto(live_server.url + reverse("aftersales:policies"))
    section = page.get_by_test_id("policy-account").filter(has_text=SELLER_LOGIN)
    section.get_by_role("link", name="Nowe warunki zwrotów").click()
    page.get_by_label("Nazwa warunków").fill("Zwroty 30 dni")
    page.get_by_label("Zwroty", exact=True).select_option("FULL")
    page.get_by_label("Termin na odstąpienie (dni)").fill("30")
    page.get_by_label("Koszt odesłania ponosi").select_option(label="Kupujący")
    page.get_by_label("Adres zwrotu: nazwa").fill("Sklep Kowalski")
    page.get_by_label("Ulica").fill("Magazynowa 5")
    page.get_by_label("Kod pocztowy").fill("00950")
    page.get_by_label("Miejscowość").fill("Warszawa")
    page.get_by_role("button", name="Zapisz na Allegro").click()
    expect(page.get_by_test_id("error-address_post_code")).to_contain_text("00-950")
    page.get_by_label("Kod pocztowy").fill("00-950")
    page.get_by_role("button", name="Zapisz na Allegro").click()
    expect(page.get_by_text("Warunki zwrotów utworzone na Allegro.").first).to_be_visible()
    policy = ReturnPolicy.objects.get(account=linked, name="Zwroty 30 dni")

    page.get_by_label("Termin na odstąpienie (dni)").fill("21")
    page.get_by_role("button", name="Zapisz na Allegro").click()
    expect(page.get_by_text("Warunki zwrotów zapisane na Allegro.").first).to_be_visible()
    doc = api.get(f"/after-sales-service-conditions/return-policies/{policy.allegro_id}").json()
    assert doc["withdrawalPeriod"] == "P21D"

    page.get_by_test_id("policy-copy-form").get_by_label(OTHER_SELLER_LOGIN).check()
    page.get_by_label("Utwórz warunki na każdym wybranym koncie").check()
    page.get_by_role("button", name="Kopiuj", exact=True).click()
    expect(page.get_by_text(f"Skopiowano na konto {OTHER_SELLER_LOGIN}.").first).to_be_visible()
    twin = ReturnPolicy.objects.get(account=second, name="Zwroty 30 dni")
    assert twin.withdrawal_period == "P21D"

    page.goto(live_server.url + reverse("aftersales:policy", args=[policy.pk]))
    page.get_by_test_id("policy-delete-confirm").check()
    page.get_by_role("button", name="Usuń").click()
    expect(page.get_by_text("Warunki zwrotów usunięte na Allegro.").first).to_be_visible()
    gone = api.get(f"/after-sales-service-conditions/return-policies/{policy.allegro_id}")
    assert gone.status_code == 404
    assert not ReturnPolicy.objects.filter(pk=policy.pk).exists()
