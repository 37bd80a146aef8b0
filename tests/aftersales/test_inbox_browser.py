"""The inbox operated with the keyboard only, in Polish (Playwright, Debian's Chromium)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role
from aftersales.models import InboxState
from tests.aftersales.test_inbox_ratings import _staff
from tests.factories import RatingFactory
from tests.pages.conftest import browser_login  # noqa: F401  (a fixture, used by name)

pytestmark = pytest.mark.django_db(transaction=True)


def test_inbox_with_the_keyboard_only(
    live_server: Any,
    browser_login: Callable[[Any], Any],  # noqa: F811
    account: Any,
) -> None:
    first = RatingFactory(account=account, recommended=False, comment="Towar uszkodzony")
    second = RatingFactory(account=account, recommended=False, comment="Za długo czekałem")
    page = browser_login(_staff("olga", account, Role.OPERATOR))
    page.goto(live_server.url + reverse("aftersales:index"))
    assert page.get_by_role("heading", name="Skrzynka posprzedażowa").is_visible()
    expect(page.get_by_test_id("inbox-row")).to_have_count(2)
    page.keyboard.press("j")
    page.keyboard.press("e")  # the first row: marked handled, the page reloads without it
    expect(page.locator("#messages")).to_contain_text("załatwione")
    expect(page.get_by_test_id("inbox-row")).to_have_count(1)
    handled = InboxState.objects.get(handled_at__isnull=False)
    remaining = second if handled.rating_id == first.pk else first
    page.keyboard.press("j")
    page.keyboard.press("r")  # reply: the rating's answer form
    page.wait_for_url(f"**{reverse('aftersales:rating', args=[remaining.pk])}#answer")
    assert page.get_by_test_id("answer-form").is_visible()
