"""Allegro's OAuth server under ``/auth/oauth/``: consent page, token endpoint, device flow."""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox.auth import TokenPair, issue_access_token, issue_pair
from sandbox.config import ClientApp
from sandbox.state import State

ALL_SCOPES = tuple(
    f"allegro:api:{s}"
    for s in (
        "profile:read",
        "profile:write",
        "sale:offers:read",
        "sale:offers:write",
        "sale:settings:read",
        "sale:settings:write",
        "orders:read",
        "orders:write",
        "shipments:read",
        "shipments:write",
        "fulfillment:read",
        "fulfillment:write",
        "disputes",
        "ratings",
        "messaging",
        "billing:read",
        "payments:read",
        "payments:write",
        "campaigns",
        "bids",
        "affiliate:read",
    )
)
CHECKED = " checked"
PAGE_STYLE = (
    "body{font-family:sans-serif;max-width:40rem;margin:2rem auto}"
    "button{padding:.5rem 1rem;margin-right:1rem}"
)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


async def form_data(request: Request) -> dict[str, str]:
    """The urlencoded body (parsed here: no python-multipart dependency)."""
    raw = await request.body()
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def sim(request: Request) -> State:
    state: State = request.app.state.sim
    return state


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def error_page(message: str, status: int = 400) -> HTMLResponse:
    body = (
        "<!doctype html><html lang='en'><head><title>Allegro simulator: error</title></head>"
        f"<body><h1>Error</h1><p>{html.escape(message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status)


def parse_scopes(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ALL_SCOPES
    return tuple(dict.fromkeys(s for s in raw.replace(",", " ").split() if s))


def redirect_with(uri: str, params: dict[str, str | None]) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    sep = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{sep}{query}", status_code=302)


def basic_client(state: State, request: Request) -> ClientApp | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    client = state.config.clients.get(client_id)
    if client is None or not secrets.compare_digest(client.secret, secret):
        return None
    return client


def consent_page(
    state: State, fields: dict[str, str], scopes: tuple[str, ...], client_id: str
) -> HTMLResponse:
    sellers = state.store.all("SELECT id, login FROM sellers ORDER BY login")
    options = "".join(
        f"<li><label><input type='radio' name='seller_id' value='{html.escape(sid)}'"
        f"{CHECKED if i == 0 else ''}> "
        f"{html.escape(login)} <small>({html.escape(sid)})</small></label></li>"
        for i, (sid, login) in enumerate(sellers)
    )
    hidden = "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in fields.items()
        if v is not None
    )
    scope_items = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in scopes)
    if not sellers:
        options = (
            "<li>No sellers yet: run <code>python -m sandbox seed</code>. / Brak sprzedawców.</li>"
        )
    body = f"""<!doctype html>
<html lang="pl"><head><meta charset="utf-8"><title>Allegro simulator: zgoda / consent</title>
<style>{PAGE_STYLE}</style>
</head><body>
<h1>Allegro simulator</h1>
<p>Aplikacja <strong>{html.escape(client_id)}</strong> prosi o dostęp do konta. /
The application <strong>{html.escape(client_id)}</strong> asks for access to an account.</p>
<form method="post" action="/auth/oauth/authorize">
{hidden}
<fieldset><legend>Sprzedawca / Seller</legend><ul>{options}</ul></fieldset>
<details><summary>Uprawnienia / Scopes ({len(scopes)})</summary><ul>{scope_items}</ul></details>
<p><button type="submit" name="decision" value="approve">Zezwól / Approve</button>
<button type="submit" name="decision" value="deny">Odmów / Deny</button></p>
</form></body></html>"""
    return HTMLResponse(body)


AUTH_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "user_code",
)


async def authorize_page(request: Request) -> Response:
    state = sim(request)
    params = request.query_params
    client = state.config.clients.get(params.get("client_id", ""))
    if client is None:
        return error_page("Unknown client_id.")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        return error_page("redirect_uri does not match a URI registered for this client.")
    if params.get("response_type") != "code":
        return redirect_with(
            redirect_uri, {"error": "unsupported_response_type", "state": params.get("state")}
        )
    method = params.get("code_challenge_method")
    if params.get("code_challenge") and method not in (None, "S256"):
        return redirect_with(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "Only S256 is supported",
                "state": params.get("state"),
            },
        )
    fields = {k: params[k] for k in AUTH_FIELDS if k in params}
    return consent_page(state, fields, parse_scopes(params.get("scope")), client.client_id)


