"""The simulator's ASGI application: Starlette routes wrapped with Allegro's cross-cutting rules.

Per request to an Allegro path, in order: statistics, rate limits (per client id, per user),
random faults (slow, 5xx), authentication and scope (401 / 403), ``Accept`` (406),
``Content-Type`` (415), request validation against the spec, the handler (inside one store
transaction, rolled back when the answer is an error: a rejected request changes nothing),
response validation.
Dropped connections are injected by ``DropConnections``, the outermost ASGI layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.auth import authenticate, bearer, verified_claims
from sandbox.config import SandboxConfig
from sandbox.faults import Limiter
from sandbox.http import (
    V1,
    ApiError,
    AuthFailure,
    Ctx,
    RouteSpec,
    error_item,
    json_bytes,
    raw_response,
    retry_after_value,
)
from sandbox.state import State

if TYPE_CHECKING:  # openapi-core takes ~0.7 s to import: only validation mode loads it
    from sandbox.validation import SpecRequest, SpecValidator

log = logging.getLogger("sandbox")

CONTROL_PREFIX = "/__sandbox__"
OAUTH_PREFIX = "/auth/oauth"
MAX_VIOLATIONS = 1000
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def errors_response(
    errors: list[dict[str, Any]],
    *,
    status: int,
    media: str = V1,
    headers: dict[str, str] | None = None,
) -> Response:
    return raw_response(json_bytes({"errors": errors}), status=status, media=media, headers=headers)


def auth_error_response(exc: AuthFailure, *, media: str) -> Response:
    body = {"error": exc.error, "error_description": exc.description}
    return raw_response(json_bytes(body), status=401, media=media)


def media_of(header: str) -> list[str]:
    return [part.split(";", 1)[0].strip().lower() for part in header.split(",") if part.strip()]


class Runtime:
    """Holds the state plus the per-process helpers (validator, limiter) the wrappers use."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.limiter = Limiter()
        self.validator: SpecValidator | None = None
        if state.config.validate:
            from sandbox.validation import SpecValidator

            self.validator = SpecValidator(state.config.spec_path)

    def record(self, item: dict[str, Any]) -> None:
        if len(self.state.violations) < MAX_VIOLATIONS:
            self.state.violations.append(item)
        log.warning(
            "spec violation (%s) %s %s: %s",
            item["kind"],
            item["method"],
            item["path"],
            item["errors"][:1],
        )

    def client_of(self, request: Request) -> tuple[str, str | None]:
        """(client id, user) of the bearer token, for rate limits (invalid token: anonymous)."""
        token = bearer(request)
        if not token:
            return "anonymous", None
        try:
            claims = verified_claims(state=self.state, token=token)
        except AuthFailure:
            return "anonymous", None
        return claims.client_id, claims.user_name


