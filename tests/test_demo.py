"""``manage.py demo`` on the embedded default (SQLite + filesystem broker): the README's first
command, end to end. It starts the simulator, the web server and a Celery worker, links the two
demo sellers through the real OAuth flow, and the worker mirrors their data into SQLite."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from accounts.demo import _signed_in_client
from backoffice.management.commands.demo import DEMO_EMAIL, DEMO_PASSWORD

REPO = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_lines(stream: object, lines: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        lines.put(line)


def _wait_for_line(lines: queue.Queue[str], pattern: str, seconds: float, seen: list[str]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        if pattern in line:
            return
    raise AssertionError(f"no {pattern!r} within {seconds:.0f} s:\n" + "".join(seen[-40:]))


def _poll(http: httpx.Client, path: str, ready: re.Pattern[str], seconds: float) -> str:
    deadline = time.monotonic() + seconds
    body = ""
    while time.monotonic() < deadline:
        answer = http.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        body = answer.text
        if ready.search(body):
            return body
        time.sleep(1)
    raise AssertionError(f"{path} never matched {ready.pattern!r}")


@pytest.mark.slow
def test_demo_runs_on_the_embedded_default_and_mirrors_the_simulator(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    env.update(
        BACKOFFICE_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="backoffice.settings",
        DEMO_SIMULATOR_PORT=str(_free_port()),
        PYTHONUNBUFFERED="1",
    )
    port = _free_port()
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(demo.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        _wait_for_line(lines, "Press Ctrl-C", 240, seen)
        printed = "".join(seen)
        assert f"{DEMO_EMAIL} / {DEMO_PASSWORD}" in printed
        assert "Linked Allegro accounts (simulator): 2 of 2" in printed

        base = f"http://127.0.0.1:{port}"
        http = _signed_in_client(base, DEMO_EMAIL, DEMO_PASSWORD)
        try:
            # The worker mirrors both sellers' orders and offers into SQLite.
            orders = _poll(http, "/orders/", re.compile(r'data-testid="order-row"'), 180)
            assert re.search(r"order-row(?s:.*)SklepKowalski|order-row(?s:.*)ElektroMax_PL", orders)
            offers = _poll(http, "/offers/", re.compile(r'data-testid="offer-row"'), 120)
            assert "SklepKowalski" in offers or "ElektroMax_PL" in offers
            # Search and paging go through the SQLite fallbacks of the list machinery.
            assert http.get("/orders/", params={"q": "a"}).status_code == 200
            assert http.get("/offers/", params={"q": "a"}).status_code == 200
            assert http.get("/orders/", params={"page": "2"}).status_code == 200
            # The mirror's beat schedule exists, so incremental sync runs in the demo too.
            beat = http.get("/admin/django_celery_beat/periodictask/")
            assert beat.status_code == 200
            assert "mirror: order events" in beat.text
            accounts = http.get("/accounts/")
            assert accounts.status_code == 200
            assert accounts.text.count('data-testid="sync-progress"') == 2
        finally:
            http.close()
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGTERM)  # the demo stops its children cleanly on SIGTERM
            try:
                demo.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait()
    # Nothing it started is left running.
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path / "var")], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout.strip() == "", leftovers.stdout