async def authorize_submit(request: Request) -> Response:
    state = sim(request)
    data = await form_data(request)
    if data.get("user_code"):
        return device_decision(state, data)
    client = state.config.clients.get(data.get("client_id", ""))
    if client is None:
        return error_page("Unknown client_id.")
    redirect_uri = data.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        return error_page("redirect_uri does not match a URI registered for this client.")
    if data.get("decision") != "approve":
        return redirect_with(redirect_uri, {"error": "access_denied", "state": data.get("state")})
    seller_id = data.get("seller_id", "")
    if state.store.scalar("SELECT 1 FROM sellers WHERE id = ?", (seller_id,)) is None:
        return error_page("Choose a seller.")
    code = secrets.token_urlsafe(24)
    state.store.execute(
        "INSERT INTO oauth_codes (code, client_id, seller_id, scopes, redirect_uri, challenge, "
        "challenge_method, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            code,
            client.client_id,
            seller_id,
            " ".join(parse_scopes(data.get("scope"))),
            redirect_uri,
            data.get("code_challenge") or None,
            data.get("code_challenge_method") or ("S256" if data.get("code_challenge") else None),
            state.clock.now() + state.config.code_ttl,
        ),
    )
    return redirect_with(redirect_uri, {"code": code, "state": data.get("state")})


def token_body(pair: TokenPair) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": pair.access_token,
        "token_type": "bearer",
        "expires_in": pair.expires_in,
        "scope": " ".join(pair.scopes),
        "allegro_api": True,
        "jti": secrets.token_hex(8),
    }
    if pair.refresh_token:
        body["refresh_token"] = pair.refresh_token
    return body


