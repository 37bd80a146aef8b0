"""The OAuth callback's ``code`` and ``state`` never reach an access log.

Real servers in subprocesses: Django's runserver (``django.server`` logger) and gunicorn started
with the command docker-compose.yml gives the ``web`` service.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml
from django.conf import settings

from allegro.transport import tls_context
from backoffice.redaction import redact_oauth_params
from tests.ports import free_port

REPO = Path(settings.BASE_DIR)
CODE = "c0de-Th4t-Must-N0t-Leak"
STATE = "st4te-Th4t-Must-N0t-Leak"
CALLBACK = f"/accounts/allegro/callback/?code={CODE}&state={STATE}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f'"GET {CALLBACK} HTTP/1.1" 302 0',
            '"GET /accounts/allegro/callback/?code=[redacted]&state=[redacted] HTTP/1.1" 302 0',
        ),
        (f"state={STATE}&code={CODE}", "state=[redacted]&code=[redacted]"),
        (
            "/accounts/allegro/callback/?error=access_denied",
            "/accounts/allegro/callback/?error=access_denied",
        ),
        ("/orders/?status=READY&q=abc", "/orders/?status=READY&q=abc"),
        ("/offers/?postcode=00-950", "/offers/?postcode=00-950"),
        (
            f"/auth/login/?next=/accounts/allegro/callback/%3Fcode%3D{CODE}%26state%3D{STATE}",
            "/auth/login/?next=/accounts/allegro/callback/%3Fcode%3D[redacted]%26state%3D[redacted]",
        ),
    ],
)
def test_redact_oauth_params(text: str, expected: str) -> None:
    assert redact_oauth_params(text) == expected


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_ALLOW_ASYNC")}
    env["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
    return env


# What runserver and gunicorn say when another process holds the port.
PORT_TAKEN = ("That port is already in use", "Connection in use")


def _hit_callback(server: subprocess.Popen[bytes], port: int) -> bool:
    """Requests the callback once the server listens (bounded wait); ``False`` when the server
    exited instead."""
    # One client for every attempt: each new one would build a TLS context (~30 ms of CPU).
    with httpx.Client(timeout=5, verify=tls_context()) as http:
        for _ in range(160):
            try:
                response = http.get(f"http://127.0.0.1:{port}{CALLBACK}")
            except httpx.TransportError:
                if server.poll() is not None:
                    return False
                time.sleep(0.25)
                continue
            assert server.poll() is None, "an answer from another server on the port"
            assert response.status_code in {301, 302}
            return True
    pytest.fail("the server never answered")


def _stop(server: subprocess.Popen[bytes]) -> str:
    server.terminate()
    try:
        out, err = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        out, err = server.communicate()
    return out.decode() + err.decode()


def _log_of_a_callback(argv_for: Callable[[int], list[str]]) -> str:
    """Starts the server ``argv_for(port)`` on a free port, requests the callback, stops the
    server and returns what it logged. Should another process take the port first, the server
    is started again on another one (at most three times)."""
    log = ""
    for _ in range(3):
        port = free_port()
        server = subprocess.Popen(
            argv_for(port),
            cwd=REPO,
            env=_server_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            answered = _hit_callback(server, port)
            if answered:
                time.sleep(0.5)  # let the server write its log line before it is stopped
        finally:
            log = _stop(server)
        if answered:
            return log
        assert any(text in log for text in PORT_TAKEN), f"the server exited:\n{log[-3000:]}"
    pytest.fail(f"no free port for the server:\n{log[-3000:]}")


def _assert_redacted(log: str) -> None:
    assert "/accounts/allegro/callback/?code=[redacted]&state=[redacted]" in log, log
    assert CODE not in log
    assert STATE not in log


@pytest.mark.slow
def test_runserver_access_log_redacts_code_and_state() -> None:
    log = _log_of_a_callback(
        lambda port: [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    )
    _assert_redacted(log)


@pytest.mark.slow
def test_gunicorn_access_log_of_the_compose_web_command_redacts_code_and_state() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    command = [str(part) for part in compose["services"]["web"]["command"]]
    assert command[0] == "gunicorn"
    assert "--logger-class" in command
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "backoffice.gunicorn_logging.RedactingLogger" in dockerfile

    def argv_for(port: int) -> list[str]:
        argv = [str(Path(sys.executable).with_name("gunicorn")), *command[1:]]
        argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
        argv[argv.index("--workers") + 1] = "1"
        return argv

    _assert_redacted(_log_of_a_callback(argv_for))
