"""In Chromium: sign in, see the dashboard, switch to English and back — all offline."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_dashboard_and_language_switch(
    page: Any, live_server: Any, alice: Any, password: str, blocked_requests: list[str]
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/auth/login/\?next=/$"))
    expect(page.locator("html")).to_have_attribute("lang", "pl")

    page.fill("input[name=login]", alice.email)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Pulpit")
    expect(page.locator("nav.mainnav")).to_contain_text("Zamówienia")
    expect(page.locator("#account-switcher")).to_contain_text("sklep-a")
    # htmx came from our own static files and initialised. The script is deferred, so
    # wait for it rather than racing the parser; a missing file times out and fails.
    page.wait_for_function("() => typeof window.htmx === 'object'", timeout=10_000)
    assert page.evaluate("htmx.version").startswith("2.")

    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("nav.mainnav")).to_contain_text("Orders")

    page.get_by_test_id("lang-pl").click()
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    expect(page.locator("h1")).to_have_text("Pulpit")

    # Keyboard: the navigation is reachable with Tab and focus is visible.
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement && document.activeElement.textContent")
    assert focused

    assert blocked_requests == []


def test_offline_guard_catches_external_requests(
    page: Any, live_server: Any, blocked_requests: list[str]
) -> None:
    """The guard really blocks and records a request to the internet (and then we clear it).

    The image is on Allegro's CDN, which the Content-Security-Policy allows (offer thumbnails);
    any other host would be refused by the browser before the guard sees a request."""
    page.goto(f"{live_server.url}/auth/login/")
    # the guard records the URL before it aborts the request, and the abort is what fails it
    with page.expect_event("requestfailed"):
        page.evaluate(
            "() => { const i = document.createElement('img');"
            " i.src = 'https://a.allegroimg.com/x.png'; document.body.append(i); }"
        )
    assert blocked_requests == ["https://a.allegroimg.com/x.png"]
    blocked_requests.clear()


def test_account_switcher_in_the_browser(
    page: Any, live_server: Any, client: Any, superuser: Any, account: Any, other_account: Any
) -> None:
    from playwright.sync_api import expect

    client.force_login(superuser, backend="django.contrib.auth.backends.ModelBackend")
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/accounts/")
    rows = page.locator("[data-testid=account-row]")
    expect(rows).to_have_count(2)
    page.select_option("#account-switcher", label="sklep-b")
    page.locator("form.switcher button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/")
    expect(page.locator("#messages")).to_contain_text("sklep-b")
    expect(page.locator("#account-switcher")).to_have_value(str(other_account.pk))
    page.goto(f"{live_server.url}/")
    # The dashboard's to-do table has one row: the account in scope (no total for one account).
    expect(page.locator("[data-testid=dashboard-row]")).to_have_count(1)
    expect(page.locator("[data-testid=dashboard-row]")).to_have_attribute(
        "data-account", str(other_account.pk)
    )
    expect(page.get_by_test_id("dashboard-today")).to_contain_text("sklep-b")
