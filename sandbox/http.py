"""HTTP plumbing shared by every route module: route tables, request context, errors, media types.

A route module declares its operations on a module-level ``table = RouteTable()``::

    @table.route("GET", "/me", scope="profile:read")
    async def me(ctx: Ctx) -> Response:
        return ctx.json(ctx.seller_doc())

The decorator records the method, the path (Starlette syntax), the scopes, the token kinds
accepted and the media type; ``sandbox.app`` wraps every handler with authentication,
``Accept`` / ``Content-Type`` negotiation, spec validation and fault injection.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from sandbox.auth import TokenClaims
    from sandbox.config import SandboxConfig
    from sandbox.state import State
    from sandbox.store import Store

V1 = "application/vnd.allegro.public.v1+json"
BETA = "application/vnd.allegro.beta.v1+json"
JSON = "application/json"
OCTET = "application/octet-stream"
MEDIA_TYPES = {"v1": V1, "beta": BETA, "json": JSON, "octet": OCTET}

Auth = Literal["user", "any", "none"]
Handler = Callable[["Ctx"], Coroutine[Any, Any, Response]]


@dataclass(frozen=True, slots=True)
class RouteSpec:
    method: str
    path: str
    handler: Handler
    scopes: tuple[str, ...]
    auth: Auth
    media: str
    error_media: str
    accept: tuple[str, ...]
    body_media: tuple[str, ...]
    details_required: bool = False  # error ``details`` may not be null (SwA's Error400/403/...)


@dataclass
class RouteTable:
    """Operations declared by one route module, registered by ``sandbox.routes.load_tables``."""

    routes: list[RouteSpec] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        scope: str | tuple[str, ...] | None = None,
        auth: Auth = "user",
        media: str = "v1",
        error_media: str | None = None,
        accept: tuple[str, ...] | None = None,
        body_media: tuple[str, ...] | None = None,
        details_required: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare an Allegro operation.

        ``scope`` is written without the ``allegro:api:`` prefix; ``auth="any"`` accepts app
        tokens too; ``media`` is ``v1``/``beta``/``json``/``octet`` (the success media type);
        ``accept`` lists the media types a client may ask for (default: the success type);
        ``body_media`` the request ``Content-Type`` values accepted (default: ``media``);
        ``details_required``: every error the operation answers carries a string ``details``
        (the spec's ``Error400``/``Error403``/``Error404``/``Error504`` forbid null there).
        """
        scopes: tuple[str, ...]
        if scope is None:
            scopes = ()
        elif isinstance(scope, str):
            scopes = (scope,)
        else:
            scopes = scope
        resolved = MEDIA_TYPES.get(media, media)

        def decorator(handler: Handler) -> Handler:
            self.routes.append(
                RouteSpec(
                    method=method,
                    path=path,
                    handler=handler,
                    scopes=tuple(f"allegro:api:{s}" for s in scopes),
                    auth=auth,
                    media=resolved,
                    error_media=MEDIA_TYPES.get(error_media or media, error_media or resolved)
                    if (error_media or media) != "octet"
                    else V1,
                    accept=tuple(MEDIA_TYPES.get(a, a) for a in (accept or (resolved,))),
                    body_media=tuple(MEDIA_TYPES.get(b, b) for b in (body_media or (resolved,))),
                    details_required=details_required,
                )
            )
            return handler

        return decorator


class ApiError(Exception):
    """Raise from a handler to answer with an ``ErrorsHolder`` body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        path: str | None = None,
        user_message: str | None = None,
        details: str | None = None,
        metadata: dict[str, str] | None = None,
        extra: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors: list[dict[str, Any]] = [
            error_item(
                code=code,
                message=message,
                path=path,
                user_message=user_message,
                details=details,
                metadata=metadata,
            )
        ]
        if extra:
            self.errors.extend(extra)


def error_item(
    *,
    code: str,
    message: str,
    path: str | None = None,
    user_message: str | None = None,
    details: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "userMessage": user_message or message,
        "path": path,
        "details": details,
        "metadata": metadata or {},
    }


class AuthFailure(Exception):
    """401 with an ``AuthError`` body (``{"error", "error_description"}``)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} {ident} not found", path=None)


def unprocessable(
    message: str, *, path: str | None = None, code: str = "VALIDATION_ERROR"
) -> ApiError:
    return ApiError(422, code, message, path=path)


def bad_request(
    message: str, *, path: str | None = None, code: str = "VALIDATION_ERROR"
) -> ApiError:
    return ApiError(400, code, message, path=path)


def json_bytes(data: Any) -> bytes:
    return orjson.dumps(data)


def retry_after_value(seconds: float) -> str:
    """A 429's ``Retry-After``: whole seconds (at least 1) as Allegro sends them; under a second
    (only a test's scaled-down limit, set through ``/__sandbox__/faults`` or ``/settings``) the
    value as it is (``0.2``)."""
    if 0 < seconds < 1:
        return f"{seconds:g}"
    return str(max(1, int(seconds)))


def raw_response(
    body: bytes, *, status: int = 200, media: str = V1, headers: dict[str, str] | None = None
) -> Response:
    return Response(content=body, status_code=status, media_type=media, headers=headers)


@dataclass
class Ctx:
    """Everything a handler needs: the request, the caller, the state and helpers to answer."""

    request: Request
    route: RouteSpec
    state: State
    claims: TokenClaims | None
    _body: Any = None
    _body_read: bool = False

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def config(self) -> SandboxConfig:
        return self.state.config

    @property
    def seller_id(self) -> str:
        if self.claims is None or not self.claims.user_name:
            raise AuthFailure("unauthorized", "Empty user_name claim")
        return self.claims.user_name

    @property
    def client_id(self) -> str:
        return self.claims.client_id if self.claims else ""

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def query_list(self, name: str) -> list[str]:
        return self.request.query_params.getlist(name)

    async def body(self) -> Any:
        """The JSON body, parsed; 400 ``ErrorsHolder`` when it is not JSON."""
        if not self._body_read:
            raw = await self.request.body()
            self._body_read = True
            if not raw:
                self._body = None
            else:
                try:
                    self._body = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise bad_request(f"Malformed JSON body: {exc}", code="MALFORMED_JSON") from exc
        return self._body

    async def body_object(self) -> dict[str, Any]:
        body = await self.body()
        if not isinstance(body, dict):
            raise unprocessable("The request body must be a JSON object")
        return body

    def json(
        self, data: Any, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        return raw_response(
            json_bytes(data), status=status, media=self.route.media, headers=headers
        )

    def raw(
        self, body: bytes, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        return raw_response(body, status=status, media=self.route.media, headers=headers)

    def empty(self, status: int = 204, headers: dict[str, str] | None = None) -> Response:
        return Response(status_code=status, headers=headers)


def int_param(
    ctx: Ctx, name: str, *, default: int, minimum: int, maximum: int | None, status: int = 422
) -> int:
    """Read an integer query parameter and enforce the spec's bounds (``status`` on error)."""
    raw = ctx.query(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(status, "VALIDATION_ERROR", f"{name} must be an integer", path=name) from exc
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ApiError(status, "VALIDATION_ERROR", f"{name} must be {bound}", path=name)
    return value


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
