"""In Chromium: link an Allegro account through the simulator's consent page, and the denial.

The simulator only redirects to registered URIs, so this module starts its own simulator with
an app registered for the live server's callback URL (spec validation on, checked at the end).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import AccountGrant, AccountToken, AllegroAccount, Role
from sandbox.testing import SimulatorProcess
from tests.plugins.allegro_accounts import forget_governors, point_settings_at, reset_governor

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CLIENT_ID, CLIENT_SECRET = "browser-client", "browser-secret"


@pytest.fixture(scope="module")
def browser_simulator(live_server: Any) -> Iterator[SimulatorProcess]:
    callback = f"{live_server.url}/accounts/allegro/callback/"
    process = SimulatorProcess(
        validate=True, extra_args=["--client", f"{CLIENT_ID}:{CLIENT_SECRET}:{callback}"]
    ).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def linked_site(browser_simulator: SimulatorProcess, settings: Any) -> Iterator[SimulatorProcess]:
    browser_simulator.control(
        "POST", "/reset", {"seed": {"sellers": 2, "offers": 5, "orders": 5, "seed": 42}}
    )
    point_settings_at(
        settings,
        browser_simulator,
        ALLEGRO_CLIENT_ID=CLIENT_ID,
        ALLEGRO_CLIENT_SECRET=CLIENT_SECRET,
        ALLEGRO_REDIRECT_URI="",  # the callback URL as the browser reached the back-office
    )
    reset_governor()
    yield browser_simulator
    forget_governors()
    assert browser_simulator.violations(clear=True) == []


def sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/auth/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/")


def test_admin_links_an_account_through_the_consent_page(
    page: Any, live_server: Any, linked_site: Any, superuser: Any, password: str
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server.url, superuser.email, password)
    page.goto(f"{live_server.url}/admin/accounts/allegroaccount/")
    page.get_by_test_id("admin-link-account").click()

    # Allegro's (simulated) consent page
    expect(page).to_have_url(re.compile(rf"^{re.escape(linked_site.url)}/auth/oauth/authorize\?"))
    expect(page.locator("h1")).to_have_text("Allegro simulator")
    page.get_by_label(re.compile("SklepKowalski")).check()
    page.get_by_role("button", name=re.compile("Approve")).click()

    # back in the back-office, on the accounts page, in Polish
    expect(page).to_have_url(f"{live_server.url}/accounts/")
    expect(page.locator("#messages")).to_contain_text(
        "Konto Allegro SklepKowalski zostało połączone"
    )
    row = page.get_by_test_id("account-row").filter(has_text="SklepKowalski")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("account-status")).to_have_text("Aktywne")
    account = AllegroAccount.objects.get(login="SklepKowalski")
    assert account.allegro_user_id == "10000001"
    assert AccountToken.objects.filter(account=account).exists()
    assert AccountGrant.objects.get(account=account, user=superuser).role == Role.MANAGER


def test_denied_consent_links_nothing(
    page: Any, live_server: Any, linked_site: Any, superuser: Any, password: str
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server.url, superuser.email, password)
    page.goto(f"{live_server.url}/accounts/")
    page.get_by_test_id("link-account").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(linked_site.url)}/auth/oauth/authorize\?"))
    page.get_by_role("button", name=re.compile("Deny")).click()

    expect(page).to_have_url(f"{live_server.url}/accounts/")
    expect(page.locator("#messages")).to_contain_text("Odmówiono dostępu w Allegro")
    expect(page.get_by_test_id("account-row")).to_have_count(0)
    assert not AllegroAccount.objects.exists()
    assert not AccountToken.objects.exists()


def test_demo_links_two_sellers_through_the_running_site(
    live_server: Any, linked_site: Any, superuser: Any, password: str
) -> None:
    """``make demo``'s linking step: sign in, "Link", consent (httpx), the site's callback."""
    from backoffice.demo import _signed_in_client, link_seller

    http = _signed_in_client(live_server.url, superuser.email, password)
    try:
        for login in ("SklepKowalski", "ElektroMax_PL"):
            link_seller(http, live_server.url, login)
        page = http.get("/accounts/").text
    finally:
        http.close()
    linked = AllegroAccount.objects.filter(status="active").order_by("login")
    assert [a.login for a in linked] == ["ElektroMax_PL", "SklepKowalski"]
    assert AccountToken.objects.count() == 2
    assert page.count('data-testid="account-row"') == 2
