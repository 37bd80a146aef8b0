"""Sign-in throttling behind a reverse proxy (allauth's ``login_failed`` limit).

Every request here reaches the app from the same address (the test client's ``REMOTE_ADDR``,
as behind a reverse proxy); the proxy appends the real client to ``X-Forwarded-For``. Limits:
10 failed sign-ins a minute per client address, 5 per account (login e-mail) in 5 minutes.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # the reverse proxy: every request connects from it
THROTTLED_PL = "Zbyt wiele nieudanych prób logowania"
THROTTLED_EN = "Too many failed sign-in attempts"


def _sign_in(
    client: Client, email: str, password: str, *, forwarded_for: str | None = None, **headers: str
) -> Any:
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post(
        "/auth/login/", {"login": email, "password": password}, REMOTE_ADDR=PROXY, **headers
    )


def _assert_throttled(response: Any, message: str = THROTTLED_PL) -> None:
    assert response.status_code == 429
    body = response.content.decode()
    assert message in body
    assert 'data-testid="login-throttled"' in body
    assert 'name="password"' in body  # the sign-in page itself, with the reason on it


def _assert_signed_in(response: Any) -> None:
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"] == "/"


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1


def test_one_clients_failed_logins_do_not_lock_out_another(
    behind_proxy: None, alice: Any, password: str
) -> None:
    attacker = Client()
    # Ten wrong passwords from one client, each for a different e-mail (no account limit hit).
    for attempt in range(10):
        response = _sign_in(
            attacker, f"guess{attempt}@example.com", "wrong", forwarded_for="203.0.113.5"
        )
        assert response.status_code == 200
    _assert_throttled(
        _sign_in(attacker, "guess-more@example.com", "wrong", forwarded_for="203.0.113.5")
    )
    # That client is throttled even with a right password ...
    _assert_throttled(_sign_in(attacker, alice.email, password, forwarded_for="203.0.113.5"))
    # ... while another client behind the same proxy signs in.
    colleague = Client()
    _assert_signed_in(_sign_in(colleague, alice.email, password, forwarded_for="198.51.100.7"))


def test_proxy_chain_takes_the_address_the_trusted_proxy_saw(
    behind_proxy: None, alice: Any, password: str
) -> None:
    """A client's own X-Forwarded-For is prepended; the proxy's entry (the last) is the one used."""
    attacker = Client()
    for attempt in range(10):
        forged = f"192.0.2.{attempt}, 203.0.113.5"  # forged first entry, real one appended
        assert (
            _sign_in(attacker, f"g{attempt}@example.com", "x", forwarded_for=forged).status_code
            == 200
        )
    _assert_throttled(
        _sign_in(attacker, "g@example.com", "x", forwarded_for="192.0.2.99, 203.0.113.5")
    )
    _assert_signed_in(_sign_in(Client(), alice.email, password, forwarded_for="198.51.100.7"))


def test_failed_logins_against_one_account_from_many_ips_throttle_that_account(
    behind_proxy: None, alice: Any, bob: Any, password: str
) -> None:
    for attempt in range(5):
        response = _sign_in(
            Client(), alice.email, "wrong", forwarded_for=f"198.51.100.{attempt + 1}"
        )
        assert response.status_code == 200
        assert THROTTLED_PL not in response.content.decode()
    # The account is throttled from any address, even with the right password ...
    _assert_throttled(_sign_in(Client(), alice.email, password, forwarded_for="198.51.100.200"))
    # ... and only that account: another one signs in from the same addresses.
    _assert_signed_in(_sign_in(Client(), bob.email, password, forwarded_for="198.51.100.1"))


def test_throttled_sign_in_is_429_with_a_message_in_english_too(
    behind_proxy: None, alice: Any, password: str
) -> None:
    client = Client()
    client.cookies["django_language"] = "en"
    for attempt in range(5):
        _sign_in(client, alice.email, "wrong", forwarded_for=f"198.51.100.{attempt + 1}")
    response = _sign_in(client, alice.email, password, forwarded_for="198.51.100.9")
    _assert_throttled(response, THROTTLED_EN)
    assert THROTTLED_PL not in response.content.decode()


def test_without_the_trusted_proxy_setting_a_forged_forwarded_for_is_not_trusted(
    settings: Any, alice: Any, password: str
) -> None:
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER = None
    attacker = Client()
    # A new forged address on every attempt does not escape the limit of the real address.
    for attempt in range(10):
        response = _sign_in(
            attacker, f"guess{attempt}@example.com", "wrong", forwarded_for=f"192.0.2.{attempt}"
        )
        assert response.status_code == 200
    _assert_throttled(_sign_in(attacker, "guess@example.com", "wrong", forwarded_for="192.0.2.77"))
    # Everyone reaching the app from that address is throttled: the header is ignored.
    _assert_throttled(_sign_in(Client(), alice.email, password, forwarded_for="198.51.100.7"))


def test_a_trusted_client_ip_header_separates_clients(
    settings: Any, alice: Any, password: str
) -> None:
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER = "X-Real-IP"
    attacker = Client()
    for attempt in range(10):
        _sign_in(attacker, f"g{attempt}@example.com", "x", HTTP_X_REAL_IP="203.0.113.5")
    _assert_throttled(_sign_in(attacker, "g@example.com", "x", HTTP_X_REAL_IP="203.0.113.5"))
    _assert_signed_in(_sign_in(Client(), alice.email, password, HTTP_X_REAL_IP="198.51.100.7"))
