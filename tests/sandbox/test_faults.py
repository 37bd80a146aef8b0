"""Fault injection: rate limits, random 5xx, slow and dropped responses, event faults, token 503."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.testing import TEST_CLIENT_ID, TEST_CLIENT_SECRET, SimulatorProcess
from tests.plugins.simulator import api_client, errors_of

pytestmark = pytest.mark.sandbox


@pytest.fixture
def faults(sim: SimulatorProcess) -> Iterator[Any]:
    def switch(**settings: Any) -> dict[str, Any]:
        result: dict[str, Any] = sim.control("PUT", "/faults", settings)
        return result

    yield switch
    sim.control("DELETE", "/faults")


def test_fault_settings_round_trip(sim: SimulatorProcess, faults: Any) -> None:
    current = faults(error_rate=0.25, rate_limit={"limit": 600, "window": 10})
    assert current["error_rate"] == 0.25
    assert current["rate_limit"] == {"enabled": True, "limit": 600, "window": 10, "block": 60.0}
    assert sim.control("DELETE", "/faults")["error_rate"] == 0.0
    response = httpx.put(f"{sim.url}/__sandbox__/faults", json={"no_such_fault": 1})
    assert response.status_code == 400


def test_client_rate_limit_blocks_and_the_block_extends(
    api: httpx.Client, sim: SimulatorProcess, faults: Any
) -> None:
    faults(rate_limit={"limit": 5, "window": 10, "block": 60})
    assert [api.get("/me").status_code for _ in range(5)] == [200] * 5
    limited = api.get("/me")
    assert limited.status_code == 429
    assert errors_of(limited)[0]["code"] == "TOO_MANY_REQUESTS"
    sim.control("POST", "/clock", {"advance": 50})
    assert api.get("/me").status_code == 429  # still calling: the block moves to now + 60 s
    sim.control("POST", "/clock", {"advance": 50})
    assert api.get("/me").status_code == 429  # 100 s after the first 429, but extended
    sim.control("POST", "/clock", {"advance": 61})
    assert api.get("/me").status_code == 200
    assert sim.control("GET", "/stats")["rateLimited"] == 3


def test_rate_limit_window_resets(api: httpx.Client, sim: SimulatorProcess, faults: Any) -> None:
    faults(rate_limit={"limit": 3, "window": 10, "block": 60})
    assert [api.get("/me").status_code for _ in range(3)] == [200] * 3
    sim.control("POST", "/clock", {"advance": 11})
    assert [api.get("/me").status_code for _ in range(3)] == [200] * 3


def test_rate_limit_is_per_client_id(sim: SimulatorProcess, faults: Any) -> None:
    faults(rate_limit={"limit": 2, "window": 60, "block": 60})
    with api_client(sim, sim.token("10000001")) as mine:
        assert [mine.get("/me").status_code for _ in range(3)] == [200, 200, 429]
    other = sim.control("POST", "/tokens", {"seller_id": "10000001", "client_id": "demo-client"})[
        "access_token"
    ]
    with api_client(sim, other) as theirs:
        assert theirs.get("/me").status_code == 200


def test_user_leaky_bucket(sim: SimulatorProcess, faults: Any) -> None:
    faults(
        rate_limit={"enabled": False}, user_bucket={"enabled": True, "rate": 0.001, "capacity": 3}
    )
    with api_client(sim, sim.token("10000001")) as first:
        assert [first.get("/me").status_code for _ in range(4)] == [200, 200, 200, 429]
    with api_client(sim, sim.token("10000002")) as second:
        assert second.get("/me").status_code == 200


def test_retry_after_is_whole_seconds_unless_a_test_scales_the_limit_below_one(
    sim: SimulatorProcess, faults: Any
) -> None:
    faults(rate_limit={"limit": 1, "window": 60, "block": 60})
    with api_client(sim, sim.token("10000001")) as mine:
        assert mine.get("/me").status_code == 200
        assert mine.get("/me").headers["Retry-After"] == "60"  # Allegro's: whole seconds
        faults(rate_limit={"block": 0.2})
        assert mine.get("/me").headers["Retry-After"] == "0.2"  # a scaled-down block
    faults(
        rate_limit={"enabled": False}, user_bucket={"enabled": True, "rate": 0.001, "capacity": 1}
    )
    with api_client(sim, sim.token("10000002")) as theirs:
        assert theirs.get("/me").status_code == 200
        assert theirs.get("/me").headers["Retry-After"] == "1"
        faults(user_bucket={"retry_after": 0.25})
        assert theirs.get("/me").headers["Retry-After"] == "0.25"


def test_random_server_errors(api: httpx.Client, faults: Any) -> None:
    faults(error_rate=1.0, error_statuses=[503])
    response = api.get("/me")
    assert response.status_code == 503
    assert errors_of(response)[0]["code"] == "INTERNAL_SERVER_ERROR"


def test_error_rate_is_a_rate(api: httpx.Client, faults: Any) -> None:
    faults(error_rate=0.5, seed=3)
    codes = [api.get("/me").status_code for _ in range(40)]
    assert 200 in codes
    assert any(c >= 500 for c in codes)


def test_faults_can_target_paths(api: httpx.Client, faults: Any) -> None:
    faults(error_rate=1.0, paths=["/order/"])
    assert api.get("/me").status_code == 200
    assert api.get("/order/carriers").status_code >= 500


def test_slow_responses(api: httpx.Client, faults: Any) -> None:
    faults(slow_rate=1.0, slow_seconds=3)
    with pytest.raises(httpx.ReadTimeout):
        api.get("/me", timeout=0.3)


def test_dropped_connections(api: httpx.Client, sim: SimulatorProcess, faults: Any) -> None:
    faults(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/me")
    assert sim.control("GET", "/health")["status"] == "ok"


def test_duplicated_events(api: httpx.Client, faults: Any) -> None:
    clean = api.get("/order/events", params={"limit": 10}).json()["events"]
    faults(duplicate_events_rate=1.0)
    doubled = api.get("/order/events", params={"limit": 10}).json()["events"]
    assert [e["id"] for e in doubled] == [e["id"] for e in clean for _ in range(2)]


def test_out_of_order_events(api: httpx.Client, faults: Any) -> None:
    clean = [e["id"] for e in api.get("/order/events", params={"limit": 4}).json()["events"]]
    faults(reorder_events_rate=1.0)
    shuffled = [e["id"] for e in api.get("/order/events", params={"limit": 4}).json()["events"]]
    assert shuffled == [clean[1], clean[0], clean[3], clean[2]]


def test_missing_ready_for_processing_event(
    api: httpx.Client, sim: SimulatorProcess, faults: Any
) -> None:
    faults(skip_ready_for_processing_rate=1.0)
    latest = api.get("/order/event-stats").json()["latestEvent"]["id"]
    order = sim.control("POST", "/sellers/10000001/purchases", {"pay": True})
    assert (
        api.get(f"/order/checkout-forms/{order['id']}").json()["status"] == "READY_FOR_PROCESSING"
    )
    types = [e["type"] for e in api.get("/order/events", params={"from": latest}).json()["events"]]
    assert "BOUGHT" in types
    assert "READY_FOR_PROCESSING" not in types


def test_shipment_error_flag_is_exposed(sim: SimulatorProcess, faults: Any) -> None:
    assert faults(shipment_error_rate=1.0)["shipment_error_rate"] == 1.0
    assert sim.control("GET", "/faults")["shipment_error_rate"] == 1.0


def test_token_endpoint_rotates_then_answers_503(sim: SimulatorProcess, faults: Any) -> None:
    pair = sim.control("POST", "/tokens", {"seller_id": "10000001", "client_id": TEST_CLIENT_ID})
    faults(token_rotate_then_503_rate=1.0)
    auth = (TEST_CLIENT_ID, TEST_CLIENT_SECRET)
    data = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    outage = httpx.post(f"{sim.auth_url}/token", data=data, auth=auth)
    assert outage.status_code == 503
    sim.control("DELETE", "/faults")
    retry = httpx.post(f"{sim.auth_url}/token", data=data, auth=auth)
    assert retry.status_code == 400
    assert retry.json()["error"] == "invalid_grant"


def test_control_plane_is_never_faulted(sim: SimulatorProcess, faults: Any) -> None:
    faults(error_rate=1.0, drop_rate=1.0, rate_limit={"limit": 1})
    assert all(sim.control("GET", "/health")["status"] == "ok" for _ in range(5))
