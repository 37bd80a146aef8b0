"""Content-Security-Policy on: every page's scripts and styles still run in Chromium.

The suite-wide ``context`` fixture (tests/conftest.py) fails any browser test on a CSP violation
reported in Chromium's console; here every page is visited, and the behaviour of each script
(htmx, static/js/backoffice.js, the nonce'd inline scripts and styles) is checked as well.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from offers.models import Offer
from orders.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _csp(response: Any) -> str:
    header: str = response.headers["content-security-policy"]
    return header


def _scripts_ran(page: Any) -> None:
    """htmx initialised and backoffice.js hides an image that cannot load."""
    page.wait_for_function("() => typeof window.htmx === 'object'", timeout=10_000)
    page.evaluate(
        "() => { const i = document.createElement('img'); i.id = 'csp-probe';"
        " i.src = '/static/missing-on-purpose.png'; document.body.append(i); }"
    )
    page.wait_for_function(
        "() => document.getElementById('csp-probe').hidden === true", timeout=10_000
    )


def test_every_page_runs_its_scripts_under_the_policy(
    live_server: Any,
    browser_login: Any,
    manager: Any,
    shop: Any,
    csp_violations: list[str],
) -> None:
    from playwright.sync_api import expect

    manager.is_staff = manager.is_superuser = True
    manager.save(update_fields=["is_staff", "is_superuser"])
    offer = Offer.objects.filter(account=shop).order_by("id")[0]
    order = Order.objects.filter(account=shop).order_by("id")[0]
    page = browser_login(manager)
    base = live_server.url

    pages = [
        "/",
        "/offers/",
        f"/offers/{offer.pk}/",
        "/orders/",
        f"/orders/{order.pk}/",
        "/shipping/",
        "/after-sales/",
        "/accounts/",
        "/auth/2fa/",
        "/auth/password/change/",
        "/admin/",
        "/admin/accounts/allegroaccount/",
        "/admin/accounts/user/add/",
    ]
    for path in pages:
        response = page.goto(f"{base}{path}")
        assert response is not None, path
        assert response.status == 200, path
        policy = _csp(response)
        assert "default-src 'self'" in policy, path
        assert "unsafe-inline" not in policy, path
        assert "unsafe-eval" not in policy, path
        assert "frame-ancestors 'none'" in policy, path
        if not path.startswith("/admin/"):
            _scripts_ran(page)
        assert csp_violations == [], path

    # The nonce'd inline style and script of the list pages (ui/_styles.html, _keys.html).
    page.goto(f"{base}/offers/")
    expect(page.locator(".page-head")).to_have_css("display", "flex")
    page.locator("body").click()
    page.keyboard.press("/")
    expect(page.locator("[data-search]")).to_be_focused()
    # An htmx swap (filtering) still works: its XHR is allowed by connect-src 'self'.
    page.fill("[data-search]", offer.allegro_id)
    expect(page.get_by_test_id("offer-row")).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"q={offer.allegro_id}"))

    # The order page's inline script (carrier name shown only for "other").
    page.goto(f"{base}/orders/{order.pk}/")
    carrier = page.locator("#id_carrier")
    if carrier.count():
        carrier.select_option("OTHER")
        expect(page.locator("#id_carrier_name")).to_be_visible()

    # The favicon is served from static/ and linked from the page.
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href == "/static/favicon.svg"
    icon = page.request.get(f"{base}{href}")
    assert icon.status == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert csp_violations == []


def test_the_sign_in_page_and_the_detector_itself(
    page: Any, live_server: Any, csp_violations: list[str]
) -> None:
    """The sign-in page runs under the policy, and an inline script without the nonce is refused
    and reported (so the suite-wide check can fail a test)."""
    response = page.goto(f"{live_server.url}/auth/login/")
    assert response is not None
    assert response.status == 200
    assert page.locator("link[rel=icon]").get_attribute("href") == "/static/favicon.svg"
    _scripts_ran(page)
    assert csp_violations == []

    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__injected = true'; document.head.append(s); }"
    )
    assert page.evaluate("window.__injected === undefined")
    for _ in range(50):  # bounded wait for the console event to arrive
        if csp_violations:
            break
        page.wait_for_timeout(100)
    assert csp_violations
    assert "inline script" in csp_violations[0]
    csp_violations.clear()  # the violation was ours on purpose
