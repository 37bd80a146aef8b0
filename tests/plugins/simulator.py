"""pytest fixtures for the Allegro simulator (``sandbox/``), shared by the whole suite.

- ``simulator``: one ``SimulatorProcess`` per session (per xdist worker), spec validation on.
- ``sim``: function-scoped; the simulator with 2 sellers x 30 offers x 40 orders (``SMALL_SEED``).
  The first test of a worker seeds for real and snapshots the result (``SMALL_SNAPSHOT``); every
  later test restores that snapshot (same resources, ids, event ids and tokens; statistics,
  violations, faults and settings reset as ``/reset`` does), which costs a file copy instead
  of a seeding run. ``tests/sandbox/test_sim_fixture.py`` checks the restored state equals a
  fresh seed.
- ``seller_id`` / ``seller_token`` / ``api``: an ``httpx.Client`` for seller ``10000001`` with
  ``Accept: application/vnd.allegro.public.v1+json``.
- Every test that used the simulator fails if its traffic produced spec violations, unless it is
  marked ``@pytest.mark.allow_spec_violations`` (tests that send invalid requests on purpose).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from allegro.transport import tls_context
from sandbox.http import V1
from sandbox.testing import SimulatorProcess

SELLER_ID = "10000001"
OTHER_SELLER_ID = "10000002"
SMALL_SEED = {"sellers": 2, "offers": 30, "orders": 40, "seed": 42}
SMALL_SNAPSHOT = "small-seed"
# The simulators (url, data dir) that hold a ``SMALL_SNAPSHOT`` taken by ``sim``.
_snapshotted: set[tuple[str, str]] = set()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox: talks to the Allegro simulator only (no database)")
    config.addinivalue_line(
        "markers", "allow_spec_violations: the test sends requests that break the spec on purpose"
    )


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorProcess]:
    process = SimulatorProcess(validate=True).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def _spec_violations_fail_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Clear violations before a simulator-using test and fail it if any were recorded."""
    if "simulator" not in request.fixturenames:
        yield
        return
    process: SimulatorProcess = request.getfixturevalue("simulator")
    process.violations(clear=True)
    yield
    found = process.violations(clear=True)
    if found and request.node.get_closest_marker("allow_spec_violations") is None:
        lines = "\n".join(
            f"- {v['kind']} {v['method']} {v['path']} {v['status']}: {v['errors']}" for v in found
        )
        pytest.fail(f"Simulator traffic broke the Allegro spec:\n{lines}")


def small_seed(simulator: SimulatorProcess) -> None:
    """Reset ``simulator`` to ``SMALL_SEED``: seeded once, then restored from its snapshot."""
    key = (simulator.url, str(simulator.data_dir))
    if key in _snapshotted:
        simulator.control("POST", "/restore", {"name": SMALL_SNAPSHOT})
        return
    simulator.control("POST", "/reset", {"seed": SMALL_SEED})
    simulator.control("POST", "/snapshot", {"name": SMALL_SNAPSHOT})
    _snapshotted.add(key)


@pytest.fixture
def sim(simulator: SimulatorProcess) -> SimulatorProcess:
    """A freshly reset simulator (default settings and faults) with small deterministic data."""
    small_seed(simulator)
    return simulator


@pytest.fixture
def seller_id() -> str:
    return SELLER_ID


@pytest.fixture
def seller_token(sim: SimulatorProcess, seller_id: str) -> str:
    return sim.token(seller_id)


def api_client(sim: SimulatorProcess, token: str, accept: str = V1) -> httpx.Client:
    return httpx.Client(
        base_url=sim.url,
        headers={"Authorization": f"Bearer {token}", "Accept": accept, "Content-Type": accept},
        timeout=30,
        verify=tls_context(),  # one per process: a new one costs ~30 ms of CPU (the CA bundle)
    )


@pytest.fixture
def api(sim: SimulatorProcess, seller_token: str) -> Iterator[httpx.Client]:
    with api_client(sim, seller_token) as client:
        yield client


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    assert "errors" in body, body
    errors: list[dict[str, Any]] = body["errors"]
    return errors
