"""``safe_back_url``: forms send staff back only to this site (the accounts switch, the
after-sales actions and the label pages all use it)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from backoffice.redirects import safe_back_url


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (["/orders/?q=1"], "/orders/?q=1"),
        (["http://testserver/offers/"], "http://testserver/offers/"),
        (["https://evil.example/", "/inbox/"], "/inbox/"),
        (["//evil.example/x"], "/home/"),
        (["javascript:alert(1)"], "/home/"),
        ([None, ""], "/home/"),
        (["0", "offers/"], "/home/"),  # relative: would resolve against the form's URL
        (["/" + "a" * 2500], "/home/"),
    ],
)
def test_only_this_site_is_a_way_back(candidates: list[str | None], expected: str) -> None:
    request = RequestFactory().get("/")
    assert safe_back_url(request, candidates, "/home/") == expected


def test_a_secure_page_never_sends_back_to_plain_http() -> None:
    request = RequestFactory().get("/", secure=True)
    assert safe_back_url(request, ["http://testserver/offers/"], "/home/") == "/home/"
    assert safe_back_url(request, ["https://testserver/offers/"], "/home/") == (
        "https://testserver/offers/"
    )