def pkce_ok(challenge: str, verifier: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return secrets.compare_digest(computed, challenge)


async def token(request: Request) -> Response:
    state = sim(request)
    params: dict[str, str] = {**(await form_data(request)), **dict(request.query_params)}
    grant = params.get("grant_type", "")
    state.stats.token_grants[grant or "<none>"] += 1
    client = basic_client(state, request)
    if client is None:
        return oauth_error(
            "unauthorized", "Full authentication is required to access this resource", 401
        )
    if grant == "authorization_code":
        return grant_code(state, client, params)
    if grant == "refresh_token":
        return grant_refresh(state, client, params)
    if grant == "client_credentials":
        access = issue_access_token(
            state=state, client_id=client.client_id, seller_id=None, scopes=ALL_SCOPES
        )
        pair = TokenPair(
            access_token=access,
            refresh_token=None,
            expires_in=state.config.access_ttl,
            scopes=ALL_SCOPES,
            user_name=None,
        )
        return JSONResponse(token_body(pair))
    if grant == DEVICE_GRANT:
        return grant_device(state, client, params)
    return oauth_error("unsupported_grant_type", f"Unsupported grant type: {grant}")


def grant_code(state: State, client: ClientApp, params: dict[str, str]) -> Response:
    code = params.get("code")
    if not code:
        return oauth_error("invalid_request", "An authorization code must be supplied.")
    with state.store.tx() as conn:
        row = conn.execute(
            "SELECT client_id, seller_id, scopes, redirect_uri, challenge, expires_at, used FROM "
            "oauth_codes WHERE code = ?",
            (code,),
        ).fetchone()
        if row is not None:
            conn.execute("UPDATE oauth_codes SET used = 1 WHERE code = ?", (code,))
    if row is None or row[6]:
        return oauth_error("invalid_grant", f"Invalid authorization code: {code[:6]}...")
    client_id, seller_id, scopes, redirect_uri, challenge, expires_at, _ = row
    if client_id != client.client_id:
        return oauth_error("invalid_grant", "The authorization code was issued to another client")
    if expires_at <= state.clock.now():
        return oauth_error("invalid_grant", "The authorization code has expired")
    if params.get("redirect_uri") != redirect_uri:
        return oauth_error("invalid_grant", "Redirect URI mismatch.")
    if challenge:
        verifier = params.get("code_verifier")
        if not verifier or not pkce_ok(challenge, verifier):
            return oauth_error("invalid_grant", "PKCE verification failed: invalid code_verifier")
    pair = issue_pair(
        state=state, client_id=client.client_id, seller_id=seller_id, scopes=tuple(scopes.split())
    )
    return JSONResponse(token_body(pair))


def grant_refresh(state: State, client: ClientApp, params: dict[str, str]) -> Response:
    old = params.get("refresh_token", "")
    with state.store.tx() as conn:
        row = conn.execute(
            "SELECT client_id, seller_id, scopes, expires_at, used FROM refresh_tokens WHERE "
            "token = ?",
            (old,),
        ).fetchone()
        if row is not None:
            conn.execute("UPDATE refresh_tokens SET used = 1 WHERE token = ?", (old,))
    if row is None or row[4] or row[0] != client.client_id:
        return oauth_error("invalid_grant", "Invalid refresh token")
    if row[3] <= state.clock.now():
        return oauth_error("invalid_grant", "Refresh token expired")
    pair = issue_pair(
        state=state, client_id=client.client_id, seller_id=row[1], scopes=tuple(row[2].split())
    )
    if state.faults.roll(state.faults.token_rotate_then_503_rate):
        return JSONResponse(
            {"error": "server_error", "error_description": "Simulated outage"}, status_code=503
        )
    return JSONResponse(token_body(pair))


async def device(request: Request) -> Response:
    state = sim(request)
    client = basic_client(state, request)
    if client is None:
        return oauth_error(
            "unauthorized", "Full authentication is required to access this resource", 401
        )
    params = {**(await form_data(request)), **dict(request.query_params)}
    device_code = secrets.token_urlsafe(24)
    user_code = secrets.token_hex(4).upper()
    state.store.execute(
        "INSERT INTO device_codes (device_code, user_code, client_id, scopes, expires_at) VALUES "
        "(?, ?, ?, ?, ?)",
        (
            device_code,
            user_code,
            client.client_id,
            " ".join(parse_scopes(params.get("scope"))),
            state.clock.now() + state.config.device_code_ttl,
        ),
    )
    verify = f"{request.base_url}auth/oauth/device/verify"
    return JSONResponse(
        {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verify,
            "verification_uri_complete": f"{verify}?user_code={user_code}",
            "expires_in": state.config.device_code_ttl,
            "interval": 1,
        }
    )


async def device_verify(request: Request) -> Response:
    state = sim(request)
    user_code = request.query_params.get("user_code", "")
    row = state.store.one(
        "SELECT client_id, scopes FROM device_codes WHERE user_code = ?", (user_code,)
    )
    if row is None:
        return error_page("Unknown user_code.", 404)
    return consent_page(state, {"user_code": user_code}, tuple(row[1].split()), row[0])


def device_decision(state: State, data: dict[str, str]) -> Response:
    user_code = data["user_code"]
    if data.get("decision") == "approve":
        seller_id = data.get("seller_id", "")
        if state.store.scalar("SELECT 1 FROM sellers WHERE id = ?", (seller_id,)) is None:
            return error_page("Choose a seller.")
        state.store.execute(
            "UPDATE device_codes SET seller_id = ? WHERE user_code = ?", (seller_id, user_code)
        )
    else:
        state.store.execute("UPDATE device_codes SET denied = 1 WHERE user_code = ?", (user_code,))
    return HTMLResponse("<!doctype html><html><body><p>Gotowe. / Done.</p></body></html>")


def grant_device(state: State, client: ClientApp, params: dict[str, str]) -> Response:
    code = params.get("device_code", "")
    row = state.store.one(
        "SELECT client_id, scopes, seller_id, denied, used, expires_at FROM device_codes WHERE "
        "device_code = ?",
        (code,),
    )
    if row is None or row[0] != client.client_id or row[4]:
        return oauth_error("invalid_grant", "Invalid device code")
    if row[5] <= state.clock.now():
        return oauth_error("expired_token", "The device code has expired")
    if row[3]:
        return oauth_error("access_denied", "The user denied access")
    if row[2] is None:
        return oauth_error("authorization_pending", "The user has not confirmed yet")
    state.store.execute("UPDATE device_codes SET used = 1 WHERE device_code = ?", (code,))
    pair = issue_pair(
        state=state, client_id=client.client_id, seller_id=row[2], scopes=tuple(row[1].split())
    )
    return JSONResponse(token_body(pair))


routes = [
    Route("/auth/oauth/authorize", authorize_page, methods=["GET"]),
    Route("/auth/oauth/authorize", authorize_submit, methods=["POST"]),
    Route("/auth/oauth/token", token, methods=["POST"]),
    Route("/auth/oauth/device", device, methods=["POST"]),
    Route("/auth/oauth/device/verify", device_verify, methods=["GET"]),
]
