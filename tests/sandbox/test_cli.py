"""The command line: offline seeding, control commands, serve flags, the background market."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from sandbox.config import REPO_ROOT
from sandbox.testing import SimulatorProcess
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
