"""Named snapshots of the simulator's SQLite state (``/__sandbox__/snapshot`` and ``/restore``).

A snapshot is a page-for-page copy of the database file (SQLite's online backup), kept next to
it as ``snapshot-<name>.sqlite3``: restoring it brings back every resource, event (with its id:
the event sequence is part of the copy), token and the ``meta`` table (signing secret, clock
offset) exactly as they were. Tests seed once, snapshot, and restore before each test instead of
seeding again.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from sandbox.store import Store

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class SnapshotError(ValueError):
    pass


def snapshot_path(*, store: Store, name: str) -> Path:
    if not NAME.match(name) or name.startswith("."):
        raise SnapshotError(f"Invalid snapshot name {name!r} (letters, digits, '_', '-', '.')")
    return store.path.with_name(f"snapshot-{name}.sqlite3")


def snapshot_save(*, store: Store, name: str) -> Path:
    """Copy the current state to the snapshot ``name`` (replacing an older one)."""
    path = snapshot_path(store=store, name=name)
    path.unlink(missing_ok=True)
    target = sqlite3.connect(str(path))
    try:
        target.execute("PRAGMA synchronous=OFF")
        with store.lock:
            store.conn.backup(target)
    finally:
        target.close()
    return path


def snapshot_restore(*, store: Store, name: str) -> None:
    """Replace the current state with the snapshot ``name`` (``FileNotFoundError`` if none)."""
    path = snapshot_path(store=store, name=name)
    if not path.exists():
        raise FileNotFoundError(f"No snapshot named {name!r}")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        with store.lock:
            source.backup(store.conn)
            store.writes += 1  # invalidates the count cache
    finally:
        source.close()


def snapshot_names(*, store: Store) -> list[str]:
    prefix, suffix = "snapshot-", ".sqlite3"
    return sorted(
        p.name[len(prefix) : -len(suffix)] for p in store.path.parent.glob(f"{prefix}*{suffix}")
    )
