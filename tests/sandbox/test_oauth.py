"""The OAuth server: consent, codes, PKCE, refresh rotation, client credentials, device flow."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from allegro.transport import tls_context
from sandbox.http import V1
from sandbox.testing import TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_REDIRECT_URI, SimulatorProcess

pytestmark = pytest.mark.sandbox

BASIC = (TEST_CLIENT_ID, TEST_CLIENT_SECRET)


def authorize(sim: SimulatorProcess, **extra: str) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": TEST_CLIENT_ID,
        "redirect_uri": TEST_REDIRECT_URI,
        "state": "xyz-123",
        **extra,
    }
    return httpx.get(f"{sim.auth_url}/authorize", params=params, verify=tls_context())


def consent(
    sim: SimulatorProcess, decision: str = "approve", seller_id: str = "10000001", **extra: str
) -> dict[str, list[str]]:
    form = {
        "response_type": "code",
        "client_id": TEST_CLIENT_ID,
        "redirect_uri": TEST_REDIRECT_URI,
        "state": "xyz-123",
        "seller_id": seller_id,
        "decision": decision,
        **extra,
    }
    response = httpx.post(f"{sim.auth_url}/authorize", data=form, verify=tls_context())
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(TEST_REDIRECT_URI)
    return parse_qs(urlsplit(location).query)


def token(
    sim: SimulatorProcess, auth: tuple[str, str] | None = BASIC, **data: str
) -> httpx.Response:
    return httpx.post(f"{sim.auth_url}/token", data=data, auth=auth, verify=tls_context())


def exchange(sim: SimulatorProcess, code: str, **extra: str) -> httpx.Response:
    return token(
        sim, grant_type="authorization_code", code=code, redirect_uri=TEST_REDIRECT_URI, **extra
    )


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    return verifier, challenge


def test_consent_page_lists_sellers_and_scopes(sim: SimulatorProcess) -> None:
    response = authorize(sim, scope="allegro:api:orders:read allegro:api:profile:read")
    assert response.status_code == 200
    assert "SklepKowalski" in response.text
    assert "ElektroMax_PL" in response.text
    assert "allegro:api:orders:read" in response.text
    assert 'name="decision" value="deny"' in response.text


def test_redirect_uri_must_match_exactly(sim: SimulatorProcess) -> None:
    response = authorize(sim, redirect_uri=TEST_REDIRECT_URI + "/")
    assert response.status_code == 400
    assert "redirect_uri" in response.text
    assert "location" not in response.headers


def test_unknown_client_gets_an_error_page(sim: SimulatorProcess) -> None:
    assert authorize(sim, client_id="stranger").status_code == 400


def test_code_flow_issues_a_jwt_with_allegro_claims(sim: SimulatorProcess) -> None:
    query = consent(sim, scope="allegro:api:profile:read allegro:api:orders:read")
    assert query["state"] == ["xyz-123"]
    response = exchange(sim, query["code"][0])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 43200
    assert body["refresh_token"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["user_name"] == "10000001"
    assert claims["client_id"] == TEST_CLIENT_ID
    assert claims["authorities"] == ["allegro:api:profile:read", "allegro:api:orders:read"]
    assert claims["exp"] - claims["iat"] == 43200
    me = httpx.get(
        f"{sim.url}/me", headers={"Authorization": f"Bearer {body['access_token']}", "Accept": V1}
    )
    assert me.json()["id"] == "10000001"


def test_denial_redirects_with_access_denied_and_state(sim: SimulatorProcess) -> None:
    query = consent(sim, decision="deny")
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["xyz-123"]
    assert "code" not in query


def test_codes_are_single_use(sim: SimulatorProcess) -> None:
    code = consent(sim)["code"][0]
    assert exchange(sim, code).status_code == 200
    again = exchange(sim, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_codes_expire(sim: SimulatorProcess) -> None:
    code = consent(sim)["code"][0]
    sim.control("POST", "/clock", {"advance": 11})
    response = exchange(sim, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_ttl_is_configurable(sim: SimulatorProcess) -> None:
    sim.control("PUT", "/settings", {"code_ttl": 60})
    code = consent(sim)["code"][0]
    sim.control("POST", "/clock", {"advance": 30})
    assert exchange(sim, code).status_code == 200


def test_exchange_needs_the_same_redirect_uri(sim: SimulatorProcess) -> None:
    code = consent(sim)["code"][0]
    response = token(
        sim, grant_type="authorization_code", code=code, redirect_uri="http://127.0.0.1/other"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_missing_code(sim: SimulatorProcess) -> None:
    response = token(sim, grant_type="authorization_code", redirect_uri=TEST_REDIRECT_URI)
    assert response.status_code == 400
    assert response.json()["error_description"] == "An authorization code must be supplied."


def test_token_endpoint_requires_basic_auth(sim: SimulatorProcess) -> None:
    code = consent(sim)["code"][0]
    assert token(sim, auth=None, grant_type="authorization_code", code=code).status_code == 401
    wrong = token(sim, auth=(TEST_CLIENT_ID, "wrong"), grant_type="client_credentials")
    assert wrong.status_code == 401


def test_pkce_s256_is_enforced(sim: SimulatorProcess) -> None:
    verifier, challenge = pkce_pair()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    code = consent(sim, **pkce)["code"][0]
    missing = exchange(sim, code)
    assert missing.status_code == 400
    code = consent(sim, **pkce)["code"][0]
    assert exchange(sim, code, code_verifier="not-the-verifier").status_code == 400
    code = consent(sim, **pkce)["code"][0]
    assert exchange(sim, code, code_verifier=verifier).status_code == 200


def test_plain_pkce_method_is_refused(sim: SimulatorProcess) -> None:
    response = authorize(sim, code_challenge="abc", code_challenge_method="plain")
    assert response.status_code == 302
    assert "error=invalid_request" in response.headers["location"]


def refresh(sim: SimulatorProcess, refresh_token: str) -> httpx.Response:
    return token(sim, grant_type="refresh_token", refresh_token=refresh_token)


def test_refresh_tokens_rotate_and_are_single_use(sim: SimulatorProcess) -> None:
    first = exchange(sim, consent(sim)["code"][0]).json()
    second = refresh(sim, first["refresh_token"])
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert pair["access_token"] != first["access_token"]
    reused = refresh(sim, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert refresh(sim, pair["refresh_token"]).status_code == 200
    assert sim.control("GET", "/stats")["tokenGrants"]["refresh_token"] == 3


def test_access_token_lifetime_is_configurable(sim: SimulatorProcess) -> None:
    sim.control("PUT", "/settings", {"access_ttl": 5})
    pair = exchange(sim, consent(sim)["code"][0]).json()
    assert pair["expires_in"] == 5
    headers = {"Authorization": f"Bearer {pair['access_token']}", "Accept": V1}
    assert httpx.get(f"{sim.url}/me", headers=headers).status_code == 200
    sim.control("POST", "/clock", {"advance": 6})
    assert httpx.get(f"{sim.url}/me", headers=headers).status_code == 401


def test_client_credentials_token_has_no_user(sim: SimulatorProcess) -> None:
    response = token(sim, grant_type="client_credentials")
    assert response.status_code == 200
    body = response.json()
    assert "refresh_token" not in body
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert "user_name" not in claims
    headers = {"Authorization": f"Bearer {body['access_token']}", "Accept": V1}
    assert httpx.get(f"{sim.url}/order/carriers", headers=headers).status_code == 200
    me = httpx.get(f"{sim.url}/me", headers=headers)
    assert me.status_code == 401
    assert me.json()["error_description"] == "Empty user_name claim"


def test_unknown_grant_type(sim: SimulatorProcess) -> None:
    response = token(sim, grant_type="password")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_device_flow(sim: SimulatorProcess) -> None:
    started = httpx.post(
        f"{sim.auth_url}/device", data={"client_id": TEST_CLIENT_ID}, auth=BASIC
    ).json()
    grant = "urn:ietf:params:oauth:grant-type:device_code"
    pending = token(sim, grant_type=grant, device_code=started["device_code"])
    assert pending.json()["error"] == "authorization_pending"
    page = httpx.get(started["verification_uri_complete"])
    assert page.status_code == 200
    assert "SklepKowalski" in page.text
    httpx.post(
        f"{sim.auth_url}/authorize",
        data={"user_code": started["user_code"], "seller_id": "10000002", "decision": "approve"},
    )
    done = token(sim, grant_type=grant, device_code=started["device_code"])
    assert done.status_code == 200
    claims: dict[str, Any] = jwt.decode(
        done.json()["access_token"], options={"verify_signature": False}
    )
    assert claims["user_name"] == "10000002"
    assert (
        token(sim, grant_type=grant, device_code=started["device_code"]).json()["error"]
        == "invalid_grant"
    )


def test_device_flow_denied(sim: SimulatorProcess) -> None:
    started = httpx.post(
        f"{sim.auth_url}/device", data={"client_id": TEST_CLIENT_ID}, auth=BASIC
    ).json()
    httpx.post(
        f"{sim.auth_url}/authorize", data={"user_code": started["user_code"], "decision": "deny"}
    )
    response = token(
        sim,
        grant_type="urn:ietf:params:oauth:grant-type:device_code",
        device_code=started["device_code"],
    )
    assert response.json()["error"] == "access_denied"


def test_token_signed_by_another_key_is_401(sim: SimulatorProcess) -> None:
    forged = jwt.encode(
        {
            "user_name": "10000001",
            "client_id": TEST_CLIENT_ID,
            "exp": 9999999999,
            "authorities": [],
        },
        "another-signing-key-of-32-bytes-or-more",
        algorithm="HS256",
    )
    response = httpx.get(
        f"{sim.url}/me", headers={"Authorization": f"Bearer {forged}", "Accept": V1}
    )
    assert response.status_code == 401
