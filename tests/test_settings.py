"""Settings: production refuses to start without secrets. (The embedded default, SQLite and the
filesystem broker in ``var/`` served by a real server, is checked by tests/test_demo.py, which
runs on it.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

REPO = Path(settings.BASE_DIR)
FERNET_KEY = "mQ3rJ1j6Fw0l8Yc1zJ1x7m8cQf2mJxq4hK4b0w7e6ZQ="


def _env(**overrides: str) -> dict[str, str]:
    dropped = ("SECRET_KEY", "FIELD_ENC", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(overrides)
    return env


def _production_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**env, "DJANGO_SETTINGS_MODULE": "backoffice.settings.production"}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_production_refuses_without_secret_key() -> None:
    result = _production_check(_env(FIELD_ENCRYPTION_KEYS=FERNET_KEY))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.slow
def test_production_refuses_without_encryption_key() -> None:
    result = _production_check(_env(SECRET_KEY="x" * 60))
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS is not set" in result.stderr


@pytest.mark.slow
def test_production_reads_secrets_from_files(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret_key"
    secret_file.write_text("s3cr3t-" + "k" * 60 + "\n")
    keys_file = tmp_path / "keys"
    keys_file.write_text(FERNET_KEY)
    result = _production_check(
        _env(
            SECRET_KEY_FILE=str(secret_file),
            FIELD_ENCRYPTION_KEYS_FILE=str(keys_file),
            ALLOWED_HOSTS="backoffice.example.com",
        )
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


# --- entry points: no silent fallback to DEBUG with the development key ----------------------
def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _without_settings_module(**overrides: str) -> dict[str, str]:
    env = _env(**overrides)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


@pytest.mark.slow
@pytest.mark.parametrize("module", ["backoffice.wsgi", "backoffice.asgi"])
def test_server_entry_points_without_settings_module_refuse_without_secrets(module: str) -> None:
    result = _python(f"import {module}", _without_settings_module())
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.slow
def test_celery_without_settings_module_loads_production_settings() -> None:
    code = (
        "import os, backoffice.celery as c; print(os.environ['DJANGO_SETTINGS_MODULE']);"
        " c.app.loader.read_configuration()"
    )
    result = _python(
        f"{code}; from django.conf import settings; settings.DEBUG", _without_settings_module()
    )
    assert result.stdout.strip() == "backoffice.settings.production"
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.slow
def test_wsgi_with_secrets_serves_production_settings_not_debug() -> None:
    code = (
        "import json, backoffice.wsgi; from django.conf import settings;"
        " print(json.dumps([settings.DEBUG, settings.SECRET_KEY.startswith('dev-only'),"
        " settings.LANGUAGE_COOKIE_SECURE, settings.LANGUAGE_COOKIE_HTTPONLY,"
        " settings.LANGUAGE_COOKIE_SAMESITE, settings.ALLAUTH_TRUSTED_PROXY_COUNT,"
        " settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER]))"
    )
    env = _without_settings_module(
        SECRET_KEY="s" * 60, FIELD_ENCRYPTION_KEYS=FERNET_KEY, TRUSTED_PROXY_COUNT="2"
    )
    result = _python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == '[false, false, true, true, "Lax", 2, null]'


def test_language_cookie_is_httponly_and_samesite(client_for: Any, alice: Any) -> None:
    client = client_for(alice)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
