"""Set-based writes of a sync page: the rows go in with one ``COPY``, then one statement merges
them (``INSERT ... SELECT ... ON CONFLICT DO UPDATE``).

Measured in ``bench/upsert.py``: a page of model instances through ``bulk_create`` spends most
of its time in Python (instances, per-field adaptation, ``json.dumps``); ``COPY`` hands
PostgreSQL text it parses in C, and the merge writes a row only when something in it changed.

The staging table is a temporary table of the session, created on first use (a ``DO`` block
that only reads the catalogue afterwards: creating a table per page cost about as much as
copying a page of orders), emptied by the merge that reads it (``DELETE ... RETURNING``) and at
every commit (``ON COMMIT DELETE ROWS``), and gone with the session: a killed worker leaves
nothing behind. Its JSON columns are compressed with LZ4 where the server has it (copying a page
of orders took a third less server CPU than with the default pglz): the merge copies a
compressed value as it is, so a document is compressed once, by the cheaper method.

PostgreSQL only: a domain keeps its ``bulk_create`` path for the embedded SQLite default
(``connection.vendor``), also taken when the setting ``MIRROR_SET_BASED_UPSERTS`` is false.
Domains own their SQL; this module builds the shared pieces.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, models


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
        column = f.column or f.name  # concrete fields always have a column
        out.append(Column(column, sql_type, is_json=isinstance(f, models.JSONField)))
    return tuple(out)


@dataclass(frozen=True)
class Stage:
    """A session's staging table for one kind of page."""

    prefix: str
    columns: tuple[Column, ...]

    @cached_property
    def name(self) -> str:
        """The table's name, which changes with its columns (a new release, a new table)."""
        spec = ",".join(f"{c.name}:{c.sql_type}" for c in self.columns)
        return f"{self.prefix}_{hashlib.sha1(spec.encode(), usedforsecurity=False).hexdigest()[:8]}"

    def ensure_sql(self) -> str:
        spec = ", ".join(f"{c.name} {c.sql_type}" for c in self.columns)
        lz4 = ", ".join(
            f"ALTER COLUMN {c.name} SET COMPRESSION lz4" for c in self.columns if c.is_json
        )
        if lz4:
            lz4 = (
                "IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression' "
                f"AND 'lz4' = ANY(enumvals)) THEN ALTER TABLE {self.name} {lz4}; END IF; "
            )
        return (
            f"DO $$BEGIN IF to_regclass('pg_temp.{self.name}') IS NULL THEN "
            f"CREATE TEMPORARY TABLE {self.name} ({spec}) ON COMMIT DELETE ROWS; "
            f"{lz4}END IF; END$$"
        )

    def taken(self) -> str:
        """A ``WITH`` item ``staged`` holding the staged rows, which it takes out of the table."""
        return f"staged AS (DELETE FROM {self.name} RETURNING *)"  # noqa: S608

    def fill(self, cursor: Any, rows: Iterable[Sequence[Any]]) -> None:
        """Make sure the table exists, then ``COPY`` ``rows`` into it (values of JSON columns
        as text, see ``json_text``)."""
        cursor.execute(self.ensure_sql())
        names = ", ".join(c.name for c in self.columns)
        with cursor.copy(f"COPY {self.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def literal(value: bool | int | datetime) -> str:
    """A merge's few values written into its text: with parameters, psycopg would re-parse
    the statement (too long for its cache) for every page. Only these types, which cannot
    carry SQL, are accepted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return f"'{value.isoformat()}'::timestamptz"
    raise TypeError(f"not a merge literal: {value!r}")


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


# A table's statistics are taken again once it changed by this fraction of its rows (and at
# least ANALYZE_MIN_ROWS rows) since they were last taken.
ANALYZE_FRACTION = 0.5
ANALYZE_MIN_ROWS = 1000


def statistics_keep_up(*tables: type[models.Model]) -> list[str]:
    """``ANALYZE`` the tables of ``tables`` that grew by half since their statistics were taken.

    An initial pass fills its tables faster than autovacuum looks at them (every minute, and
    it may be off): planned with the statistics of an empty table, a lookup of a page's rows by
    ``(account, allegro_id IN ...)`` read every row of the account (100 ms a statement at
    40,000 orders, several statements a batch). Call it outside a transaction, after a
    committed page. ``SKIP_LOCKED``: a table another pass is analysing is left to it.
    PostgreSQL only; answers the tables analysed.
    """
    if connection.vendor != "postgresql":
        return []
    names = [model._meta.db_table for model in tables]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
            "AND relname = ANY(%s) AND n_mod_since_analyze > GREATEST(%s, n_live_tup * %s)",
            [names, ANALYZE_MIN_ROWS, ANALYZE_FRACTION],
        )
        stale = [str(row[0]) for row in cursor.fetchall()]
        for name in stale:
            cursor.execute(f"ANALYZE (SKIP_LOCKED) {connection.ops.quote_name(name)}")
    return stale
