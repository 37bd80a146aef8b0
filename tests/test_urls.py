"""Every URL pattern (enumerated from the resolver) requires sign-in, except the sign-in pages."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

# Named routes an anonymous visitor may open: signing in, resetting a password, health.
PUBLIC_NAMES = {
    "account_login",
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key_done",
    "healthz",
    # Static notices inside the sign-in flow (no data): "account inactive", "check your e-mail".
    "account_inactive",
    "account_email_verification_sent",
}


def _fragment(pattern: RoutePattern | RegexPattern | object) -> str | None:
    """The literal path of one pattern piece, or None when it needs an argument."""
    if isinstance(pattern, RoutePattern):
        route = str(pattern)
        return None if "<" in route else route
    if isinstance(pattern, RegexPattern):
        regex = pattern.regex
        if regex.groups:
            return None
        literal = pattern._regex.lstrip("^").rstrip("$").replace("\\", "")
        return None if re.search(r"[\[\]()*+?{}|]", literal) else literal
    return None


def _walk(
    patterns: list[URLPattern | URLResolver], prefix: str = ""
) -> Iterator[tuple[str, str | None]]:
    for entry in patterns:
        piece = _fragment(entry.pattern)
        if piece is None:
            continue
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + piece)
        else:
            yield "/" + prefix + piece, entry.name


ALL_URLS = sorted(set(_walk(get_resolver().url_patterns)))


def test_enumeration_finds_the_product_pages() -> None:
    paths = {path for path, _ in ALL_URLS}
    for expected in ("/", "/offers/", "/orders/", "/shipping/", "/after-sales/", "/accounts/"):
        assert expected in paths
    assert "/admin/" in paths
    assert len(ALL_URLS) > 30  # allauth, mfa and admin routes are walked too


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name"), ALL_URLS, ids=[path for path, _ in ALL_URLS])
def test_anonymous_is_sent_to_sign_in(client: object, path: str, name: str | None) -> None:
    response = client.get(path)  # type: ignore[attr-defined]
    if name in PUBLIC_NAMES:
        assert response.status_code in (200, 302), path
        if response.status_code == 302:
            assert not response["Location"].startswith(reverse("account_login")), path
        return
    assert response.status_code == 302, f"{path} answered {response.status_code} to anonymous"
    location = response["Location"]
    if location.startswith("/admin/login/"):
        # The admin's own login page hands over to allauth's sign-in (MFA, throttling).
        location = client.get(location)["Location"]  # type: ignore[attr-defined]
    assert location.startswith(reverse("account_login")), location


@pytest.mark.django_db
def test_public_pages_really_are_public(client: object) -> None:
    for name in ("account_login", "account_reset_password", "healthz"):
        response = client.get(reverse(name))  # type: ignore[attr-defined]
        assert response.status_code == 200, name


@pytest.mark.django_db
def test_signup_is_closed(client: object) -> None:
    response = client.get("/auth/signup/")  # type: ignore[attr-defined]
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    login_page = client.get(reverse("account_login"))  # type: ignore[attr-defined]
    assert b"signup" not in login_page.content.lower()
    posted = client.post(  # type: ignore[attr-defined]
        "/auth/signup/",
        {
            "email": "intruder@example.com",
            "password1": "x-Long-pass-9",
            "password2": "x-Long-pass-9",
        },
    )
    assert posted.status_code in (302, 405)
    from accounts.models import User

    assert not User.objects.filter(email="intruder@example.com").exists()
