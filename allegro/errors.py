"""Typed errors raised by the Allegro client.

Transient errors may succeed when retried later (429, 5xx, timeouts, dropped connections);
permanent errors never will without a change of input or credentials. Every error carries the
response's trace id (when Allegro sent one) so it can go to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class ApiError:
    """One entry of Allegro's ``ErrorsHolder.errors``."""

    code: str = ""
    message: str = ""
    user_message: str = ""
    path: str | None = None
    details: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiError:
        metadata = data.get("metadata") or {}
        return cls(
            code=str(data.get("code") or ""),
            message=str(data.get("message") or ""),
            user_message=str(data.get("userMessage") or ""),
            path=data.get("path"),
            details=data.get("details"),
            metadata={str(k): str(v) for k, v in metadata.items()}
            if isinstance(metadata, dict)
            else {},
        )


class AllegroError(Exception):
    """Base class of every failure the client reports."""

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        trace_id: str | None = None,
        errors: list[ApiError] | None = None,
    ) -> None:
        super().__init__(message or self.__class__.__name__)
        self.status = status
        self.trace_id = trace_id
        self.errors: list[ApiError] = list(errors or [])

    @property
    def user_message(self) -> str:
        """The first translated message Allegro gave, else the developer message."""
        for error in self.errors:
            if error.user_message:
                return error.user_message
        return str(self)


class TransientError(AllegroError):
    """A failure that may go away when the same request is retried later."""


class RateLimited(TransientError):
    """HTTP 429, or the local governor refusing to wait any longer."""

    def __init__(self, message: str = "", *, retry_after: float = 60.0, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(TransientError):
    """HTTP 5xx."""


class Timeout(TransientError):
    """The request timed out (connect, read, write or pool)."""


class ConnectionDropped(TransientError):
    """The connection failed or was closed before a complete response arrived."""


class PermanentError(AllegroError):
    """A failure that retrying the same request cannot fix."""


class BadRequest(PermanentError):
    """HTTP 400 (malformed request)."""


class Unauthorized(PermanentError):
    """HTTP 401: the token is missing, expired, revoked, or of the wrong kind."""

    def __init__(
        self,
        message: str = "",
        *,
        error: str = "",
        error_description: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(message or error_description or error, **kwargs)
        self.error = error
        self.error_description = error_description


class Forbidden(PermanentError):
    """HTTP 403: the token lacks a scope, or the resource belongs to another seller."""


class NotFound(PermanentError):
    """HTTP 404."""


class NotAcceptable(PermanentError):
    """HTTP 406: the Accept header does not name a representation the operation serves."""


class Conflict(PermanentError):
    """HTTP 409: stale revision, reused command id, edit still processing."""


class ValidationFailed(PermanentError):
    """HTTP 422 (and other error lists): each error names the offending field in ``path``."""


class UnexpectedResponse(PermanentError):
    """A status code the operation does not declare, or a body that cannot be decoded."""
