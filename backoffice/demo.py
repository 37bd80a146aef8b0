"""``make demo`` steps for Allegro: start + seed the simulator, link two simulated sellers.

Used by ``backoffice/management/commands/demo.py`` (``STEPS``). Linking goes through the real
authorization-code flow, exactly as a person would do it, but driven server-side with httpx:
sign in to the running back-office, press "Link an Allegro account", answer the simulator's
consent page for the seller, and follow the redirect to the back-office's own callback URL.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
from django.conf import settings

from accounts.models import AccountStatus, AccountToken, AllegroAccount
from allegro.transport import tls_context
from sandbox.consent import approve

if TYPE_CHECKING:
    from backoffice.management.commands.demo import DemoContext


SIMULATOR_PORT = int(os.environ.get("DEMO_SIMULATOR_PORT", "8765"))
DEMO_SELLERS = ("SklepKowalski", "ElektroMax_PL")
SEED = {"sellers": 3, "offers": 300, "orders": 600, "seed": 42}
_STATE_KEY = "simulator_seeded_now"
_NOT_SIMULATOR_SAID = "not_simulator_said"


def _simulator_url() -> str:
    return f"http://127.0.0.1:{SIMULATOR_PORT}"


def _uses_simulator(ctx: DemoContext) -> bool:
    if ctx.options.get("no_serve"):
        return False
    if settings.ALLEGRO_ENVIRONMENT != "simulator" or settings.ALLEGRO_API_URL:
        if not ctx.options.get(_NOT_SIMULATOR_SAID):  # three steps ask; say it once
            ctx.say("Allegro is not the local simulator here: not starting it or linking accounts.")
            ctx.options[_NOT_SIMULATOR_SAID] = True
        return False
    return True


def _health(http: httpx.Client, url: str) -> dict[str, object] | None:
    try:
        response = http.get(f"{url}/__sandbox__/health")
    except httpx.TransportError:
        return None
    return response.json() if response.status_code == 200 else None


def _probe_client() -> httpx.Client:
    """One client for a step's repeated probes: a new client per probe costs an SSL context."""
    return httpx.Client(timeout=2, verify=tls_context())


def _wait_for(check: Callable[[], bool], what: str, *, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up in {seconds:.0f} s")


def step_simulator(ctx: DemoContext) -> None:
    """Start the simulator (data in ``var/sandbox``) unless one answers; do not wait for it.

    It runs first so that it comes up while this process applies migrations;
    :func:`step_simulator_seed` waits for it before the worker starts.
    """
    if not _uses_simulator(ctx):
        return
    url = _simulator_url()
    with _probe_client() as http:
        answering = _health(http, url) is not None
    if not answering:
        callbacks = ",".join(
            f"http://{host}:{ctx.options['port']}/accounts/allegro/callback/"
            for host in dict.fromkeys([ctx.options["host"], "127.0.0.1", "localhost"])
        )
        ctx.spawn(
            "simulator",
            [
                sys.executable,
                "-m",
                "sandbox",
                "serve",
                "--port",
                str(SIMULATOR_PORT),
                "--data-dir",
                str(settings.VAR_DIR / "sandbox"),
                "--client",
                f"demo-client:demo-secret:{callbacks}",
            ],
        )
    if SIMULATOR_PORT != 8765:  # the back-office's simulator default is port 8765
        ctx.env["ALLEGRO_API_URL"] = url
        ctx.env["ALLEGRO_AUTH_URL"] = f"{url}/auth/oauth"


def step_simulator_seed(ctx: DemoContext) -> None:
    """Wait for the simulator started by :func:`step_simulator`; seed it when it is empty."""
    if not _uses_simulator(ctx):
        return
    url = _simulator_url()
    with _probe_client() as http:
        _wait_for(lambda: _health(http, url) is not None, "the Allegro simulator")
        health = _health(http, url) or {}
    ctx.options[_STATE_KEY] = False
    if not health.get("sellers"):
        ctx.say("seeding the simulator (sellers, offers, orders)…")
        seeded = httpx.post(f"{url}/__sandbox__/seed", json=SEED, timeout=600, verify=tls_context())
        seeded.raise_for_status()
        ctx.options[_STATE_KEY] = True
    ctx.notes.append(f"Allegro simulator: {url} (control plane: {url}/__sandbox__/health)")


def _needs_link(login: str, *, fresh_simulator: bool) -> bool:
    if fresh_simulator:
        return True  # tokens from an older simulator data dir are not valid any more
    account = AllegroAccount.objects.filter(environment="simulator", login=login).first()
    if account is None or account.status != AccountStatus.ACTIVE:
        return True
    return not AccountToken.objects.filter(account=account).exists()


def _signed_in_client(base: str, email: str, password: str) -> httpx.Client:
    http = httpx.Client(base_url=base, timeout=60, follow_redirects=False, verify=tls_context())
    http.get("/auth/login/")
    answer = http.post(
        "/auth/login/",
        data={
            "login": email,
            "password": password,
            "csrfmiddlewaretoken": http.cookies.get("csrftoken", ""),
        },
        headers={"Referer": f"{base}/auth/login/"},
    )
    if answer.status_code != 302:
        raise RuntimeError(f"demo staff could not sign in (HTTP {answer.status_code})")
    return http


def link_seller(http: httpx.Client, base: str, login: str) -> None:
    """One authorization-code flow through the running back-office for seller ``login``."""
    started = http.post(
        "/accounts/link/",
        data={"csrfmiddlewaretoken": http.cookies.get("csrftoken", "")},
        headers={"Referer": f"{base}/accounts/"},
    )
    if started.status_code != 302:
        raise RuntimeError(f"'Link an Allegro account' answered HTTP {started.status_code}")
    with httpx.Client(timeout=60, verify=tls_context()) as allegro:
        callback = approve(allegro, started.headers["location"], seller_login=login)
    finished = http.get(callback)
    if finished.status_code != 302:
        raise RuntimeError(f"the callback answered HTTP {finished.status_code}")


def step_link_accounts(ctx: DemoContext) -> None:
    """Link the two demo sellers through the web server started by the web step."""
    if not _uses_simulator(ctx):
        return
    base = f"http://{ctx.options['host']}:{ctx.options['port']}"
    with _probe_client() as probe:
        _wait_for(lambda: _web_up(probe, base), "the back-office web server")
    fresh = bool(ctx.options.get(_STATE_KEY))
    todo = [login for login in DEMO_SELLERS if _needs_link(login, fresh_simulator=fresh)]
    if todo:
        http = _signed_in_client(base, ctx.options["email"], ctx.options["password"])
        try:
            for login in todo:
                link_seller(http, base, login)
                ctx.say(f"linked simulated seller {login}")
        finally:
            http.close()
    linked = AllegroAccount.objects.filter(
        environment="simulator", login__in=DEMO_SELLERS, status=AccountStatus.ACTIVE
    ).count()
    ctx.notes.append(f"Linked Allegro accounts (simulator): {linked} of {len(DEMO_SELLERS)}")


def _web_up(http: httpx.Client, base: str) -> bool:
    try:
        return http.get(f"{base}/healthz").status_code == 200
    except httpx.TransportError:
        return False
