"""Transport against the simulator: error mapping, bounded retries, 429 pause, 401 refresh."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from allegro import errors
from allegro.api import me, offers, orders
from allegro.client import AllegroClient
from allegro.governor import GovernorLimits, RateGovernor
from allegro.transport import BETA, RetryPolicy, StaticTokenSource, build_http_client
from sandbox.testing import SimulatorProcess
from tests.allegro.conftest import RecordingGovernor, Sleeps, faults, stats
from tests.plugins.simulator import OTHER_SELLER_ID, SELLER_ID

pytestmark = pytest.mark.sandbox


def requests_to(sim: SimulatorProcess, key: str) -> int:
    return int(stats(sim)["paths"].get(key, 0))


def first_order(client: AllegroClient) -> orders.CheckoutForm:
    return orders.list_checkout_forms(client, limit=1).checkout_forms[0]


# --- error mapping ----------------------------------------------------------------------------


def test_403_missing_scope(make_client: Callable[..., AllegroClient]) -> None:
    client = make_client(scopes=["allegro:api:profile:read"])
    with pytest.raises(errors.Forbidden) as caught:
        offers.list_offers(client)
    assert caught.value.status == 403
    assert caught.value.errors


def test_404_carries_the_error_path(seller_client: AllegroClient, sim: SimulatorProcess) -> None:
    with pytest.raises(errors.NotFound) as caught:
        offers.get_product_offer(seller_client, offer_id="999999999")
    assert caught.value.errors[0].path == "offerId"
    assert requests_to(sim, "GET /sale/product-offers/{offerId}") == 1  # permanent: no retry


def test_406_wrong_accept(seller_client: AllegroClient) -> None:
    with pytest.raises(errors.NotAcceptable) as caught:
        seller_client.get("/me", media=BETA)
    assert caught.value.errors[0].code == "NotAcceptableException"


def test_409_stale_revision_and_422_with_path(seller_client: AllegroClient) -> None:
    order = first_order(seller_client)
    with pytest.raises(errors.Conflict) as conflict:
        orders.set_fulfillment_status(
            seller_client, checkout_form_id=order.id, status="PROCESSING", revision="stale"
        )
    assert conflict.value.errors[0].path == "checkoutForm.revision"
    with pytest.raises(errors.ValidationFailed) as invalid:
        orders.set_fulfillment_status(
            seller_client, checkout_form_id=order.id, status="RETURNED", revision=order.revision
        )
    error = invalid.value.errors[0]
    assert (error.path, error.code) == ("status", "ILLEGAL_STATUS")
    assert error.user_message
    assert invalid.value.user_message == error.user_message
    done = orders.set_fulfillment_status(
        seller_client, checkout_form_id=order.id, status="PROCESSING", revision=order.revision
    )
    assert isinstance(done, orders.Done)
    assert (
        orders.get_checkout_form(seller_client, checkout_form_id=order.id).fulfillment_status
        == "PROCESSING"
    )


def test_401_garbage_token(make_client: Callable[..., AllegroClient]) -> None:
    with pytest.raises(errors.Unauthorized) as caught:
        me.get_me(make_client(token="not-a-jwt"))
    assert caught.value.error  # AuthError.error
    assert "not-a-jwt" not in str(caught.value)


# --- 401 with an expired token: one refresh, one retry ------------------------------------------


@dataclass
class RotatingSource:
    tokens: list[str] = field(repr=False)
    invalidated: list[str] = field(default_factory=list, repr=False)

    def get_access_token(self) -> str:
        return self.tokens[0]

    def invalidate(self, token: str) -> None:
        self.invalidated.append(token)
        if len(self.tokens) > 1 and self.tokens[0] == token:
            self.tokens.pop(0)


def test_expired_token_is_replaced_once(
    sim: SimulatorProcess, make_client: Callable[..., AllegroClient]
) -> None:
    expired = sim.token(SELLER_ID)
    sim.control("POST", "/clock", {"advance": 43200 + 60})
    fresh = sim.token(SELLER_ID)
    source = RotatingSource(tokens=[expired, fresh])
    assert me.get_me(make_client(token_source=source)).id == SELLER_ID
    assert source.invalidated == [expired]
    assert stats(sim)["statuses"] == {"401": 1, "200": 1}


def test_a_source_without_a_fresh_token_gives_unauthorized_after_one_try(
    sim: SimulatorProcess, make_client: Callable[..., AllegroClient]
) -> None:
    expired = sim.token(SELLER_ID)
    sim.control("POST", "/clock", {"advance": 43200 + 60})
    source = RotatingSource(tokens=[expired])
    with pytest.raises(errors.Unauthorized):
        me.get_me(make_client(token_source=source))
    assert source.invalidated == [expired]
    assert requests_to(sim, "GET /me") == 1


# --- bounded retries for transient errors only ----------------------------------------------


def test_5xx_is_retried_with_backoff_then_raised(
    sim: SimulatorProcess, seller_client: AllegroClient, sleeps: Sleeps
) -> None:
    faults(sim, error_rate=1.0, error_statuses=[503], paths=["/me"])
    with pytest.raises(errors.ServerError) as caught:
        me.get_me(seller_client)
    assert caught.value.status == 503
    assert requests_to(sim, "GET /me") == 4
    # base 0.5 s doubling, random() = 0.5 → three quarters of each ceiling
    assert sleeps.calls == [0.375, 0.75, 1.5]


def test_intermittent_5xx_recovers(
    sim: SimulatorProcess, make_client: Callable[..., AllegroClient], sleeps: Sleeps
) -> None:
    faults(sim, error_rate=0.5, paths=["/me"], seed=7)
    client = make_client(retry=RetryPolicy(max_attempts=10, sleep=sleeps))
    for _ in range(10):
        assert me.get_me(client).id == SELLER_ID
    statuses = stats(sim)["statuses"]
    assert statuses["200"] == 10
    assert sum(v for k, v in statuses.items() if k.startswith("5")) >= 1
    assert len(sleeps.calls) == sum(v for k, v in statuses.items() if k.startswith("5"))


def test_dropped_connections_are_retried_for_reads(
    sim: SimulatorProcess, seller_client: AllegroClient
) -> None:
    faults(sim, drop_rate=1.0, paths=["/me"])
    with pytest.raises(errors.ConnectionDropped):
        me.get_me(seller_client)
    assert stats(sim)["paths"]["__dropped__"] == 4


def test_a_dropped_post_is_not_repeated(
    sim: SimulatorProcess, seller_client: AllegroClient
) -> None:
    order = first_order(seller_client)
    faults(sim, drop_rate=1.0, paths=["/order/checkout-forms"])
    with pytest.raises(errors.ConnectionDropped):
        orders.add_tracking_number(
            seller_client, checkout_form_id=order.id, carrier_id="INPOST", waybill="X1"
        )
    assert stats(sim)["paths"]["__dropped__"] == 1


def test_timeouts_are_transient(
    sim: SimulatorProcess, seller_client: AllegroClient, sleeps: Sleeps
) -> None:
    faults(sim, slow_rate=1.0, slow_seconds=1.0, paths=["/me"])
    with build_http_client(timeout=0.2) as impatient:
        client = AllegroClient(
            sim.url,
            StaticTokenSource(sim.token(SELLER_ID)),
            http=impatient,
            retry=RetryPolicy(max_attempts=2, sleep=sleeps),
        )
        with pytest.raises(errors.Timeout):
            me.get_me(client)
    assert len(sleeps.calls) == 1


# --- 429: pause everyone, send nothing during the block ---------------------------------------

# A fifth of a second (the simulator then sends ``Retry-After: 0.2``; Allegro's shortest is 1 s):
# the governor's pause starts when the 429 is back, after the simulator's block began, so a call
# sent during the pause would meet the block and be a second 429 whatever the block's length.
BLOCK = 0.2


class PauseRecorder(RecordingGovernor):
    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.pauses: list[float] = []

    def pause(self, seconds: float | None = None) -> float:
        until = self.inner.pause(seconds)
        self.pauses.append(until)
        return until


@pytest.fixture
def redis_governor(redis_client: Any) -> RateGovernor:
    gov = RateGovernor(
        redis_client,
        client_id=f"429-test-{uuid.uuid4().hex[:8]}",
        limits=GovernorLimits(limit=9000, window=60, concurrency=8, max_poll=0.05),
    )
    gov.reset()
    return gov


@pytest.mark.slow
def test_429_pauses_the_governor_and_nothing_is_sent_during_the_block(
    sim: SimulatorProcess,
    make_client: Callable[..., AllegroClient],
    redis_governor: RateGovernor,
) -> None:
    faults(sim, rate_limit={"limit": 3, "window": 60, "block": BLOCK})
    governor = PauseRecorder(redis_governor)
    client = make_client(governor=governor)
    for _ in range(4):
        assert me.get_me(client).id == SELLER_ID
    data = stats(sim)
    assert data["rateLimited"] == 1  # a call during the block would have been a 2nd 429
    assert data["statuses"] == {"200": 4, "429": 1}
    assert len(governor.pauses) == 1
    assert governor.leases[-1].granted_at >= governor.pauses[0]


@pytest.mark.slow
def test_429_from_one_account_holds_back_every_thread(
    sim: SimulatorProcess,
    make_client: Callable[..., AllegroClient],
    redis_governor: RateGovernor,
) -> None:
    faults(sim, rate_limit={"limit": 10, "window": 60, "block": BLOCK})
    governor = PauseRecorder(redis_governor)
    clients = [make_client(seller=s, governor=governor) for s in (SELLER_ID, OTHER_SELLER_ID)]
    failures: list[BaseException] = []

    def work(client: AllegroClient) -> None:
        try:
            for _ in range(4):
                me.get_me(client)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    data = stats(sim)
    assert data["statuses"]["200"] == 16
    # Only requests already on the wire when the first 429 came back can meet the block.
    assert 1 <= data["rateLimited"] <= len(threads)
    after_block = [lease for lease in governor.leases if lease.granted_at >= governor.pauses[0]]
    assert len(after_block) >= 16 - 10


def test_without_a_pausing_governor_the_transport_waits_out_retry_after(
    sim: SimulatorProcess, seller_client: AllegroClient, sleeps: Sleeps
) -> None:
    faults(sim, rate_limit={"limit": 1, "window": 60, "block": 1})
    me.get_me(seller_client)
    with pytest.raises(errors.RateLimited) as caught:
        me.get_me(seller_client)  # sleeps are recorded, not waited: the block keeps extending
    assert caught.value.retry_after == 1
    assert sleeps.calls == [1.0, 1.0, 1.0]


# --- trace ids ------------------------------------------------------------------------------


def test_trace_id_is_read_from_the_response_headers() -> None:
    from allegro.transport import error_for, trace_id_of

    assert trace_id_of(httpx.Headers({"Trace-Id": "abc"})) == "abc"
    assert trace_id_of(httpx.Headers({"trace-id": "lower"})) == "lower"
    assert trace_id_of(httpx.Headers({"X-Request-Id": "req"})) == "req"
    assert trace_id_of(httpx.Headers({})) is None
    error = error_for(
        422,
        httpx.Headers({"Trace-Id": "t-1"}),
        b'{"errors":[{"code":"VALIDATION_ERROR","message":"m","userMessage":"u","path":"name"}]}',
    )
    assert isinstance(error, errors.ValidationFailed)
    assert (error.trace_id, error.errors[0].path, error.user_message) == ("t-1", "name", "u")
    limited = error_for(429, httpx.Headers({"Retry-After": "7"}), b"")
    assert isinstance(limited, errors.RateLimited)
    assert limited.retry_after == 7
    assert error_for(429, httpx.Headers({}), b"").retry_after == 60  # type: ignore[attr-defined]


def test_results_and_errors_carry_the_trace_id(seller_client: AllegroClient) -> None:
    result = me.get_me(seller_client)
    assert result.trace_id
    with pytest.raises(errors.NotFound) as caught:
        offers.get_product_offer(seller_client, offer_id="999999999")
    assert caught.value.trace_id
    assert caught.value.trace_id != result.trace_id


def test_a_429_carries_the_trace_id_too(
    sim: SimulatorProcess, seller_client: AllegroClient, sleeps: Sleeps
) -> None:
    faults(sim, rate_limit={"limit": 1, "window": 60, "block": 1})
    me.get_me(seller_client)
    with pytest.raises(errors.RateLimited) as caught:
        me.get_me(seller_client)
    assert caught.value.trace_id


def test_http_client_is_shared_per_process() -> None:
    from allegro.transport import shared_http_client

    assert shared_http_client() is shared_http_client()
    assert isinstance(shared_http_client(), httpx.Client)


def test_clients_share_one_tls_context_that_verifies_certificates() -> None:
    import ssl

    from allegro.transport import tls_context

    context = tls_context()
    assert tls_context() is context
    # Sharing the context must not loosen it: Allegro's certificate and host name are checked.
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.cert_store_stats()["x509_ca"] > 0
    with build_http_client() as http:
        assert http._transport._pool._ssl_context is context  # type: ignore[attr-defined]
