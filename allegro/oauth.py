"""OAuth 2 against Allegro: authorization code + PKCE (S256), refresh, client credentials.

The token endpoint is never retried here: Allegro's refresh tokens are single-use, so a refresh
whose answer was lost may already have rotated the pair. The caller (the Django token store,
under a row lock) decides what a transient failure means.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from allegro import errors
from allegro.config import SCOPES
from allegro.transport import JSON, parse_retry_after, shared_http_client, trace_id_of

logger = logging.getLogger(__name__)


class OAuthError(errors.PermanentError):
    """The token endpoint refused the request (bad client credentials, malformed request)."""

    def __init__(self, message: str = "", *, error: str = "", **kwargs: Any) -> None:
        super().__init__(message or error, **kwargs)
        self.error = error


class InvalidGrant(OAuthError):
    """``invalid_grant``: the code or refresh token is unknown, used, expired or mismatched.

    For a refresh this means the account must be re-authorised by its owner.
    """


@dataclass(frozen=True, kw_only=True)
class TokenPair:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime
    scopes: tuple[str, ...]
    token_type: str = "bearer"
    trace_id: str | None = None

    def expires_within(self, seconds: float, *, now: datetime | None = None) -> bool:
        return self.expires_at - timedelta(seconds=seconds) <= (now or datetime.now(UTC))


@dataclass(frozen=True, kw_only=True)
class PkcePair:
    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def new_pkce() -> PkcePair:
    """A fresh code verifier (86 characters of ``[A-Za-z0-9_-]``) and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    return PkcePair(verifier=verifier, challenge=pkce_challenge(verifier))


def new_state() -> str:
    return secrets.token_urlsafe(32)


class OAuthClient:
    def __init__(
        self,
        *,
        auth_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str = "",
        http: httpx.Client | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.auth_url = auth_url.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.redirect_uri = redirect_uri
        self.http = http or shared_http_client()
        self._clock = clock

    def __repr__(self) -> str:
        return f"OAuthClient(auth_url={self.auth_url!r}, client_id={self.client_id!r})"

    def authorization_url(
        self,
        *,
        state: str,
        code_challenge: str,
        scopes: Sequence[str] = SCOPES,
        redirect_uri: str | None = None,
        prompt: str | None = None,
    ) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri or self.redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if prompt:
            params["prompt"] = prompt
        return f"{self.auth_url}/authorize?{urlencode(params)}"

    def exchange_code(
        self, *, code: str, code_verifier: str, redirect_uri: str | None = None
    ) -> TokenPair:
        return self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri or self.redirect_uri,
                "code_verifier": code_verifier,
            }
        )

    def refresh(self, *, refresh_token: str, redirect_uri: str | None = None) -> TokenPair:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if redirect_uri or self.redirect_uri:
            data["redirect_uri"] = redirect_uri or self.redirect_uri
        return self._token(data)

    def client_credentials(self) -> TokenPair:
        return self._token({"grant_type": "client_credentials"})

    def _token(self, data: dict[str, str]) -> TokenPair:
        grant = data["grant_type"]
        try:
            response = self.http.post(
                f"{self.auth_url}/token",
                data=data,
                auth=(self.client_id, self._secret),
                headers={"Accept": JSON},
            )
        except httpx.TimeoutException as exc:
            raise errors.Timeout(f"token endpoint timed out ({grant})") from exc
        except httpx.TransportError as exc:
            raise errors.ConnectionDropped(f"token endpoint unreachable ({grant})") from exc
        trace_id = trace_id_of(response.headers)
        logger.info("allegro oauth %s -> %s (trace %s)", grant, response.status_code, trace_id)
        payload = _json_object(response)
        if response.status_code == 200 and payload.get("access_token"):
            return self._pair(payload, trace_id=trace_id)
        raise _token_error(response.status_code, payload, trace_id=trace_id)

    def _pair(self, payload: dict[str, Any], *, trace_id: str | None) -> TokenPair:
        expires_in = int(payload.get("expires_in") or 0)
        scope = payload.get("scope") or ""
        return TokenPair(
            access_token=str(payload["access_token"]),
            refresh_token=payload.get("refresh_token"),
            expires_at=self._clock() + timedelta(seconds=expires_in),
            scopes=tuple(str(scope).split()),
            token_type=str(payload.get("token_type") or "bearer"),
            trace_id=trace_id,
        )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _token_error(
    status: int, payload: dict[str, Any], *, trace_id: str | None
) -> errors.AllegroError:
    error = str(payload.get("error") or "")
    description = str(payload.get("error_description") or "")
    if status == 429:
        retry_after = parse_retry_after(payload.get("retry_after") and str(payload["retry_after"]))
        return errors.RateLimited(
            "token endpoint rate limited",
            retry_after=retry_after or 60.0,
            status=status,
            trace_id=trace_id,
        )
    if status >= 500:
        return errors.ServerError(
            f"token endpoint answered {status}", status=status, trace_id=trace_id
        )
    if error == "invalid_grant":
        return InvalidGrant(description or error, error=error, status=status, trace_id=trace_id)
    return OAuthError(
        description or error or f"HTTP {status}", error=error, status=status, trace_id=trace_id
    )