def wrap(runtime: Runtime, route: RouteSpec) -> Any:
    state = runtime.state
    stat_key = f"{route.method} {route.path}"

    async def endpoint(request: Request) -> Response:
        state.stats.paths[stat_key] += 1
        response, framework = await guarded(request)
        state.stats.statuses[response.status_code] += 1
        if response.status_code >= 400 and route.details_required:
            response = with_details(response)
        if runtime.validator is not None:
            if not framework:
                await validate_response(runtime, request, response)
            elif response.status_code in (401, 403):
                # auth answers are declared by (nearly) every operation: check their bodies too
                await validate_response(runtime, request, response, declared_only=True)
        if response.status_code >= 400 and preferred_language(request) == "pl":
            response = translate_errors(response)
        return response

    async def guarded(request: Request) -> tuple[Response, bool]:
        faults = state.faults
        now = state.clock.now()
        client_id, user = runtime.client_of(request)
        if faults.rate_limit.enabled:
            allowed, retry = runtime.limiter.client_allows(
                client_id=client_id, cfg=faults.rate_limit, now=now
            )
            if not allowed:
                state.stats.rate_limited += 1
                return too_many("Client ID request limit exceeded", retry), True
        if (
            faults.user_bucket.enabled
            and user
            and not runtime.limiter.user_allows(user=user, cfg=faults.user_bucket, now=now)
        ):
            state.stats.rate_limited += 1
            return too_many("Too many requests for this user", faults.user_bucket.retry_after), True
        if faults.applies_to(request.url.path):
            if faults.roll(faults.slow_rate):
                await asyncio.sleep(faults.slow_seconds)
            if faults.roll(faults.error_rate):
                status = faults.rng.choice(faults.error_statuses)
                err = error_item(code="INTERNAL_SERVER_ERROR", message="Simulated server error")
                return errors_response([err], status=status), True
        try:
            claims = authenticate(state=state, request=request, route=route)
        except AuthFailure as exc:
            return auth_error_response(exc, media=route.error_media), True
        except ApiError as exc:
            return errors_response(exc.errors, status=exc.status, media=route.error_media), True
        accepted = media_of(request.headers.get("accept", ""))
        if not any(a in route.accept for a in accepted):
            err = error_item(
                code="NotAcceptableException",
                message="Not acceptable representation requested. "
                "Please check 'Accept' request header",
            )
            return errors_response([err], status=406, media=route.error_media), True
        body = await request.body()
        if body and request.method in ("POST", "PUT", "PATCH"):
            ctype = media_of(request.headers.get("content-type", ""))
            if not ctype or ctype[0] not in route.body_media:
                err = error_item(
                    code="UnsupportedMediaTypeException",
                    message="Unsupported 'Content-Type' request header",
                )
                return errors_response([err], status=415, media=route.error_media), True
        request_errors: list[str] = []
        if runtime.validator is not None:
            from sandbox.validation import violation

            spec_request = await spec_request_of(request)
            request_errors = runtime.validator.request_errors(spec_request)
            if request_errors:
                runtime.record(
                    violation(
                        kind="request",
                        method=request.method,
                        path=request.url.path,
                        status=None,
                        errors=request_errors,
                    )
                )
        ctx = Ctx(request=request, route=route, state=state, claims=claims)
        framework = False
        # All or nothing: what the handler writes (documents, revisions, events) is committed
        # only when the answer is a success; any error answer rolls all of it back.
        with state.store.atomic(immediate=request.method not in SAFE_METHODS) as tx:
            try:
                response = run_handler(route, ctx)
            except AuthFailure as exc:
                response = auth_error_response(exc, media=route.error_media)
            except ApiError as exc:
                response = errors_response(exc.errors, status=exc.status, media=route.error_media)
            # A handler's 429 enforces a per-user limit the spec states only in prose: like the
            # wrapper's own rate limiting, it is not held to the operation's declared statuses.
            framework = response.status_code == 429
            if request_errors and response.status_code < 400:
                err = error_item(
                    code="VALIDATION_ERROR",
                    message="Request does not match the spec: " + request_errors[0],
                )
                response = errors_response([err], status=422, media=route.error_media)
                framework = True
            if response.status_code >= 400:
                tx.rollback()
        return response, framework

    return endpoint


def run_handler(route: RouteSpec, ctx: Ctx) -> Response:
    """Run ``route.handler`` to completion without yielding to the event loop.

    The handler runs inside a store transaction on the one connection every request shares:
    were it to suspend, another request (or the background market) would write into that
    transaction. Handlers only await what never suspends (the body, read before this point).
    """
    coro = route.handler(ctx)
    try:
        coro.send(None)
    except StopIteration as done:
        response: Response = done.value
        return response
    coro.close()
    raise RuntimeError(
        f"{route.method} {route.path}: the handler suspended inside its store transaction "
        "(handlers may not await I/O or sleep)"
    )


async def spec_request_of(request: Request) -> SpecRequest:
    from sandbox.validation import SpecRequest

    body = await request.body()
    return SpecRequest(
        method=request.method.lower(),
        path=request.url.path,
        query=list(request.query_params.multi_items()),
        headers=list(request.headers.items()),
        content_type=request.headers.get("content-type", ""),
        body=body or None,
        path_params={k: str(v) for k, v in request.path_params.items()},
    )


async def validate_response(
    runtime: Runtime, request: Request, response: Response, *, declared_only: bool = False
) -> None:
    """Record a violation when ``response`` breaks the spec; ``declared_only``: a status the
    operation does not declare is not one (the framework's answers may be undeclared)."""
    from sandbox.validation import SpecResponse, violation

    assert runtime.validator is not None
    spec_request = await spec_request_of(request)

    assert runtime.validator is not None
    from werkzeug.datastructures import Headers

    content_type = response.headers.get("content-type", "")
    spec_response = SpecResponse(
        status_code=response.status_code,
        content_type=content_type.split(";")[0] if content_type else "",
        headers=Headers(list(response.headers.items())),
        data=bytes(response.body) if response.body else None,
    )
    errors = runtime.validator.response_errors(spec_request, spec_response)
    if declared_only:
        errors = [e for e in errors if not e.startswith("ResponseNotFound")]
    if errors:
        runtime.record(
            violation(
                kind="response",
                method=spec_request.method.upper(),
                path=spec_request.path,
                status=response.status_code,
                errors=errors,
            )
        )


def preferred_language(request: Request) -> str:
    """The primary subtag of the caller's first choice in ``Accept-Language`` (``pl`` for
    ``pl-PL``, ``pl`` or ``pl-PL,en;q=0.5``), ``en`` without one. Messages exist in Polish and
    English; any other language gets English, as on Allegro (never a refusal)."""
    best, best_q = "en", 0.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().lower().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().split("-", 1)[0].lower()
        if primary and primary != "*" and quality > best_q:
            best, best_q = primary, quality
    return best


