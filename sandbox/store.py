"""The simulator's state: one SQLite file in ``--data-dir``.

Every resource is stored as pre-serialized JSON (``doc``) next to indexed columns for each filter
and sort the spec offers, so list endpoints concatenate bytes instead of re-serializing.

Generic resources (disputes, ratings, return policies, shipments...) go in ``documents``:
``kind`` names the resource, ``k1``..``k3`` and ``sort_key`` are free indexed columns.
"""

from __future__ import annotations

import base64
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sellers (
    id TEXT PRIMARY KEY, login TEXT NOT NULL UNIQUE, doc BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS offers (
    id INTEGER PRIMARY KEY,
    seller_id TEXT NOT NULL,
    name TEXT NOT NULL,
    price REAL NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    marketplace TEXT NOT NULL,
    format TEXT NOT NULL,
    external_id TEXT,
    category_id TEXT,
    product_id TEXT,
    return_policy_id TEXT,
    shipping_rates_id TEXT,
    is_fulfillment INTEGER NOT NULL DEFAULT 0,
    b2b_only INTEGER NOT NULL DEFAULT 0,
    stock_available INTEGER NOT NULL,
    stock_sold INTEGER NOT NULL,
    created_seq INTEGER NOT NULL,
    pending_operation TEXT,
    doc BLOB NOT NULL,
    listing BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS offers_seller_created ON offers (seller_id, created_seq);
CREATE INDEX IF NOT EXISTS offers_seller_status ON offers (seller_id, status, created_seq);
CREATE INDEX IF NOT EXISTS offers_seller_price ON offers (seller_id, price);
CREATE INDEX IF NOT EXISTS offers_seller_sold ON offers (seller_id, stock_sold);
CREATE INDEX IF NOT EXISTS offers_seller_available ON offers (seller_id, stock_available);
CREATE INDEX IF NOT EXISTS offers_seller_external ON offers (seller_id, external_id);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    seller_id TEXT NOT NULL,
    status TEXT NOT NULL,
    fulfillment_status TEXT NOT NULL,
    provider TEXT NOT NULL,
    line_items_sent TEXT NOT NULL,
    bought_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    buyer_login TEXT NOT NULL,
    marketplace TEXT NOT NULL,
    payment_id TEXT,
    delivery_method_id TEXT,
    surcharge_ids TEXT NOT NULL DEFAULT '',
    revision TEXT NOT NULL,
    merged_into TEXT,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_seller_bought_id ON orders (seller_id, bought_at, id);
CREATE INDEX IF NOT EXISTS orders_seller_updated_id ON orders (seller_id, updated_at, id);
CREATE INDEX IF NOT EXISTS orders_seller_status_id ON orders (seller_id, status, bought_at, id);
CREATE INDEX IF NOT EXISTS orders_seller_fstatus_id
    ON orders (seller_id, fulfillment_status, bought_at, id);
CREATE INDEX IF NOT EXISTS orders_seller_buyer ON orders (seller_id, buyer_login);
CREATE TABLE IF NOT EXISTS order_waybills (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    seller_id TEXT NOT NULL,
    waybill TEXT NOT NULL,
    created_at TEXT NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS order_waybills_order ON order_waybills (order_id, created_at);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    seller_id TEXT NOT NULL,
    type TEXT NOT NULL,
    occurred_at REAL NOT NULL,
    subject_id TEXT NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_stream ON events (stream, seller_id, seq);
CREATE TABLE IF NOT EXISTS commands (
    seller_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at REAL NOT NULL,
    ready_at REAL NOT NULL,
    doc BLOB NOT NULL,
    PRIMARY KEY (seller_id, kind, id)
);
CREATE TABLE IF NOT EXISTS command_tasks (
    seller_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    command_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    doc BLOB NOT NULL,
    PRIMARY KEY (seller_id, kind, command_id, idx)
);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    seller_id TEXT NOT NULL,
    offer_id INTEGER NOT NULL,
    started_at REAL NOT NULL,
    ready_at REAL NOT NULL,
    patch BLOB NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    seller_id TEXT NOT NULL,
    sort_key TEXT NOT NULL DEFAULT '',
    k1 TEXT,
    k2 TEXT,
    k3 TEXT,
    doc BLOB NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS documents_seller_sort ON documents (kind, seller_id, sort_key);
CREATE INDEX IF NOT EXISTS documents_k1 ON documents (kind, seller_id, k1);
CREATE TABLE IF NOT EXISTS oauth_codes (
    code TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    seller_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    challenge TEXT,
    challenge_method TEXT,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    seller_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS device_codes (
    device_code TEXT PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    seller_id TEXT,
    denied INTEGER NOT NULL DEFAULT 0,
    used INTEGER NOT NULL DEFAULT 0,
    expires_at REAL NOT NULL
);
"""

DATA_TABLES = (
    "sellers",
    "offers",
    "orders",
    "order_waybills",
    "events",
    "commands",
    "command_tasks",
    "operations",
    "documents",
    "oauth_codes",
    "refresh_tokens",
    "device_codes",
)


def encode_event_id(seq: int) -> str:
    """Opaque event ids like Allegro's (``MTEzMjQzODU3NA`` is base64 of ``1132438574``)."""
    return base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


def decode_event_id(value: str) -> int | None:
    try:
        padded = value + "=" * (-len(value) % 4)
        return int(base64.urlsafe_b64decode(padded.encode()).decode())
    except ValueError:
        return None


@dataclass
class Transaction:
    """Handle of an ``atomic()`` block: ``rollback()`` undoes it when the block ends."""

    rollback_only: bool = False

    def rollback(self) -> None:
        self.rollback_only = True


class Store:
    """A thin wrapper over one SQLite connection (the server is single-threaded asyncio)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.lock = threading.RLock()
        self.writes = 0  # bumped on every write: keys the count cache
        self._depth = 0  # nesting of ``atomic()`` blocks (savepoint names)
        self._counts: dict[tuple[str, tuple[Any, ...]], tuple[int, int, int]] = {}
        self.conn.execute("PRAGMA busy_timeout=10000")
        self.conn.execute("PRAGMA page_size=32768")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA cache_size=-32000")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def atomic(self, *, immediate: bool = True) -> Iterator[Transaction]:
        """All or nothing: commits when the block ends, unless it raises or calls ``rollback()``.

        The outermost one is a SQLite transaction (``BEGIN IMMEDIATE``, or a deferred ``BEGIN``
        for blocks that mostly read); inside another one it is a savepoint, so ``tx()`` blocks
        of the domain code nest in the transaction ``sandbox.app`` opens around every handler.
        """
        with self.lock:
            outer = not self.conn.in_transaction
            name = f"sp{self._depth}"
            if outer:
                self.conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            else:
                self.conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            handle = Transaction()
            try:
                yield handle
            except BaseException:
                self._depth -= 1
                self._undo(outer=outer, name=name)
                raise
            self._depth -= 1
            if handle.rollback_only:
                self._undo(outer=outer, name=name)
            elif outer:
                self.conn.execute("COMMIT")
            else:
                self.conn.execute(f"RELEASE {name}")

    def _undo(self, *, outer: bool, name: str) -> None:
        self.writes += 1  # counts cached inside the transaction saw rows that are now gone
        if not self.conn.in_transaction:  # SQLite already rolled back (e.g. disk full)
            return
        if outer:
            self.conn.execute("ROLLBACK")
        else:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (a savepoint inside an enclosing one); rolled back on error."""
        with self.atomic():
            self.writes += 1
            yield self.conn

    def one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | tuple[Any, ...] | None:
        with self.lock:
            result: tuple[Any, ...] | None = self.conn.execute(sql, params).fetchone()
            return result

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return row[0] if row else None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self.lock:
            self.writes += 1
            return self.conn.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.lock:
            self.writes += 1
            self.conn.executemany(sql, rows)

    def count(self, sql: str, params: Sequence[Any]) -> int:
        """``SELECT COUNT(*) ...`` cached until the next write (ours or another process's)."""
        key = (sql, tuple(params))
        external = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        hit = self._counts.get(key)
        if hit is not None and hit[0] == self.writes and hit[1] == external:
            return hit[2]
        value = int(self.scalar(sql, params) or 0)
        if len(self._counts) > 10_000:
            self._counts.clear()
        self._counts[key] = (self.writes, external, value)
        return value

    # -- meta -------------------------------------------------------------------------------
    def meta_get(self, key: str) -> str | None:
        value = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return str(value) if value is not None else None

    def meta_set(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
            (key, value, value),
        )

    def reset(self) -> None:
        """Delete every resource (keeps ``meta``: the signing secret survives)."""
        with self.tx() as conn:
            for table in DATA_TABLES:
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            conn.execute("DELETE FROM sqlite_sequence WHERE name = 'events'")

    def drop_indexes(self, tables: tuple[str, ...]) -> None:
        """Drop secondary indexes before a bulk load (``create_indexes`` rebuilds them)."""
        marks = ",".join("?" * len(tables))
        names = self.all(
            f"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({marks}) "  # noqa: S608
            "AND name NOT LIKE 'sqlite_autoindex%'",
            tables,
        )
        for (name,) in names:
            self.execute(f'DROP INDEX IF EXISTS "{name}"')

    def create_indexes(self) -> None:
        with self.lock:
            self.conn.executescript(SCHEMA)

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Faster bulk inserts: rollback journal instead of WAL (no double write), no fsync.

        Falls back to the normal mode when another connection holds the file (a running server).
        """
        switched = False
        with self.lock:
            try:
                self.conn.execute("PRAGMA journal_mode=DELETE")
                self.conn.execute("PRAGMA synchronous=OFF")
                self.conn.execute(
                    "PRAGMA cache_size=-262144"
                )  # 256 MB: index builds sort in memory
                self.conn.execute("PRAGMA threads=2")  # ... with a helper thread
                switched = True
            except sqlite3.OperationalError:
                switched = False
        try:
            yield
        finally:
            if switched:
                with self.lock:
                    self.conn.execute("PRAGMA threads=0")
                    self.conn.execute("PRAGMA cache_size=-32000")
                    self.conn.execute("PRAGMA synchronous=NORMAL")
                    self.conn.execute("PRAGMA journal_mode=WAL")

    # -- events -----------------------------------------------------------------------------
    def add_event(
        self,
        *,
        stream: str,
        seller_id: str,
        type_: str,
        occurred_at: float,
        subject_id: str,
        doc: dict[str, Any],
    ) -> int:
        """Append an event; ``doc`` is stored without ``id`` (added on read from ``seq``)."""
        with self.lock:
            self.writes += 1
            cur = self.conn.execute(
                "INSERT INTO events (stream, seller_id, type, occurred_at, subject_id, doc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (stream, seller_id, type_, occurred_at, subject_id, orjson.dumps(doc)),
            )
            return int(cur.lastrowid or 0)

    # -- generic documents ------------------------------------------------------------------
    def doc_put(
        self,
        *,
        kind: str,
        id_: str,
        seller_id: str,
        doc: dict[str, Any],
        sort_key: str = "",
        k1: str | None = None,
        k2: str | None = None,
        k3: str | None = None,
    ) -> None:
        self.execute(
            "INSERT INTO documents (kind, id, seller_id, sort_key, k1, k2, k3, doc) VALUES (?, "
            "?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(kind, id) DO UPDATE SET seller_id=excluded.seller_id, "
            "sort_key=excluded.sort_key, "
            "k1=excluded.k1, k2=excluded.k2, k3=excluded.k3, doc=excluded.doc",
            (kind, id_, seller_id, sort_key, k1, k2, k3, orjson.dumps(doc)),
        )

    def doc_get(
        self, *, kind: str, id_: str, seller_id: str | None = None
    ) -> dict[str, Any] | None:
        if seller_id is None:
            row = self.one("SELECT doc FROM documents WHERE kind = ? AND id = ?", (kind, id_))
        else:
            row = self.one(
                "SELECT doc FROM documents WHERE kind = ? AND id = ? AND seller_id = ?",
                (kind, id_, seller_id),
            )
        if row is None:
            return None
        loaded: dict[str, Any] = orjson.loads(row[0])
        return loaded

    def doc_delete(self, *, kind: str, id_: str) -> bool:
        return self.execute("DELETE FROM documents WHERE kind = ? AND id = ?", (kind, id_)) > 0

    def doc_list(
        self,
        *,
        kind: str,
        seller_id: str,
        where: str = "",
        params: Sequence[Any] = (),
        descending: bool = True,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Documents of one kind for a seller ordered by ``sort_key``; returns (page, total)."""
        clause = f" AND ({where})" if where else ""
        base = f"FROM documents WHERE kind = ? AND seller_id = ?{clause}"
        args = (kind, seller_id, *params)
        total = int(self.scalar(f"SELECT COUNT(*) {base}", args) or 0)
        order = "DESC" if descending else "ASC"
        rows = self.all(
            f"SELECT doc {base} ORDER BY sort_key {order}, id {order} LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        return [orjson.loads(r[0]) for r in rows], total
