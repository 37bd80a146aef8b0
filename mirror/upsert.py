"""Set-based writes of a sync page: the rows go in with one ``COPY``, then one statement merges
them (``INSERT ... SELECT ... ON CONFLICT DO UPDATE``).

Measured in ``bench/upsert.py``: a page of model instances through ``bulk_create`` spends most
of its time in Python (instances, per-field adaptation, ``json.dumps``); ``COPY`` hands
PostgreSQL text it parses in C, and the merge writes a row only when something in it changed.
The staging table is temporary and dropped at commit, so a killed worker leaves nothing behind.

PostgreSQL only: a domain keeps its ``bulk_create`` path for the embedded SQLite default
(``connection.vendor``), also taken when the setting ``MIRROR_SET_BASED_UPSERTS`` is false.
Domains own their SQL; this module builds the shared pieces.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, models

_stage_numbers = itertools.count()


def set_based() -> bool:
    """Whether the page writes use ``COPY`` (PostgreSQL) rather than ``bulk_create``."""
    return connection.vendor == "postgresql" and bool(
        getattr(settings, "MIRROR_SET_BASED_UPSERTS", True)
    )


def json_text(value: Any) -> str | None:
    """A JSON column's value as ``COPY`` text (``None``: SQL NULL, as the ORM stores it)."""
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer beyond 64 bits
        return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    is_json: bool = False


def columns_of(model: type[models.Model], fields: Iterable[str]) -> tuple[Column, ...]:
    """The table columns behind ``fields`` (field names), with their SQL types."""
    out = []
    for name in fields:
        f = model._meta.get_field(name)
        assert isinstance(f, models.Field)
        sql_type = f.db_type(connection) or "text"
        out.append(
            Column(
                f.get_attname_column()[1] or f.name,
                sql_type,
                is_json=isinstance(f, models.JSONField),
            )
        )
    return tuple(out)


def stage(cursor: Any, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> str:
    """Create a temporary table of ``columns`` (dropped at commit), ``COPY`` ``rows`` into it
    and return its name. Values of JSON columns are given as text (``json_text``)."""
    name = f"mirror_stage_{next(_stage_numbers)}"
    spec = ", ".join(f"{c.name} {c.sql_type}" for c in columns)
    cursor.execute(f"CREATE TEMPORARY TABLE {name} ({spec}) ON COMMIT DROP")
    with cursor.copy(f"COPY {name} ({', '.join(c.name for c in columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return name


def assignments(columns: Iterable[Column]) -> str:
    """``SET`` list of an upsert: every column from the proposed row."""
    return ", ".join(f"{c.name} = EXCLUDED.{c.name}" for c in columns)


def differs(columns: Iterable[Column], *, old: str = "t", new: str = "EXCLUDED") -> str:
    """True when the stored row ``old`` and the proposed row ``new`` differ in ``columns``
    (by value: ``12.3`` equals ``12.30``, JSON by content, NULL equals NULL)."""
    names = [c.name for c in columns]
    return (
        f"({', '.join(f'{old}.{n}' for n in names)}) IS DISTINCT FROM "
        f"({', '.join(f'{new}.{n}' for n in names)})"
    )
