"""Linked and synced accounts for tests that are not about linking or syncing, at the price of a
row copy.

``synced_accounts(name, sim, build)``: the first call per xdist worker runs ``build()`` for real
(seed the simulator, link through OAuth, sync), snapshots the simulator under ``name`` and keeps
the rows that run wrote, as PostgreSQL's own COPY text of each table. Every later call restores
that snapshot (same resources, ids, event ids and tokens) and copies the same rows back into the
test's database with COPY, byte for byte, so each test starts from exactly what the real path
produced without paying for it again (nor for turning rows into model instances and back).
``build`` returns the accounts; they are returned again, fresh from the database. (The link and
the sync themselves are tested on their real path in ``tests/accounts/`` and ``tests/mirror/``.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class Template:
    """What the real path wrote: per table, its new rows as COPY text; and the accounts' pks."""

    tables: list[tuple[str, bytes]]
    account_pks: list[int]


# One per xdist worker and simulator (url, data dir): the snapshot lives in that simulator.
_templates: dict[tuple[str, str, str], Template] = {}


def _all_models() -> list[type[Any]]:
    from django.apps import apps

    return [m for m in apps.get_models(include_auto_created=True) if m._meta.managed]


def _pks(model: type[Any]) -> set[Any]:
    return set(model._base_manager.values_list("pk", flat=True))


def _build(name: str, sim: Any, build: Callable[[], Sequence[Any]]) -> Template:
    from django.db import connection
    from psycopg import sql

    models = _all_models()
    before = {model: _pks(model) for model in models}
    accounts = build()
    sim.control("POST", "/snapshot", {"name": name})
    tables = []
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        for model in models:
            new = sorted(_pks(model) - before[model])
            if not new:
                continue
            table = model._meta.db_table
            query = sql.SQL(
                "COPY (SELECT * FROM {} WHERE {} = ANY({}) ORDER BY {}) TO STDOUT"
            ).format(
                sql.Identifier(table),
                sql.Identifier(model._meta.pk.column),
                sql.Literal(new),
                sql.Identifier(model._meta.pk.column),
            )
            with cursor.copy(query) as copy:
                tables.append((table, b"".join(bytes(block) for block in copy)))
    return Template(tables=tables, account_pks=[a.pk for a in accounts])


def _copy(name: str, sim: Any, template: Template) -> None:
    """The simulator as the sync left it, and the same rows (foreign keys are checked at the
    end of the atomic block, so the insertion order does not matter)."""
    from django.db import connection, transaction
    from psycopg import sql

    sim.control("POST", "/restore", {"name": name})
    with transaction.atomic(), connection.connection.cursor() as cursor:
        for table, data in template.tables:
            query = sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))
            with cursor.copy(query) as copy:
                copy.write(data)


def synced_accounts(name: str, sim: Any, build: Callable[[], Sequence[Any]]) -> list[Any]:
    """The accounts ``build`` links and syncs: built for real once, then restored and copied."""
    from accounts.models import AllegroAccount

    key = (name, sim.url, str(sim.data_dir))
    template = _templates.get(key)
    if template is None:
        template = _templates[key] = _build(name, sim, build)
    else:
        _copy(name, sim, template)
    found = AllegroAccount.objects.select_related("token").in_bulk(template.account_pks)
    return [found[pk] for pk in template.account_pks]
