"""The seed's bulk path (indexes dropped and rebuilt, forked workers) on a real file.

The bulk path starts at ``BULK_ROWS`` (20k) offers + orders per seller; here it starts at 2k
(batches of 400 rows instead of 5000), so the same path runs on a tenth of the data. The
failure is injected into the generator the workers run (they are forked, so they inherit the
patches); the store is the real SQLite database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import seed as seed_module
from sandbox.config import SandboxConfig
from sandbox.seed import SeedOptions, seed
from sandbox.state import State

pytestmark = pytest.mark.sandbox

BULK = {"sellers": 2, "offers": 1_000, "orders": 1_000, "workers": 2}
SEED_TIME = 1_767_225_600.0  # both runs of a comparison build the same timestamps


@pytest.fixture(autouse=True)
def bulk_from_2k_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seed_module, "BULK_ROWS", 2_000)
    monkeypatch.setattr(seed_module, "BATCH", 400)  # still several batches per seller


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    opened = State.open(SandboxConfig(data_dir=tmp_path))
    yield opened
    opened.store.close()


def index_names(state: State) -> set[str]:
    rows = state.store.all(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"
    )
    return {r[0] for r in rows}


def test_a_failing_worker_leaves_no_data_and_the_indexes_in_place(
    state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexes = index_names(state)
    real = seed_module.order_doc

    def failing(ctx: Any, **kwargs: Any) -> dict[str, Any]:
        if kwargs["seller_id"] == "10000002":
            raise ValueError("generator broke")
        return real(ctx, **kwargs)

    monkeypatch.setattr(seed_module, "order_doc", failing)
    with pytest.raises(RuntimeError, match="generator broke"):
        seed(state, SeedOptions(**BULK))
    for table in ("sellers", "offers", "orders", "events"):
        assert state.store.scalar(f"SELECT COUNT(*) FROM {table}") == 0
    assert index_names(state) == indexes
    assert state.store.scalar("PRAGMA journal_mode") == "wal"


def test_bulk_seed_in_workers_equals_the_sequential_one(tmp_path: Path) -> None:
    def contents(workers: int) -> tuple[list[Any], ...]:
        opened = State.open(SandboxConfig(data_dir=tmp_path / str(workers)))
        try:
            seed(opened, SeedOptions(**{**BULK, "workers": workers}))
            store = opened.store
            return (
                store.all("SELECT id, seller_id, doc, listing FROM offers ORDER BY id"),
                store.all("SELECT id, seller_id, doc FROM orders ORDER BY id"),
                store.all("SELECT seq, seller_id, type, subject_id FROM events ORDER BY seq"),
            )
        finally:
            opened.store.close()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sandbox.state.Clock.now", lambda self: SEED_TIME)
        parallel = contents(2)
        sequential = contents(1)
    assert [len(part) for part in parallel] == [len(part) for part in sequential]
    assert parallel == sequential
