"""The OAuth callback's ``code`` and ``state`` never reach an access log.

Real servers in subprocesses: Django's runserver (``django.server`` logger) and gunicorn started
with the command docker-compose.yml gives the ``web`` service.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from django.conf import settings

from backoffice.redaction import redact_oauth_params

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_ALLOW_ASYNC")}
    env["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
    return env


def _hit_callback(server: subprocess.Popen[bytes], port: int) -> None:
    """Requests the callback once the server listens (bounded wait)."""
    for _ in range(160):
        try:
            response = httpx.get(f"http://127.0.0.1:{port}{CALLBACK}", timeout=5)
        except httpx.TransportError:
            assert server.poll() is None, "the server exited"
            time.sleep(0.25)
            continue
        assert response.status_code in {301, 302}
        return
    pytest.fail("the server never answered")


def _stop(server: subprocess.Popen[bytes]) -> str:
    server.terminate()
    try:
        out, err = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        out, err = server.communicate()
    return out.decode() + err.decode()


def _assert_redacted(log: str) -> None:
    assert "/accounts/allegro/callback/?code=[redacted]&state=[redacted]" in log, log
    assert CODE not in log
    assert STATE not in log


@pytest.mark.slow
def test_runserver_access_log_redacts_code_and_state() -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=REPO,
        env=_server_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _hit_callback(server, port)
        time.sleep(0.5)  # let the server write its log line before it is stopped
    finally:
        log = _stop(server)
    _assert_redacted(log)


@pytest.mark.slow
def test_gunicorn_access_log_of_the_compose_web_command_redacts_code_and_state() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    command = [str(part) for part in compose["services"]["web"]["command"]]
    assert command[0] == "gunicorn"
    assert "--logger-class" in command
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "backoffice.gunicorn_logging.RedactingLogger" in dockerfile
    port = _free_port()
    argv = [str(Path(sys.executable).with_name("gunicorn")), *command[1:]]
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    argv[argv.index("--workers") + 1] = "1"
    server = subprocess.Popen(
        argv, cwd=REPO, env=_server_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        _hit_callback(server, port)
        time.sleep(0.5)
    finally:
        log = _stop(server)
    _assert_redacted(log)
