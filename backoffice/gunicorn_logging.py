"""gunicorn's logger with the OAuth callback's ``code``/``state`` masked in the access log.

Used with ``gunicorn --logger-class backoffice.gunicorn_logging.RedactingLogger`` (Dockerfile,
docker-compose.yml). Every atom of the access line that can carry a URL (request line, path,
query string, referrer, request headers) goes through
:func:`backoffice.redaction.redact_oauth_params`.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from backoffice.redaction import redact_oauth_params


class RedactingLogger(Logger):  # gunicorn ships no type hints: Logger is Any
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in list(atoms.items()):
            if isinstance(value, str):
                atoms[key] = redact_oauth_params(value)
        return atoms
