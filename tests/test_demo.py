"""``manage.py demo`` on the embedded default (SQLite + filesystem broker): the README's first
command, end to end. It starts the simulator, the web server and a Celery worker, links the two
demo sellers through the real OAuth flow, and the worker mirrors their data into SQLite. Then a
newcomer, in Chromium, does the daily actions: a bulk price change (run by the demo's worker),
an offer price edit, and a tracking number that also marks an order sent. Then the demo is
stopped with SIGTERM, started again on the same ``var/`` (the sign-in from the first run still
works), and stopped with SIGINT (Ctrl-C): each time its ports are free again and none of its
processes is left."""

from __future__ import annotations

import base64
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings

from allegro.transport import tls_context
from backoffice.demo import _signed_in_client
from backoffice.management.commands.demo import DEMO_EMAIL, DEMO_PASSWORD, port_is_free
from tests.pages.order_page import wait_for_order_page
from tests.polling import BROWSER_POLL_SCALE
from tests.ports import free_port

REPO = Path(settings.BASE_DIR)
PIXEL = base64.b64decode("R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==")


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
        time.sleep(0.25)
    raise AssertionError(f"{path} never matched {ready.pattern!r}")


def _newcomer_actions(page: Any, base: str) -> None:
    from playwright.sync_api import expect

    # Offer thumbnails point at Allegro's image CDN (data from Allegro, not a page asset); the
    # offline browser gets a local pixel for them, as in tests/pages.
    page.route(
        "https://a.allegroimg.com/**",
        lambda route: route.fulfill(status=200, content_type="image/gif", body=PIXEL),
    )
    page.goto(f"{base}/auth/login/")
    page.fill("input[name=login]", DEMO_EMAIL)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")

    # A bulk price change on five offers: a Celery job on the filesystem broker.
    page.goto(f"{base}/offers/?sort=price")
    boxes = page.get_by_test_id("offer-select")
    for i in range(5):
        boxes.nth(i).check()
    page.select_option("[data-testid=bulk-action]", "price_set")
    page.fill("[data-testid=bulk-value]", "49.90")
    page.get_by_test_id("bulk-submit").click()
    expect(page.get_by_test_id("bulk-state")).to_have_text("zakończono", timeout=90_000)
    expect(page.locator("[data-testid=bulk-row][data-status=SUCCESS]")).to_have_count(5)

    # One offer's price, read back from Allegro's answer.
    page.goto(f"{base}/offers/")
    page.locator("[data-testid=offer-row] a").first.click()
    page.fill("#id_price", "123,45")  # as a Polish user types it
    page.get_by_test_id("save-offer").click()
    expect(page.locator("#messages")).to_contain_text("Zapisano", timeout=30_000)
    expect(page.get_by_test_id("marketplace-prices")).to_contain_text("123,45")

    # A new order gets a tracking number and is marked sent in the same action.
    page.goto(f"{base}/orders/?status=READY_FOR_PROCESSING&fulfillment=NEW")
    page.locator("[data-testid=order-row] a[data-row-link]").first.click()
    wait_for_order_page(page)
    page.select_option("#id_carrier", "DPD")
    page.fill("#id_waybill", "DPD-DEMO-0001")
    page.check("#id_set_sent")
    page.get_by_test_id("add-tracking").click()
    expect(page.get_by_test_id("tracking-numbers")).to_contain_text("DPD-DEMO-0001")
    expect(page.get_by_test_id("fulfillment-status")).to_have_text("Wysłane")


def _start_demo(env: dict[str, str], port: int) -> tuple[subprocess.Popen[str], list[str]]:
    """``manage.py demo`` until it says "Press Ctrl-C"; returns it and what it printed."""
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
    except BaseException:
        _kill(demo)
        raise
    return demo, seen


def _kill(demo: subprocess.Popen[str]) -> None:
    if demo.poll() is None:
        os.killpg(demo.pid, signal.SIGKILL)
        demo.wait()


def _demo_processes(marker: str) -> list[str]:
    """Processes whose environment names this test's var dir: the demo and everything it ran."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if f"BACKOFFICE_VAR_DIR={marker}".encode() in environ.split(b"\0"):
            found.append(f"{proc.name}: {cmdline}")
    return found


def _stop_and_check(
    demo: subprocess.Popen[str], how: signal.Signals, marker: str, ports: list[int]
) -> None:
    """The demo stops by itself on ``how``; then its ports are free and nothing of it is left."""
    demo.send_signal(how)
    try:
        code = demo.wait(timeout=60)
    finally:
        _kill(demo)
    assert code == 0, f"the demo ended with {code} after {how.name}"
    assert _demo_processes(marker) == []
    assert [p for p in ports if not port_is_free("127.0.0.1", p)] == []


@pytest.mark.slow
@pytest.mark.browser
def test_demo_runs_on_the_embedded_default_and_mirrors_the_simulator(
    tmp_path: Path, page: Any
) -> None:
    var_dir = str(tmp_path / "var")
    simulator_port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    env.update(
        BACKOFFICE_VAR_DIR=var_dir,
        DJANGO_SETTINGS_MODULE="backoffice.settings",
        DEMO_SIMULATOR_PORT=str(simulator_port),
        # The worker looks at the embedded broker's queue ten times a second instead of once:
        # the sync's and the bulk job's many short tasks each waited up to a second for a poll.
        CELERY_BROKER_POLLING_INTERVAL="0.1",
        # Its pages poll as in the other browser tests (tests/polling.py): a bulk job's page
        # looks for news every 250 ms instead of every second.
        UI_POLL_SCALE=str(BROWSER_POLL_SCALE),
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    demo, seen = _start_demo(env, port)
    try:
        printed = "".join(seen)
        assert f"{DEMO_EMAIL} / {DEMO_PASSWORD}" in printed
        assert "Linked Allegro accounts (simulator): 2 of 2" in printed

        # The embedded default (no DATABASE_URL, no REDIS_URL): SQLite and the filesystem
        # broker in var/, and a real server that serves the sign-in page to a stranger.
        assert (tmp_path / "var" / "db.sqlite3").exists()
        assert (tmp_path / "var" / "celery" / "queue").is_dir()
        with httpx.Client(base_url=base, timeout=10, verify=tls_context()) as stranger:
            login = stranger.get("/auth/login/")
            assert login.status_code == 200
            assert 'name="login"' in login.text
            assert 'name="password"' in login.text
            health = stranger.get("/healthz")
            assert health.status_code == 200
            assert health.json() == {"database": "ok", "broker": "ok"}
            assert stranger.get("/").status_code == 302

        http = _signed_in_client(base, DEMO_EMAIL, DEMO_PASSWORD)
        session = http.cookies["sessionid"]
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
        _newcomer_actions(page, base)
    except BaseException:
        _kill(demo)
        raise
    # SIGTERM (what `make` sends its child when it is terminated) stops everything.
    _stop_and_check(demo, signal.SIGTERM, var_dir, [port, simulator_port])

    # A restart on the same var/: the sign-in of the first run still holds.
    demo, _ = _start_demo(env, port)
    try:
        with httpx.Client(base_url=base, cookies={"sessionid": session}, timeout=60) as again:
            dashboard = again.get("/")
            assert dashboard.status_code == 200, dashboard.headers.get("location")
            assert again.get("/orders/").status_code == 200
    except BaseException:
        _kill(demo)
        raise
    # Ctrl-C in a terminal sends SIGINT; the demo forwards a stop to every child.
    _stop_and_check(demo, signal.SIGINT, var_dir, [port, simulator_port])
