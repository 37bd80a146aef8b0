"""Access tokens: HS256 JWTs with Allegro's claims, and the checks every route runs."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import jwt
from starlette.requests import Request

from sandbox.http import ApiError, AuthFailure, RouteSpec
from sandbox.state import State


@dataclass(frozen=True)
class TokenClaims:
    client_id: str
    user_name: str | None
    authorities: tuple[str, ...]
    exp: int


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str | None
    expires_in: int
    scopes: tuple[str, ...]
    user_name: str | None


def issue_access_token(
    *, state: State, client_id: str, seller_id: str | None, scopes: tuple[str, ...]
) -> str:
    now = int(state.clock.now())
    claims: dict[str, object] = {
        "client_id": client_id,
        "authorities": list(scopes),
        "scope": list(scopes),
        "exp": now + state.config.access_ttl,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "iss": "allegro-sandbox-simulator",
    }
    if seller_id is not None:
        claims["user_name"] = seller_id
    return jwt.encode(claims, state.secret, algorithm="HS256")


def issue_pair(
    *, state: State, client_id: str, seller_id: str | None, scopes: tuple[str, ...]
) -> TokenPair:
    access = issue_access_token(
        state=state, client_id=client_id, seller_id=seller_id, scopes=scopes
    )
    refresh: str | None = None
    if seller_id is not None:
        refresh = secrets.token_urlsafe(48)
        state.store.execute(
            "INSERT INTO refresh_tokens (token, client_id, seller_id, scopes, expires_at) VALUES "
            "(?, ?, ?, ?, ?)",
            (
                refresh,
                client_id,
                seller_id,
                " ".join(scopes),
                state.clock.now() + state.config.refresh_ttl,
            ),
        )
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=state.config.access_ttl,
        scopes=scopes,
        user_name=seller_id,
    )


_verified: dict[tuple[str, str], TokenClaims] = {}


def verified_claims(*, state: State, token: str) -> TokenClaims:
    """Signature-checked claims, cached per token (PyJWT's checks cost ~0.5 ms a call)."""
    key = (state.secret, token)
    claims = _verified.get(key)
    if claims is not None:
        return claims
    try:
        raw = jwt.decode(
            token,
            state.secret,
            algorithms=["HS256"],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["exp", "client_id"],
            },
        )
    except jwt.PyJWTError as exc:
        raise AuthFailure("invalid_token", "Cannot convert access token to JSON") from exc
    claims = TokenClaims(
        client_id=str(raw["client_id"]),
        user_name=raw.get("user_name"),
        authorities=tuple(raw.get("authorities") or ()),
        exp=int(raw["exp"]),
    )
    if len(_verified) > 20_000:
        _verified.clear()
    _verified[key] = claims
    return claims


def decode_token(*, state: State, token: str) -> TokenClaims:
    """Verified claims of an unexpired token (expiry follows the simulated clock)."""
    claims = verified_claims(state=state, token=token)
    if claims.exp <= state.clock.now():
        raise AuthFailure("invalid_token", f"Access token expired: {token[:8]}...")
    return claims


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(*, state: State, request: Request, route: RouteSpec) -> TokenClaims | None:
    """Check the bearer token against the route's declaration.

    401 ``AuthError`` without a valid token, or with an app token on a user resource
    ("Empty user_name claim"); 403 ``ErrorsHolder`` when a required scope is missing.
    """
    if route.auth == "none":
        return None
    token = bearer(request)
    if token is None:
        raise AuthFailure("unauthorized", "Full authentication is required to access this resource")
    claims = decode_token(state=state, token=token)
    if route.auth == "user" and not claims.user_name:
        raise AuthFailure("unauthorized", "Empty user_name claim")
    if (
        claims.user_name
        and state.store.scalar("SELECT 1 FROM sellers WHERE id = ?", (claims.user_name,)) is None
    ):
        raise AuthFailure("invalid_token", "The user behind this token no longer exists")
    missing = [s for s in route.scopes if s not in claims.authorities]
    if missing:
        raise ApiError(
            403,
            "AccessDenied",
            f"Access is denied: the token lacks the scope {', '.join(missing)}",
        )
    return claims
