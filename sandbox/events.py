"""Event journals (offer and order events) read with a ``from`` cursor.

Events live in the ``events`` table, one ``stream`` per journal; the public id is the opaque
encoding of the row's ``seq``. Fault modes duplicate and reorder events within a page.
"""

from __future__ import annotations

from typing import Any

import orjson

from sandbox.http import ApiError
from sandbox.state import State
from sandbox.store import decode_event_id, encode_event_id


def read_events(
    state: State,
    *,
    stream: str,
    seller_id: str,
    from_id: str | None,
    types: list[str],
    limit: int,
    retention: float | None,
    unknown_status: int,
) -> list[bytes]:
    """A page of serialized events after ``from_id`` (the oldest retained ones without it)."""
    store = state.store
    horizon = state.clock.now() - retention if retention else None
    after = 0
    if from_id:
        seq = decode_event_id(from_id)
        row = (
            store.one(
                "SELECT occurred_at FROM events WHERE seq = ? AND stream = ? AND seller_id = ?",
                (seq, stream, seller_id),
            )
            if seq is not None
            else None
        )
        if row is None:
            raise ApiError(
                unknown_status,
                "INVALID_EVENT_ID",
                f"Unknown event id in 'from': {from_id}",
                path="from",
            )
        if horizon is not None and row[0] < horizon:
            raise ApiError(
                unknown_status,
                "EVENT_EXPIRED",
                f"Event {from_id} is older than the retention window",
                path="from",
            )
        after = int(seq or 0)
    where = ["stream = ?", "seller_id = ?", "seq > ?"]
    params: list[Any] = [stream, seller_id, after]
    if horizon is not None:
        where.append("occurred_at >= ?")
        params.append(horizon)
    if types:
        where.append(f"type IN ({','.join('?' * len(types))})")
        params.extend(types)
    rows = store.all(
        f"SELECT seq, doc FROM events WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?",  # noqa: S608
        [*params, limit],
    )
    page = [with_id(seq, doc) for seq, doc in rows]
    return perturb(state, page)


def with_id(seq: int, doc: bytes) -> bytes:
    return b'{"id":"' + encode_event_id(seq).encode() + b'",' + doc[1:]


def perturb(state: State, page: list[bytes]) -> list[bytes]:
    faults = state.faults
    if faults.duplicate_events_rate > 0:
        doubled: list[bytes] = []
        for item in page:
            doubled.append(item)
            if faults.roll(faults.duplicate_events_rate):
                doubled.append(item)
        page = doubled
    if faults.reorder_events_rate > 0 and len(page) > 1:
        for i in range(0, len(page) - 1, 2):
            if faults.roll(faults.reorder_events_rate):
                page[i], page[i + 1] = page[i + 1], page[i]
    return page


def latest_event(state: State, *, stream: str, seller_id: str) -> dict[str, Any] | None:
    row = state.store.one(
        "SELECT seq, doc FROM events WHERE stream = ? AND seller_id = ? ORDER BY seq DESC LIMIT 1",
        (stream, seller_id),
    )
    if row is None:
        return None
    doc = orjson.loads(row[1])
    return {"id": encode_event_id(row[0]), "occurredAt": doc["occurredAt"]}
