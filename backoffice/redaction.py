"""Keep OAuth secrets out of access logs.

Allegro sends the browser back to ``/accounts/allegro/callback/?code=…&state=…``; the code is
exchangeable for tokens until it is used, so access logs must not keep it. ``redact_oauth_params``
masks the values of ``code`` and ``state`` in any text (a request line, a referrer);
``RedactOAuthParamsFilter`` applies it to runserver's ``django.server`` records and
``backoffice.gunicorn_logging.RedactingLogger`` to gunicorn's access log.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
_SECRET_PARAMS = re.compile(r"(?P<name>(?:^|[?&;])(?:code|state)=)[^&;\s\"']*", re.IGNORECASE)
# The same in a query string that was percent-encoded once more (e.g. a ``next=`` value).
_ENCODED_SECRET_PARAMS = re.compile(
    r"(?P<name>(?:%3F|%26)(?:code|state)%3D)(?:(?!%26)[^&;\s\"'])*", re.IGNORECASE
)


def redact_oauth_params(text: str) -> str:
    """``text`` with every ``code=`` / ``state=`` query value replaced by ``[redacted]``."""
    if "code" not in text.lower() and "state" not in text.lower():
        return text
    text = _SECRET_PARAMS.sub(rf"\g<name>{REDACTED}", text)
    return _ENCODED_SECRET_PARAMS.sub(rf"\g<name>{REDACTED}", text)


class RedactOAuthParamsFilter(logging.Filter):
    """Rewrites a record's message and string arguments through :func:`redact_oauth_params`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_oauth_params(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_oauth_params(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                key: redact_oauth_params(value) if isinstance(value, str) else value
                for key, value in record.args.items()
            }
        return True
