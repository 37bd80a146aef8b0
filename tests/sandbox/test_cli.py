"""The command line: offline seeding, control commands, serve flags, the background market."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from sandbox import spec
from sandbox.config import REPO_ROOT
from sandbox.http import V1
from sandbox.testing import SimulatorProcess, free_port
from tests.plugins.simulator import api_client

pytestmark = pytest.mark.sandbox


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_seed_command_builds_the_data_dir() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="sandbox-cli-"))
    result = cli(
        "seed",
        "--data-dir",
        str(data_dir),
        "--sellers",
        "2",
        "--offers",
        "20",
        "--orders",
        "30",
        "--reset",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["sellers"] == ["10000001", "10000002"]
    assert summary["offers"] == 40
    assert summary["orders"] == 60
    with (
        SimulatorProcess(data_dir=data_dir, validate=False) as sim,
        api_client(sim, sim.token("10000002")) as api,
    ):
        assert api.get("/sale/offers").json()["totalCount"] == 20
        assert api.get("/order/checkout-forms").json()["totalCount"] == 30


def test_control_commands_talk_to_a_running_server(sim: SimulatorProcess) -> None:
    sellers = cli("sellers", "--url", sim.url)
    assert sellers.returncode == 0
    assert "SklepKowalski" in sellers.stdout
    bought = cli("purchase", "10000001", "--url", sim.url, "--buyer", "cli_kupiec")
    order = json.loads(bought.stdout)
    assert order["buyer"]["login"] == "cli_kupiec"
    assert (
        json.loads(cli("pay", order["id"], "--url", sim.url).stdout)["status"]
        == "READY_FOR_PROCESSING"
    )
    faults = json.loads(
        cli(
            "faults", "--url", sim.url, "--set", "error_rate=0.5", "--set", "rate_limit.limit=600"
        ).stdout
    )
    assert faults["error_rate"] == 0.5
    assert faults["rate_limit"]["limit"] == 600
    assert json.loads(cli("faults", "--url", sim.url, "--reset").stdout)["error_rate"] == 0.0
    assert json.loads(cli("clock", "--url", sim.url, "--advance", "10").stdout)["offset"] >= 10
    stats = json.loads(cli("stats", "--url", sim.url).stdout)
    assert "paths" in stats


def test_serve_flags_switch_faults_on() -> None:
    extra = [
        "--fault",
        "error_rate=1",
        "--fault",
        "error_statuses=[502]",
        "--rate-limit",
        "600",
        "--rate-window",
        "10",
    ]
    with SimulatorProcess(validate=False, extra_args=extra) as sim:
        sim.reset(sellers=1, offers=5, orders=5)
        faults = sim.control("GET", "/faults")
        assert faults["rate_limit"]["limit"] == 600
        assert faults["rate_limit"]["window"] == 10
        with api_client(sim, sim.token("10000001")) as api:
            assert api.get("/me").status_code == 502


def test_operation_delay_flag_makes_patch_asynchronous() -> None:
    with SimulatorProcess(validate=False, extra_args=["--operation-delay", "3"]) as sim:
        sim.reset(sellers=1, offers=5, orders=0)
        with api_client(sim, sim.token("10000001")) as api:
            offer = api.get("/sale/offers", params={"limit": 1}).json()["offers"][0]
            response = api.patch(
                f"/sale/product-offers/{offer['id']}", json={"stock": {"available": 2}}
            )
        assert response.status_code == 202


def total_orders(sim: SimulatorProcess) -> int:
    total = 0
    for seller in ("10000001", "10000002"):
        with api_client(sim, sim.token(seller)) as api:
            total += api.get("/order/checkout-forms").json()["totalCount"]
    return total


def test_market_steps_create_activity(sim: SimulatorProcess) -> None:
    before = total_orders(sim)
    actions = sim.control("POST", "/market/step", {"count": 10})["actions"]
    assert "purchase" in actions
    assert total_orders(sim) == before + actions.count("purchase")


def test_background_market_generates_orders() -> None:
    with SimulatorProcess(validate=False, extra_args=["--market-rate", "1200"]) as sim:
        sim.reset(sellers=1, offers=20, orders=0)
        token = sim.token("10000001")
        seen = 0
        for _ in range(200):  # polls for up to ~10 s; no timing assertion
            with api_client(sim, token) as api:
                seen = api.get("/order/checkout-forms").json()["totalCount"]
            if seen >= 2:
                break
            time.sleep(0.05)
        assert seen >= 2


def test_parallel_seed_matches_the_sequential_seed(sim: SimulatorProcess) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="sandbox-cli-"))
    args = ["--sellers", "2", "--offers", "30", "--orders", "40", "--seed", "42", "--reset"]
    assert cli("seed", "--data-dir", str(data_dir), "--workers", "2", *args).returncode == 0

    def snapshot(process: SimulatorProcess) -> list[object]:
        with api_client(process, process.token("10000002")) as api:
            offers = api.get("/sale/offers", params={"limit": 1000}).json()["offers"]
            forms = api.get("/order/checkout-forms").json()["checkoutForms"]
        return [(o["id"], o["name"], o["sellingMode"]["price"]) for o in offers] + [
            (f["id"], [li["id"] for li in f["lineItems"]]) for f in forms
        ]

    with SimulatorProcess(data_dir=data_dir, validate=False) as parallel:
        assert snapshot(parallel) == snapshot(sim)  # ``sim`` was seeded in-process, sequentially


# --- where the spec comes from (sandbox/spec.py): a clone must stand alone ---------------------


def closed_port_url() -> str:
    """A URL nothing listens on: the download fails at once, without leaving the machine."""
    return f"http://127.0.0.1:{free_port()}/swagger.yaml"


@pytest.fixture
def real_spec() -> Path:
    """The spec this checkout uses (``make spec`` made sure there is one)."""
    return spec.spec_resolve(download=False)


@pytest.fixture
def spec_places(
    real_spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """``sandbox.spec`` looking at a clone in ``tmp_path`` (no sibling ``shared``, empty var/)."""
    places = {
        "real": real_spec,
        "shared": tmp_path / "shared" / "allegro" / "openapi.yaml",
        "cached": tmp_path / "clone" / "var" / "allegro-openapi.yaml",
    }
    monkeypatch.setattr(spec, "SHARED_SPEC", places["shared"])
    monkeypatch.setattr(spec, "CACHED_SPEC", places["cached"])
    monkeypatch.delenv(spec.PATH_ENV, raising=False)
    monkeypatch.setenv(spec.URL_ENV, closed_port_url())
    return places


def test_the_spec_comes_from_the_environment_first(
    spec_places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "my-spec.yaml"
    shutil.copy(spec_places["real"], copy)
    spec_places["shared"].parent.mkdir(parents=True)
    shutil.copy(spec_places["real"], spec_places["shared"])
    monkeypatch.setenv(spec.PATH_ENV, str(copy))
    assert spec.spec_resolve() == copy
    monkeypatch.setenv(spec.PATH_ENV, str(tmp_path / "missing.yaml"))
    with pytest.raises(spec.SpecUnavailable, match=r"ALLEGRO_OPENAPI_PATH is .*missing\.yaml"):
        spec.spec_resolve()


def test_then_the_sibling_shared_folder_then_a_checked_download(
    spec_places: dict[str, Path],
) -> None:
    spec_places["shared"].parent.mkdir(parents=True)
    shutil.copy(spec_places["real"], spec_places["shared"])
    assert spec.spec_resolve() == spec_places["shared"]
    spec_places["shared"].unlink()
    # A downloaded copy is used only while it matches its recorded checksum.
    cached = spec_places["cached"]
    cached.parent.mkdir(parents=True)
    shutil.copy(spec_places["real"], cached)
    digest = hashlib.sha256(cached.read_bytes()).hexdigest()
    cached.with_name(cached.name + ".sha256").write_text(f"{digest}  {cached.name}\n")
    assert spec.spec_resolve(download=False) == cached
    with cached.open("ab") as fh:
        fh.write(b"# truncated or tampered\n")
    with pytest.raises(spec.SpecUnavailable, match="make spec"):
        spec.spec_resolve(download=False)


def test_the_published_spec_is_downloaded_into_var_with_its_checksum(
    spec_places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    served = spec_places["real"].read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(served)))
            self.end_headers()
            self.wfile.write(served)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv(spec.URL_ENV, f"http://127.0.0.1:{server.server_port}/swagger.yaml")
        path = spec.spec_resolve()
    finally:
        server.shutdown()
        server.server_close()
    assert path == spec_places["cached"]
    assert path.read_bytes() == served
    recorded = path.with_name(path.name + ".sha256").read_text().split()
    assert recorded == [hashlib.sha256(served).hexdigest(), path.name]
    monkeypatch.setenv(spec.URL_ENV, closed_port_url())  # the copy is reused, not fetched again
    assert spec.spec_resolve() == path


def test_no_spec_and_no_download_says_what_is_missing(spec_places: dict[str, Path]) -> None:
    url = os.environ[spec.URL_ENV]
    with pytest.raises(spec.SpecUnavailable) as failure:
        spec.spec_resolve()
    message = str(failure.value)
    assert "ALLEGRO_OPENAPI_PATH is not set" in message
    assert str(spec_places["shared"]) in message
    assert url in message
    assert not spec_places["cached"].exists()


def serve_argv(port: str, data_dir: Path) -> list[str]:
    command = [sys.executable, "-m", "sandbox", "serve", "--validate"]
    return [*command, "--port", port, "--data-dir", str(data_dir)]


def make_clone(tmp_path: Path) -> Path:
    """The simulator package alone in ``tmp_path/clone``: no ``../shared`` beside it."""
    clone = tmp_path / "clone"
    shutil.copytree(
        REPO_ROOT / "sandbox", clone / "sandbox", ignore=shutil.ignore_patterns("__pycache__")
    )
    assert not (clone.parent / "shared").exists()
    return clone


def clone_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != spec.PATH_ENV}
    return {**env, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", **extra}


def test_a_clone_without_a_spec_refuses_to_validate_and_says_why(tmp_path: Path) -> None:
    clone = make_clone(tmp_path)
    url = closed_port_url()
    env = clone_env(**{spec.URL_ENV: url})
    serve = subprocess.run(
        serve_argv(str(free_port()), tmp_path / "data"),
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert serve.returncode == 2
    assert "refusing to start with --validate" in serve.stderr
    assert "ALLEGRO_OPENAPI_PATH is not set" in serve.stderr
    assert url in serve.stderr
    fetch = subprocess.run(
        [sys.executable, "-m", "sandbox", "spec"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert fetch.returncode == 2
    assert url in fetch.stderr
    assert not (clone / "var" / "allegro-openapi.yaml").exists()


@pytest.mark.parametrize(
    "content", [None, b"hello: world\n", b"openapi: 3.0.1\npaths: {unclosed: [\n"]
)
def test_serve_validate_refuses_a_spec_it_cannot_read(
    tmp_path: Path, content: bytes | None
) -> None:
    given = tmp_path / "spec.yaml"
    if content is not None:
        given.write_bytes(content)
    serve = subprocess.Popen(
        serve_argv(str(free_port()), tmp_path / "data"),
        cwd=make_clone(tmp_path),
        env=clone_env(**{spec.PATH_ENV: str(given)}),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = serve.communicate(timeout=120)  # the process ends by itself
    finally:
        if serve.poll() is None:
            serve.kill()
    assert serve.returncode == 2
    assert str(given) in stderr


def test_a_clone_validates_against_the_spec_given_in_allegro_openapi_path(
    tmp_path: Path, real_spec: Path
) -> None:
    copy = tmp_path / "allegro-spec-copy.yaml"
    shutil.copy(real_spec, copy)
    port = free_port()
    server = subprocess.Popen(
        serve_argv(str(port), tmp_path / "data"),
        cwd=make_clone(tmp_path),
        env=clone_env(**{spec.PATH_ENV: str(copy), spec.URL_ENV: closed_port_url()}),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=120) as http:
            for _ in range(600):
                assert server.poll() is None, "the simulator exited"
                try:
                    if http.get("/__sandbox__/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            seed = {"sellers": 1, "offers": 3, "orders": 2, "seed": 42}
            http.post("/__sandbox__/reset", json={"seed": seed}).raise_for_status()
            token = http.post(
                "/__sandbox__/tokens", json={"seller_id": "10000001", "client_id": "demo-client"}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}", "Accept": V1}
            assert http.get("/me", headers=headers).status_code == 200
            http.get("/sale/offers", params={"limit": "many"}, headers=headers)
            violations = http.get("/__sandbox__/violations").json()["violations"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert [(v["kind"], v["path"]) for v in violations] == [("request", "/sale/offers")]