POLISH = {
    "NotAcceptableException": "Nieobsługiwany format odpowiedzi (nagłówek Accept).",
    "UnsupportedMediaTypeException": "Nieobsługiwany format danych (nagłówek Content-Type).",
    "AccessDenied": "Brak uprawnień do tego zasobu.",
    "NOT_FOUND": "Nie znaleziono zasobu.",
    "TOO_MANY_REQUESTS": "Zbyt wiele zapytań. Spróbuj ponownie później.",
    "INTERNAL_SERVER_ERROR": "Wystąpił błąd serwera. Spróbuj ponownie później.",
    "CONFLICT": "Dane zostały w międzyczasie zmienione. Odśwież je i spróbuj ponownie.",
}


def _errors_body(response: Response) -> dict[str, Any] | None:
    """The decoded body when it is an ``ErrorsHolder``-shaped error (``{"errors": [...]}``)."""
    try:
        body = orjson.loads(bytes(response.body))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return None
    return body


def with_details(response: Response) -> Response:
    """Errors of operations whose error schemas forbid a null ``details``: the message there."""
    body = _errors_body(response)
    if body is None:
        return response
    missing = [e for e in body["errors"] if isinstance(e, dict) and e.get("details") is None]
    if not missing:
        return response
    for error in missing:
        error["details"] = error.get("message") or error.get("code") or "Error"
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length",)}
    return Response(orjson.dumps(body), status_code=response.status_code, headers=headers)


def translate_errors(response: Response) -> Response:
    """``Accept-Language: pl-PL``: Polish ``userMessage`` (``message`` stays English)."""
    body = _errors_body(response)
    if body is None:
        return response
    for error in body["errors"]:
        if error.get("userMessage") not in (None, error.get("message")):
            continue  # the route already wrote a localized message
        code = error.get("code", "")
        if code in POLISH:
            error["userMessage"] = POLISH[code]
        elif error.get("path"):
            error["userMessage"] = (
                f"Nieprawidłowa wartość pola {error['path']}: {error.get('message', '')}"
            )
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length",)}
    return Response(orjson.dumps(body), status_code=response.status_code, headers=headers)


def too_many(message: str, retry: float) -> Response:
    err = error_item(code="TOO_MANY_REQUESTS", message=message)
    return errors_response([err], status=429, headers={"Retry-After": retry_after_value(retry)})


class DropConnections:
    """Outermost ASGI layer: drops connections (fault) and adds a ``Trace-Id`` to every answer."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("path", "")
            faults = self.state.faults
            if (
                faults.drop_rate > 0
                and not path.startswith((CONTROL_PREFIX, OAUTH_PREFIX))
                and faults.applies_to(path)
                and faults.roll(faults.drop_rate)
            ):
                cycle = getattr(send, "__self__", None)
                transport = getattr(cycle, "transport", None)
                if transport is not None:
                    self.state.stats.paths["__dropped__"] += 1
                    transport.close()
                    return
            trace = uuid.uuid4().hex.encode()

            async def send_with_trace(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), (b"trace-id", trace)]
                await send(message)

            await self.app(scope, receive, send_with_trace)
            return
        await self.app(scope, receive, send)


async def not_found(request: Request, exc: Exception) -> Response:
    err = error_item(code="NOT_FOUND", message=f"No resource at {request.url.path}")
    return errors_response([err], status=404)


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    err = error_item(
        code="METHOD_NOT_ALLOWED", message=f"{request.method} is not allowed on {request.url.path}"
    )
    return errors_response([err], status=405)


def build_routes(runtime: Runtime) -> list[BaseRoute]:
    from sandbox.routes import control_routes, load_tables, oauth_routes

    routes: list[BaseRoute] = [*oauth_routes(), *control_routes()]
    for spec in load_tables():
        routes.append(Route(spec.path, wrap(runtime, spec), methods=[spec.method]))
    return routes


def create_app(config: SandboxConfig, *, state: State | None = None) -> ASGIApp:
    state = state or State.open(config)
    runtime = Runtime(state)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if runtime.validator is not None:
            runtime.validator.start()
        market_task: asyncio.Task[None] | None = None
        if config.market_rate > 0:
            from sandbox.market import run_market

            market_task = asyncio.create_task(run_market(state))
        try:
            yield
        finally:
            if market_task is not None:
                market_task.cancel()
            state.store.close()

    app = Starlette(
        routes=build_routes(runtime),
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed},
    )
    app.state.sim = state
    app.state.runtime = runtime
    return DropConnections(app, state)
