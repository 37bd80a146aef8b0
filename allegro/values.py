"""Reading values out of Allegro's JSON documents: the one place that digs into raw JSON.

Framework-free. ``allegro.api`` modules use these to build typed documents; domain apps read
the typed documents and never parse JSON themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def dig(data: Any, *path: str) -> Any:
    """``data[a][b]...`` or ``None`` when any step is missing or not an object."""
    for key in path:
        # ``type(...) is dict`` first: what a JSON parser gives, and far cheaper than the
        # abstract ``Mapping`` check (parsing a page calls this a hundred thousand times).
        if type(data) is not dict and not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def text(value: Any) -> str:
    return "" if value is None else str(value)


def parse_amount(value: Any) -> Decimal | None:
    """An amount rounded to grosze, ``None`` when missing or not a number."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return amount.quantize(Decimal("0.01"))


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from Allegro's ISO 8601 form (``...Z``), ``None`` when not parseable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
