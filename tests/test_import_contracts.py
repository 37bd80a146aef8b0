"""The import contracts (``.importlinter``) hold, and a violation makes ``lint-imports`` fail.

``make lint`` runs ``lint-imports`` on the tree; this test also shows that a contract breaks
when a domain app imports another, on a copy of the packages.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = [
    "allegro",
    "sandbox",
    "backoffice",
    "accounts",
    "offers",
    "orders",
    "shipping",
    "aftersales",
    "mirror",
    "jobs",
    "ui",
]


def _copy(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(
            ROOT / name,
            tmp_path / name,
            ignore=shutil.ignore_patterns("__pycache__", "locale", "templates", "static"),
        )
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=where,
        env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return _copy(tmp_path)


def test_the_contracts_hold(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("offers/views.py", "import orders.models", "domain apps do not import each other"),
        ("allegro/client.py", "import django.conf", "allegro imports nothing from Django"),
        ("sandbox/app.py", "import allegro.errors", "the simulator imports nothing"),
        ("jobs/models.py", "import offers.models", "domains above the sync kit"),
        ("shipping/views.py", "import aftersales.models", "shipping builds on orders and offers"),
    ],
)
def test_a_violation_breaks_its_contract(tree: Path, module: str, line: str, broken: str) -> None:
    target = tree / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout
    assert "BROKEN" in result.stdout
