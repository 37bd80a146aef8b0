"""docker-compose.yml parses and describes the production-like stack; .ci/run calls make test."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings

REPO = Path(settings.BASE_DIR)


def test_compose_parses_and_has_the_stack() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    assert "gunicorn" in " ".join(map(str, services["web"]["command"]))
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "backoffice.settings.production"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
    assert "volumes" in compose
    assert "pgdata" in compose["volumes"]


def test_dockerfile_and_ci_script() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11")
    ci = (REPO / ".ci" / "run").read_text()
    assert ci.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in ci
    assert "make test" in ci


def test_image_and_package_carry_every_local_app() -> None:
    """Every app of ours in INSTALLED_APPS is copied into the image and packaged."""
    import tomllib

    local = sorted(
        app.split(".")[0]
        for app in settings.INSTALLED_APPS
        if (REPO / app.split(".")[0]).is_dir() and not app.startswith("django")
    )
    assert {"accounts", "mirror", "offers", "orders"} <= set(local)
    dockerfile = (REPO / "Dockerfile").read_text()
    packaged = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    for app in {*local, "backoffice", "allegro", "sandbox"}:
        assert f"COPY {app} ./{app}" in dockerfile, app
        assert f"{app}*" in packaged, app
