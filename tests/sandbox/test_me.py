"""``GET /me`` and the authentication / negotiation rules every route shares."""

from __future__ import annotations

import httpx
import pytest

from sandbox.http import V1
from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import api_client, errors_of

pytestmark = pytest.mark.sandbox


def test_me_returns_the_seller_behind_the_token(api: httpx.Client) -> None:
    response = api.get("/me")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(V1)
    body = response.json()
    assert body["id"] == "10000001"
    assert body["login"] == "SklepKowalski"
    assert body["baseMarketplace"] == {"id": "allegro-pl"}
    assert len(response.headers["trace-id"]) == 32


def test_me_for_another_seller(sim: SimulatorProcess) -> None:
    with api_client(sim, sim.token("10000002")) as client:
        assert client.get("/me").json()["id"] == "10000002"


def test_missing_token_is_401_auth_error(sim: SimulatorProcess) -> None:
    response = httpx.get(f"{sim.url}/me", headers={"Accept": V1})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_garbage_token_is_401(sim: SimulatorProcess) -> None:
    with api_client(sim, "not-a-jwt") as client:
        response = client.get("/me")
    assert response.status_code == 401
    assert "error" in response.json()


def test_expired_token_is_401(sim: SimulatorProcess) -> None:
    token = sim.token("10000001")
    sim.control("POST", "/clock", {"advance": 43201})
    with api_client(sim, token) as client:
        response = client.get("/me")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_app_token_on_user_resource_is_401_empty_user_name(sim: SimulatorProcess) -> None:
    with api_client(sim, sim.token(None)) as client:
        response = client.get("/me")
    assert response.status_code == 401
    assert response.json()["error_description"] == "Empty user_name claim"


def test_missing_scope_is_403(sim: SimulatorProcess) -> None:
    token = sim.token("10000001", scopes=["allegro:api:orders:read"])
    with api_client(sim, token) as client:
        response = client.get("/me")
    assert response.status_code == 403
    assert errors_of(response)[0]["code"] == "AccessDenied"


def test_wrong_accept_is_406(api: httpx.Client) -> None:
    response = api.get("/me", headers={"Accept": "application/json"})
    assert response.status_code == 406
    assert errors_of(response)[0]["code"] == "NotAcceptableException"


def test_beta_accept_on_v1_route_is_406(api: httpx.Client) -> None:
    response = api.get("/me", headers={"Accept": "application/vnd.allegro.beta.v1+json"})
    assert response.status_code == 406


def test_unknown_path_is_404_errors_holder(api: httpx.Client) -> None:
    response = api.get("/no/such/resource")
    assert response.status_code == 404
    assert errors_of(response)[0]["code"] == "NOT_FOUND"


def test_polish_user_messages(api: httpx.Client) -> None:
    response = api.get("/me", headers={"Accept": "application/json", "Accept-Language": "pl-PL"})
    error = errors_of(response)[0]
    assert error["message"].startswith("Not acceptable")
    assert error["userMessage"] == "Nieobsługiwany format odpowiedzi (nagłówek Accept)."
    offer = api.get("/sale/offers", params={"limit": 1}).json()["offers"][0]
    invalid = api.patch(
        f"/sale/product-offers/{offer['id']}",
        json={"sellingMode": {"price": {"amount": "1.00", "currency": "EUR"}}},
        headers={"Accept-Language": "pl-PL"},
    )
    assert errors_of(invalid)[0]["userMessage"].startswith(
        "Nieprawidłowa wartość pola sellingMode.price.currency"
    )
