"""Where a form may send staff back to: a URL on this site only (never an open redirect)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

MAX_LENGTH = 2000


def safe_back_url(request: HttpRequest, candidates: Iterable[str | None], default: str) -> str:
    """The first of ``candidates`` (``next`` from the form, the referer, ...) that points at this
    site — an absolute path, or an absolute URL of this host and scheme — else ``default``
    (a relative path like ``0`` would resolve against wherever the form was posted)."""
    for candidate in candidates:
        target = str(candidate or "")
        if (
            target
            and len(target) <= MAX_LENGTH
            and (target.startswith("/") or bool(urlsplit(target).netloc))
            and url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            )
        ):
            return target
    return default
