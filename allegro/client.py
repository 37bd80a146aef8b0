"""``AllegroClient``: one account's handle on the API, passed to every ``allegro.api`` function."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import httpx

from allegro.governor import Governor, Lane, NullGovernor
from allegro.transport import (
    V1,
    ApiResponse,
    QueryValue,
    RetryPolicy,
    TokenSource,
    Transport,
)


class AllegroClient:
    """Bound to one API base URL, one token source (one seller account) and one governor."""

    def __init__(
        self,
        api_url: str,
        token_source: TokenSource | None,
        governor: Governor | None = None,
        *,
        account_key: str = "default",
        http: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
        accept_language: str | None = "pl-PL",
        governor_timeout: float | None = None,
        lane: str = Lane.SYNC,
    ) -> None:
        """``lane``: the governor's priority lane (``staff``, ``sync``, ``backfill``)."""
        self.transport = Transport(
            base_url=api_url,
            token_source=token_source,
            governor=governor or NullGovernor(),
            account_key=account_key,
            http=http,
            retry=retry,
            accept_language=accept_language,
            governor_timeout=governor_timeout,
            lane=lane,
        )

    @property
    def account_key(self) -> str:
        return self.transport.account_key

    @property
    def lane(self) -> Lane:
        return self.transport.lane

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
        return self.transport.request(
            method,
            path,
            params=params,
            json=json,
            media=media,
            accept=accept,
            ok=ok,
            idempotent=idempotent,
            language=language,
            content=content,
            content_type=content_type,
        )

    def get(
        self,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        media: str = V1,
        ok: Collection[int] = (200,),
    ) -> ApiResponse:
        return self.request("GET", path, params=params, media=media, ok=ok)
