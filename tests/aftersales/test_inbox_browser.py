"""The inbox in Polish (Playwright, Debian's Chromium): operated with the keyboard only; a
negative rating from the simulator answered with a saved reply inserted from the keyboard (the
simulator then holds the answer) that leaves the inbox after the next sync pass; a removal
request made by a manager."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role
from aftersales.models import InboxState, Rating, SavedReply
from tests.factories import RatingFactory, staff_member
from tests.mirror.conftest import drive
from tests.pages.conftest import browser_login  # noqa: F401  (a fixture, used by name)
from tests.plugins.allegro_accounts import SELLER_LOGIN
from tests.synced_template import synced_accounts

pytestmark = pytest.mark.django_db(transaction=True)


def test_inbox_with_the_keyboard_only(
    live_server: Any,
    browser_login: Callable[[Any], Any],  # noqa: F811
    account: Any,
) -> None:
    first = RatingFactory(account=account, recommended=False, comment="Towar uszkodzony")
    second = RatingFactory(account=account, recommended=False, comment="Za długo czekałem")
    page = browser_login(staff_member("olga", Role.OPERATOR, account))
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


@pytest.fixture
def linked(sim: Any, link_account: Callable[..., Any]) -> Any:
    """The seller linked and its ratings mirrored: for real on a worker's first test, restored
    from that run's snapshot afterwards (the link and the sync are covered in
    ``tests/aftersales/test_inbox_ratings.py``; here each flow still syncs what it adds)."""

    def build() -> list[Any]:
        sim.control(
            "POST", "/reset", {"seed": {"sellers": 2, "offers": 10, "orders": 30, "seed": 7}}
        )
        account = link_account(SELLER_LOGIN)
        drive(account, "ratings")
        return [account]

    return synced_accounts("aftersales-inbox-ratings", sim, build)[0]


def test_negative_rating_answered_with_a_saved_reply_from_the_keyboard(
    live_server: Any,
    browser_login: Callable[[Any], Any],  # noqa: F811
    sim: Any,
    linked: Any,
    api: Any,
) -> None:
    doc = sim.control(
        "POST",
        f"/sellers/{linked.allegro_user_id}/ratings",
        {"recommended": False, "comment": "Paczka przyszła zgnieciona."},
    )
    drive(linked, "ratings")
    rating = Rating.objects.get(account=linked, allegro_id=doc["id"])
    SavedReply.objects.create(
        account=linked,
        title="Przeprosiny za uszkodzenie",
        text="Przepraszamy, {buyer_login}! Zamówienie {order_id} wymienimy.",
    )
    expected = (
        f"Przepraszamy, {rating.buyer_login}! Zamówienie {rating.checkout_form_id} wymienimy."
    )
    page = browser_login(staff_member("olga", Role.OPERATOR, linked))
    page.goto(live_server.url + reverse("aftersales:index"))
    row = page.locator(f'[data-item="rating-{rating.pk}"]')
    expect(row).to_contain_text("Paczka przyszła zgnieciona.")
    row.focus()
    page.keyboard.press("r")  # the answer form of the focused row
    page.wait_for_url(f"**{reverse('aftersales:rating', args=[rating.pk])}#answer")
    page.keyboard.press("t")  # the saved replies picker
    expect(page.get_by_test_id("reply-picker")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_test_id("reply-picker")).to_have_value(str(SavedReply.objects.get().pk))
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("reply-insert")).to_be_focused()
    page.keyboard.press("Enter")  # inserted into the answer, the answer focused
    message = page.get_by_test_id("answer-message")
    expect(message).to_be_focused()
    expect(message).to_have_value(expected)
    expect(page.get_by_test_id("answer-counter")).to_have_text(str(len(expected)))
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("answer-submit")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Odpowiedź opublikowana na Allegro.").first).to_be_visible()
    expect(page.get_by_test_id("rating-answer")).to_have_text(expected)

    on_allegro = api.get(f"/sale/user-ratings/{doc['id']}").json()
    assert on_allegro["answer"]["message"] == expected
    drive(linked, "ratings")  # the next sync pass: Allegro shows the answer
    page.goto(live_server.url + reverse("aftersales:index"))
    expect(page.get_by_role("heading", name="Skrzynka posprzedażowa")).to_be_visible()
    expect(page.locator(f'[data-item="rating-{rating.pk}"]')).to_have_count(0)


def test_removal_requested_in_the_browser_by_a_manager(
    live_server: Any,
    browser_login: Callable[[Any], Any],  # noqa: F811
    sim: Any,
    linked: Any,
    api: Any,
) -> None:
    doc = sim.control(
        "POST",
        f"/sellers/{linked.allegro_user_id}/ratings",
        {"recommended": False, "comment": "Nie ten sprzedawca."},
    )
    drive(linked, "ratings")
    rating = Rating.objects.get(account=linked, allegro_id=doc["id"])
    page = browser_login(staff_member("manny", Role.MANAGER, linked))
    page.goto(live_server.url + reverse("aftersales:rating", args=[rating.pk]))
    expect(page.get_by_test_id("rating-removal")).to_contain_text("można zgłosić do")
    form = page.get_by_test_id("removal-form")
    form.get_by_label("Dlaczego Allegro ma usunąć tę ocenę?").fill(
        "Kupujący pomylił nas z innym sprzedawcą."
    )
    form.get_by_role("button", name="Poproś o usunięcie").click()
    expect(page.get_by_text("Wysłano do Allegro prośbę o usunięcie.").first).to_be_visible()
    expect(page.get_by_test_id("rating-removal")).to_contain_text(
        "Kupujący pomylił nas z innym sprzedawcą."
    )
    expect(page.get_by_test_id("removal-form")).to_have_count(0)
    on_allegro = api.get(f"/sale/user-ratings/{doc['id']}").json()
    assert on_allegro["removal"]["request"]["message"] == "Kupujący pomylił nas z innym sprzedawcą."
