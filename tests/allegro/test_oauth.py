"""OAuth against the simulator: authorization code + PKCE, refresh rotation, client credentials."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest

from allegro import errors
from allegro.api.me import get_me
from allegro.client import AllegroClient
from allegro.config import SCOPES
from allegro.oauth import InvalidGrant, OAuthClient, OAuthError, new_pkce, new_state, pkce_challenge
from sandbox.testing import SimulatorProcess
from tests.allegro.conftest import faults, stats
from tests.plugins.simulator import SELLER_ID

pytestmark = pytest.mark.sandbox
HIDDEN = re.compile(r"<input type='hidden' name='([^']*)' value='([^']*)'>")


def consent(
    sim: SimulatorProcess, url: str, *, seller: str = SELLER_ID, decision: str = "approve"
) -> dict[str, str]:
    """Play the seller in a browser: open the consent page, submit it, read the redirect."""
    with httpx.Client(timeout=30) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        form = {html.unescape(k): html.unescape(v) for k, v in HIDDEN.findall(page.text)}
        form.update({"decision": decision, "seller_id": seller})
        answer = browser.post(f"{sim.auth_url}/authorize", data=form)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == sim.redirect_uri
    return dict(parse_qsl(location.query))


def test_pkce_challenge_is_s256_of_the_verifier() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    pair = new_pkce()
    assert 43 <= len(pair.verifier) <= 128
    assert pair.challenge == pkce_challenge(pair.verifier)
    assert pair.verifier not in repr(pair)
    assert new_state() != new_state()


def test_authorization_url_asks_for_the_product_scopes(oauth: OAuthClient) -> None:
    url = oauth.authorization_url(state="s1", code_challenge="c1")
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"]
    assert query["scope"] == [" ".join(SCOPES)]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [oauth.redirect_uri]
    assert query["state"] == ["s1"]


def test_code_flow_with_pkce_links_the_seller(
    sim: SimulatorProcess, oauth: OAuthClient, make_client: Callable[..., AllegroClient]
) -> None:
    pkce, state = new_pkce(), new_state()
    redirect = consent(sim, oauth.authorization_url(state=state, code_challenge=pkce.challenge))
    assert redirect["state"] == state
    before = datetime.now(UTC)
    pair = oauth.exchange_code(code=redirect["code"], code_verifier=pkce.verifier)
    assert pair.refresh_token
    assert set(SCOPES) <= set(pair.scopes)
    assert before + timedelta(hours=11) < pair.expires_at <= datetime.now(UTC) + timedelta(hours=12)
    assert pair.access_token not in repr(pair)
    me = get_me(make_client(token=pair.access_token))
    assert me.id == SELLER_ID
    assert me.login


def test_denied_consent_returns_an_error_and_no_code(
    sim: SimulatorProcess, oauth: OAuthClient
) -> None:
    pkce = new_pkce()
    redirect = consent(
        sim, oauth.authorization_url(state="st", code_challenge=pkce.challenge), decision="deny"
    )
    assert redirect == {"error": "access_denied", "state": "st"}


def test_pkce_mismatch_and_replayed_code_are_invalid_grant(
    sim: SimulatorProcess, oauth: OAuthClient
) -> None:
    pkce = new_pkce()
    redirect = consent(sim, oauth.authorization_url(state="s", code_challenge=pkce.challenge))
    with pytest.raises(InvalidGrant, match="PKCE"):
        oauth.exchange_code(code=redirect["code"], code_verifier=new_pkce().verifier)
    # The code was consumed by the failed attempt: the right verifier is too late now.
    with pytest.raises(InvalidGrant):
        oauth.exchange_code(code=redirect["code"], code_verifier=pkce.verifier)


def test_expired_code_is_invalid_grant(sim: SimulatorProcess, oauth: OAuthClient) -> None:
    pkce = new_pkce()
    redirect = consent(sim, oauth.authorization_url(state="s", code_challenge=pkce.challenge))
    sim.control("POST", "/clock", {"advance": 11})  # codes live 10 s
    with pytest.raises(InvalidGrant, match="expired"):
        oauth.exchange_code(code=redirect["code"], code_verifier=pkce.verifier)


def test_refresh_rotates_and_the_old_refresh_token_is_single_use(
    sim: SimulatorProcess, oauth: OAuthClient, make_client: Callable[..., AllegroClient]
) -> None:
    pkce = new_pkce()
    redirect = consent(sim, oauth.authorization_url(state="s", code_challenge=pkce.challenge))
    first = oauth.exchange_code(code=redirect["code"], code_verifier=pkce.verifier)
    assert first.refresh_token is not None
    second = oauth.refresh(refresh_token=first.refresh_token)
    assert second.refresh_token not in (None, first.refresh_token)
    assert second.access_token != first.access_token
    assert get_me(make_client(token=second.access_token)).id == SELLER_ID
    with pytest.raises(InvalidGrant):
        oauth.refresh(refresh_token=first.refresh_token)
    assert stats(sim)["tokenGrants"]["refresh_token"] == 2


def test_rotate_then_503_is_transient_and_leaves_the_old_token_spent(
    sim: SimulatorProcess, oauth: OAuthClient
) -> None:
    refresh_token = sim.control("POST", "/tokens", {"seller_id": SELLER_ID})["refresh_token"]
    faults(sim, token_rotate_then_503_rate=1.0)
    with pytest.raises(errors.ServerError):
        oauth.refresh(refresh_token=refresh_token)
    faults(sim, token_rotate_then_503_rate=0.0)
    # Why the client never retries a refresh by itself: the token was already rotated.
    with pytest.raises(InvalidGrant):
        oauth.refresh(refresh_token=refresh_token)


def test_wrong_client_secret_is_a_permanent_oauth_error(
    sim: SimulatorProcess, http: httpx.Client
) -> None:
    bad = OAuthClient(
        auth_url=sim.auth_url, client_id=sim.client_id, client_secret="wrong", http=http
    )
    with pytest.raises(OAuthError) as caught:
        bad.client_credentials()
    assert not isinstance(caught.value, InvalidGrant)
    assert caught.value.status == 401
    assert "wrong" not in repr(bad)


def test_client_credentials_token_has_no_user_context(
    oauth: OAuthClient, make_client: Callable[..., AllegroClient]
) -> None:
    app = oauth.client_credentials()
    assert app.refresh_token is None
    with pytest.raises(errors.Unauthorized) as caught:
        get_me(make_client(token=app.access_token))
    assert caught.value.status == 401


def test_unreachable_token_endpoint_is_transient(http: httpx.Client) -> None:
    from sandbox.testing import free_port

    dead = OAuthClient(
        auth_url=f"http://127.0.0.1:{free_port()}/auth/oauth",
        client_id="x",
        client_secret="y",
        http=http,
    )
    with pytest.raises(errors.ConnectionDropped):
        dead.refresh(refresh_token="r")


def test_tokens_never_reach_the_logs(
    sim: SimulatorProcess,
    oauth: OAuthClient,
    make_client: Callable[..., AllegroClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    pkce = new_pkce()
    redirect = consent(sim, oauth.authorization_url(state="s", code_challenge=pkce.challenge))
    first = oauth.exchange_code(code=redirect["code"], code_verifier=pkce.verifier)
    assert first.refresh_token is not None
    second = oauth.refresh(refresh_token=first.refresh_token)
    client = make_client(token=second.access_token)
    get_me(client)
    with pytest.raises(InvalidGrant):
        oauth.refresh(refresh_token=first.refresh_token)
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert caplog.records  # the flow did log
    for secret in (first.access_token, first.refresh_token, second.access_token):
        assert secret not in logged
    assert second.refresh_token is not None
    assert second.refresh_token not in logged
    assert sim.client_secret not in logged
    assert pkce.verifier not in logged
