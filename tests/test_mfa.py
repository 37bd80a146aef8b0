"""Staff sign-in: e-mail + password, TOTP enrolment and TOTP sign-in, throttling, no sign-up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from typing import Any

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def totp(secret: str, *, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP, written here so the test does not trust allauth's own implementation."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


def sign_in(client: Any, email: str, password: str) -> Any:
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_password_sign_in(client: Any, alice: Any, password: str) -> None:
    response = sign_in(client, alice.email, password)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_wrong_password_is_refused(client: Any, alice: Any) -> None:
    response = sign_in(client, alice.email, "not-the-password")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get(reverse("dashboard")).status_code == 302


def test_failed_sign_ins_are_throttled(client: Any, alice: Any, password: str) -> None:
    for _ in range(5):
        sign_in(client, alice.email, "not-the-password")
    # Even the right password is refused while the key is throttled (allauth login_failed).
    response = sign_in(client, alice.email, password)
    assert response.status_code in (200, 429)
    assert client.get(reverse("dashboard")).status_code == 302


def test_totp_enrolment_and_sign_in(client: Any, alice: Any, password: str) -> None:
    from allauth.mfa.models import Authenticator

    assert sign_in(client, alice.email, password).status_code == 302
    activate_url = reverse("mfa_activate_totp")
    # Changing security settings asks for the password again (allauth reauthentication).
    page = client.get(activate_url)
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("account_reauthenticate"))
    reauth = client.post(
        reverse("account_reauthenticate") + "?next=" + activate_url, {"password": password}
    )
    assert reauth.status_code == 302
    page = client.get(activate_url)
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]

    wrong = client.post(activate_url, {"code": "000000" if totp(secret) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert not Authenticator.objects.filter(user=alice).exists()

    enrolled = client.post(activate_url, {"code": totp(secret)})
    assert enrolled.status_code == 302
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.TOTP).exists()

    client.post(reverse("account_logout"))
    assert client.get(reverse("dashboard")).status_code == 302

    # Password alone is not enough any more: allauth asks for the second factor.
    stage = sign_in(client, alice.email, password)
    assert stage.status_code == 302
    assert stage["Location"] == reverse("mfa_authenticate")
    assert client.get(reverse("dashboard")).status_code == 302

    refused = client.post(reverse("mfa_authenticate"), {"code": "12345"})
    assert refused.status_code == 200
    assert client.get(reverse("dashboard")).status_code == 302

    # A code from the next time step avoids reusing the one spent on enrolment.
    done = client.post(reverse("mfa_authenticate"), {"code": totp(secret, at=time.time() + 30)})
    assert done.status_code == 302
    assert done["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_no_signup(client: Any) -> None:
    from allauth.account.adapter import get_adapter

    assert get_adapter().is_open_for_signup(None) is False
    response = client.get("/auth/signup/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert b'name="password2"' not in response.content


def test_password_reset_sends_mail(client: Any, alice: Any, mailoutbox: list[Any]) -> None:
    response = client.post(reverse("account_reset_password"), {"email": alice.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert alice.email in mailoutbox[0].to
