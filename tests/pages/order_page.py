"""The order page in the browser: wait until it stops changing before acting on it."""

from __future__ import annotations

from typing import Any


def wait_for_order_page(page: Any) -> None:
    """The order page loads its shipping and fee sections after it is shown (htmx, on load) and
    swaps them in above the fulfillment and tracking forms, which then move down. A click aimed
    at a form control while that happens lands elsewhere ("Clicking the checkbox did not change
    its state"), so the forms are used only once both sections are in place."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("order-shipping")).to_be_visible()
    expect(page.get_by_test_id("order-fees")).to_be_visible()
