"""HTTP transport: one pooled httpx client per process, media types, errors, retries, trace ids.

Every request goes through ``Transport.request``:

1. ``governor.acquire(account_key)`` (waits out a global pause, the budget and the account's
   concurrency cap), the request, then ``governor.release``;
2. the response is mapped to ``ApiResponse`` (declared status) or a typed error;
3. transient errors are retried with exponential backoff and jitter, at most
   ``RetryPolicy.max_attempts`` attempts; a 429 first pauses the governor for every process;
4. a 401 makes the token source drop its token and hand out a fresh one, once.
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import orjson

from allegro import errors
from allegro.governor import Governor, Lane

logger = logging.getLogger(__name__)

V1 = "application/vnd.allegro.public.v1+json"
BETA = "application/vnd.allegro.beta.v1+json"
OCTET_STREAM = "application/octet-stream"
JSON = "application/json"

# Allegro's responses carry a trace id; the simulator sends ``Trace-Id``.
TRACE_HEADERS: tuple[str, ...] = ("Trace-Id", "X-Trace-Id", "X-Request-Id", "Request-Id")
DEFAULT_RETRY_AFTER = 60.0
USER_AGENT = "allegro-backoffice/0.1 (+https://github.com/)"

QueryValue = str | int | float | bool | Sequence[str] | None
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class TokenSource(Protocol):
    """Hands out access tokens; the Django side implements single-flight refresh behind it."""

    def get_access_token(self) -> str: ...

    def invalidate(self, token: str) -> None: ...


@dataclass
class StaticTokenSource:
    """A fixed token (scripts, tests); ``invalidate`` cannot produce a new one."""

    token: str = field(repr=False)

    def get_access_token(self) -> str:
        return self.token

    def invalidate(self, token: str) -> None:
        return None


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Bounded retries for transient errors; ``sleep``/``random`` are injectable for tests."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    # Longest 429 wait the transport sleeps itself when the governor keeps no pause.
    max_rate_limit_wait: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = random.random

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt ``attempt`` (1-based): exponential, half of it jittered."""
        ceiling = float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))
        jitter: float = self.random()
        return ceiling / 2 + jitter * ceiling / 2


