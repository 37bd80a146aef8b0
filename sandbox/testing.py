"""Run the simulator as a subprocess for tests: ``SimulatorProcess``.

sim = SimulatorProcess(validate=True).start()
sim.control("POST", "/reset", {"seed": {"sellers": 2, "offers": 50, "orders": 50}})
token = sim.token("10000001")
httpx.get(f"{sim.url}/me", headers={"Authorization": f"Bearer {token}", "Accept": V1})
sim.stop()
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from sandbox.config import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, REPO_ROOT

UVICORN_BIND_FAILED = 3  # uvicorn's exit status when it cannot bind its address

# httpx builds a TLS context (the whole CA bundle parsed, ~30 ms of CPU) for every client it is
# not handed one; the suite starts dozens of simulators, and a context only holds settings.
tls_context = functools.cache(httpx.create_ssl_context)


class PortTaken(RuntimeError):
    """The free port found was taken by another process before the simulator bound it."""


TEST_CLIENT_ID = "test-client"
TEST_CLIENT_SECRET = "test-secret"
TEST_REDIRECT_URI = "http://testserver.local/callback"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SimulatorProcess:
    """A simulator on a free loopback port with a temporary data dir (validation on by default)."""

    def __init__(
        self,
        *,
        validate: bool = True,
        data_dir: Path | None = None,
        extra_args: list[str] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.validate = validate
        self._own_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="sandbox-"))
        self.extra_args = extra_args or []
        self.startup_timeout = startup_timeout
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None
        self.client_id = TEST_CLIENT_ID
        self.client_secret = TEST_CLIENT_SECRET
        self.redirect_uri = TEST_REDIRECT_URI

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/auth/oauth"

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--client",
            f"{TEST_CLIENT_ID}:{TEST_CLIENT_SECRET}:{TEST_REDIRECT_URI},http://127.0.0.1/other",
            "--client",
            f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}:http://localhost:8000/accounts/allegro/callback/",
        ]
        if self.validate:
            cmd.append("--validate")
        return cmd + self.extra_args

    def start(self, *, attempts: int = 3) -> SimulatorProcess:
        """Start on a free port. Another process can take that port between the check and the
        bind (uvicorn then exits with 3): a new port is tried, a bounded number of times."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once()
            except PortTaken:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def _start_once(self) -> SimulatorProcess:
        self.port = free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(self.command(), cwd=str(REPO_ROOT), env=env)  # noqa: S603 - our own module
        self._client = httpx.Client(base_url=self.url, timeout=60, verify=tls_context())
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self._client.close()
                if code == UVICORN_BIND_FAILED:
                    raise PortTaken(f"port {self.port} was taken before the simulator bound it")
                raise RuntimeError(f"simulator exited with {code}")
            try:
                if self._client.get("/__sandbox__/health").status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("simulator did not start in time")

    def control(self, method: str, path: str, json: Any = None) -> Any:
        """Call ``/__sandbox__{path}``; raises on an error status; returns the JSON body."""
        assert self._client is not None, "start() first"
        response = self._client.request(method, f"/__sandbox__{path}", json=json)
        response.raise_for_status()
        return response.json()

    def reset(self, *, sellers: int = 0, offers: int = 0, orders: int = 0, seed: int = 42) -> Any:
        body: dict[str, Any] = {}
        if sellers:
            body["seed"] = {"sellers": sellers, "offers": offers, "orders": orders, "seed": seed}
        return self.control("POST", "/reset", body)

    def token(self, seller_id: str | None, scopes: list[str] | None = None) -> str:
        body: dict[str, Any] = {"seller_id": seller_id, "client_id": self.client_id}
        if scopes is not None:
            body["scopes"] = scopes
        token: str = self.control("POST", "/tokens", body)["access_token"]
        return token

    def violations(self, *, clear: bool = False) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.control("DELETE" if clear else "GET", "/violations")[
            "violations"
        ]
        return items

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