@dataclass(frozen=True, kw_only=True)
class ApiResponse:
    status: int
    headers: httpx.Headers
    content: bytes
    trace_id: str | None

    def json(self) -> Any:
        return loads(self.content) if self.content else None

    @property
    def location(self) -> str | None:
        location: str | None = self.headers.get("Location")
        return location

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("Retry-After"))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After``/``Retry-after`` value (httpx headers ignore case)."""
    if value is None:
        return None
    try:
        return max(float(value.strip()), 0.0)
    except ValueError:
        return None


def trace_id_of(headers: httpx.Headers) -> str | None:
    for name in TRACE_HEADERS:
        value: str | None = headers.get(name)
        if value:
            return value
    return None


_http_lock = threading.Lock()
_http_client: httpx.Client | None = None
_http_pid: int | None = None


_tls_lock = threading.Lock()
_tls: ssl.SSLContext | None = None


def tls_context() -> ssl.SSLContext:
    """The process's one TLS context (httpx's default: certifi's CA bundle, certificates
    verified). Building one reads and parses the whole CA bundle, about 30 ms of CPU; httpx does
    that for every new client unless it is handed a context, and a context only holds settings,
    so every client of the process can share it."""
    global _tls
    with _tls_lock:
        if _tls is None:
            _tls = httpx.create_ssl_context()
        return _tls


def build_http_client(
    *, timeout: float = 30.0, connect_timeout: float = 5.0, max_connections: int = 50
) -> httpx.Client:
    return httpx.Client(
        verify=tls_context(),
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def shared_http_client() -> httpx.Client:
    """The process-wide pooled client (re-created after a fork)."""
    global _http_client, _http_pid
    with _http_lock:
        if _http_client is None or _http_pid != os.getpid():
            _http_client = build_http_client()
            _http_pid = os.getpid()
        return _http_client


def _errors_from_body(body: Any) -> list[errors.ApiError]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [errors.ApiError.from_dict(e) for e in body["errors"] if isinstance(e, dict)]
    return []


def loads(content: bytes) -> Any:
    """JSON from a response body: orjson (several times faster on a 1000-offer page, most of a
    sync worker's CPU with the standard decoder), the standard decoder for what orjson refuses
    (integers beyond 64 bits, other encodings), so nothing parses differently."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return jsonlib.loads(content)


def _decode(content: bytes) -> Any:
    try:
        return loads(content) if content else None
    except ValueError:
        return None


_STATUS_ERRORS: dict[int, type[errors.PermanentError]] = {
    400: errors.BadRequest,
    403: errors.Forbidden,
    404: errors.NotFound,
    406: errors.NotAcceptable,
    409: errors.Conflict,
    422: errors.ValidationFailed,
}


def error_for(
    status: int,
    headers: httpx.Headers,
    content: bytes,
    *,
    default_retry_after: float = DEFAULT_RETRY_AFTER,
) -> errors.AllegroError:
    """Map an undeclared or error response to a typed error."""
    trace_id = trace_id_of(headers)
    body = _decode(content)
    api_errors = _errors_from_body(body)
    message = api_errors[0].message if api_errors else f"HTTP {status}"
    common: dict[str, Any] = {"status": status, "trace_id": trace_id, "errors": api_errors}
    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        return errors.RateLimited(
            message,
            retry_after=default_retry_after if retry_after is None else retry_after,
            **common,
        )
    if status >= 500:
        return errors.ServerError(message, **common)
    if status == 401:
        auth = body if isinstance(body, dict) else {}
        return errors.Unauthorized(
            message if api_errors else "",
            error=str(auth.get("error") or ""),
            error_description=str(auth.get("error_description") or ""),
            **common,
        )
    return _STATUS_ERRORS.get(status, errors.UnexpectedResponse)(message, **common)


def _transport_error(exc: httpx.TransportError) -> errors.TransientError:
    if isinstance(exc, httpx.TimeoutException):
        return errors.Timeout(f"{type(exc).__name__}: {exc}")
    return errors.ConnectionDropped(f"{type(exc).__name__}: {exc}")


def _never_sent(exc: errors.AllegroError, cause: BaseException | None) -> bool:
    """True when the server cannot have acted on the request."""
    if isinstance(exc, errors.RateLimited):
        return True
    return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


@dataclass(frozen=True, kw_only=True)
class _Call:
    method: str
    url: str
    path: str
    params: Mapping[str, QueryValue] | None
    body: bytes | None = field(repr=False)
    accept: str
    content_type: str | None
    language: str | None
    ok: Collection[int]


class Transport:
    """Speaks HTTP to one Allegro API base URL on behalf of one account."""

    def __init__(
        self,
        *,
        base_url: str,
        token_source: TokenSource | None,
        governor: Governor,
        account_key: str,
        http: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
        accept_language: str | None = "pl-PL",
        governor_timeout: float | None = None,
        default_retry_after: float = DEFAULT_RETRY_AFTER,
        lane: str = Lane.SYNC,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.lane = Lane(lane)  # the governor's priority lane of every request sent
        self.token_source = token_source
        self.governor = governor
        self.account_key = account_key
        self.http = http or shared_http_client()
        self.retry = retry or RetryPolicy()
        self.accept_language = accept_language
        self.governor_timeout = governor_timeout
        self.default_retry_after = default_retry_after

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _headers(
        self, *, token: str | None, accept: str, content_type: str | None, language: str | None
    ) -> dict[str, str]:
        headers = {"Accept": accept}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if content_type is not None:
            headers["Content-Type"] = content_type
        if language or self.accept_language:
            headers["Accept-Language"] = language or self.accept_language or ""
        return headers

    def _send_once(
        self,
        method: str,
        url: str,
        *,
        token: str | None,
        params: Mapping[str, QueryValue] | None,
        body: bytes | None,
        accept: str,
        content_type: str | None,
        language: str | None,
    ) -> httpx.Response:
        lease = self.governor.acquire(
            self.account_key, timeout=self.governor_timeout, lane=self.lane
        )
        try:
            return self.http.request(
                method,
                url,
                params=_clean_params(params),
                content=body,
                headers=self._headers(
                    token=token, accept=accept, content_type=content_type, language=language
                ),
            )
        finally:
            self.governor.release(lease)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        media: str = V1,
        accept: str | None = None,
        ok: Collection[int] = (200,),
        idempotent: bool | None = None,
        language: str | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> ApiResponse:
        """Send one API call; return the response when its status is in ``ok``, else raise.

        ``content`` sends a binary body (a file upload) of ``content_type`` instead of JSON.
        """
        method = method.upper()
        body = None if json is None else jsonlib.dumps(json, ensure_ascii=False).encode()
        if content is not None:
            body = content
        call = _Call(
            method=method,
            url=self.url(path),
            path=path,
            params=params,
            body=body,
            accept=accept or media,
            content_type=(content_type or media) if body is not None else None,
            language=language,
            ok=ok,
        )
        retry_safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        token = self.token_source.get_access_token() if self.token_source else None
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            outcome, cause = self._attempt(call, token=token)
            if isinstance(outcome, ApiResponse):
                return outcome
            if isinstance(outcome, errors.Unauthorized) and not refreshed and token is not None:
                refreshed = True
                fresh = self._fresh_token(token)
                if fresh is not None:
                    token = fresh
                    attempt -= 1  # the token retry does not use up a transient attempt
                    continue
            if not isinstance(outcome, errors.TransientError):
                raise outcome
            self._on_transient(outcome, method=method, path=path, attempt=attempt)
            if attempt >= self.retry.max_attempts or not (
                retry_safe or _never_sent(outcome, cause)
            ):
                raise outcome
            if not isinstance(outcome, errors.RateLimited):
                self.retry.sleep(self.retry.backoff(attempt))

    def _attempt(
        self, call: _Call, *, token: str | None
    ) -> tuple[ApiResponse | errors.AllegroError, BaseException | None]:
        """One request through the governor: the response, or the error it maps to."""
        started = time.monotonic()
        try:
            response = self._send_once(
                call.method,
                call.url,
                token=token,
                params=call.params,
                body=call.body,
                accept=call.accept,
                content_type=call.content_type,
                language=call.language,
            )
        except httpx.TransportError as exc:
            return _transport_error(exc), exc
        trace_id = trace_id_of(response.headers)
        logger.debug(
            "allegro %s %s -> %s in %.0f ms (trace %s)",
            call.method,
            call.path,
            response.status_code,
            (time.monotonic() - started) * 1000,
            trace_id,
        )
        if response.status_code in call.ok:
            return ApiResponse(
                status=response.status_code,
                headers=response.headers,
                content=response.content,
                trace_id=trace_id,
            ), None
        error = error_for(
            response.status_code,
            response.headers,
            response.content,
            default_retry_after=self.default_retry_after,
        )
        return error, None

    def _fresh_token(self, token: str) -> str | None:
        """Ask the token source to drop ``token``; the new token, or None if it has none."""
        assert self.token_source is not None
        self.token_source.invalidate(token)
        fresh = self.token_source.get_access_token()
        return fresh if fresh != token else None

    def _on_transient(
        self, error: errors.TransientError, *, method: str, path: str, attempt: int
    ) -> None:
        logger.warning(
            "allegro %s %s attempt %d failed: %s (trace %s)",
            method,
            path,
            attempt,
            type(error).__name__,
            error.trace_id,
        )
        if not isinstance(error, errors.RateLimited):
            return
        # Calling Allegro during a block extends it: stop every process first.
        try:
            self.governor.pause(error.retry_after)
        except errors.TransientError:
            logger.warning("allegro: could not record the 429 pause in the governor")
            raise error from None
        if not self.governor.enforces_pause and attempt < self.retry.max_attempts:
            if error.retry_after > self.retry.max_rate_limit_wait:
                raise error
            self.retry.sleep(error.retry_after)


def _clean_params(
    params: Mapping[str, QueryValue] | None,
) -> list[tuple[str, str | int | float | bool | None]] | None:
    """Drop ``None``; repeat keys for lists; booleans as ``true``/``false``."""
    if not params:
        return None
    items: list[tuple[str, str | int | float | bool | None]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            items.append((key, "true" if value else "false"))
        elif isinstance(value, str | int | float):
            items.append((key, str(value)))
        else:
            items.extend((key, str(v)) for v in value)
    return items
