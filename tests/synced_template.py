"""Linked and synced accounts for tests that are not about linking or syncing, at the price of a
row copy.

``synced_accounts(name, sim, build)``: the first call per xdist worker runs ``build()`` for real
(seed the simulator, link through OAuth, sync), snapshots the simulator under ``name`` and keeps
the rows that run wrote. Every later call restores that snapshot (same resources, ids, event ids
and tokens) and copies the same rows into the test's database, so each test starts from exactly
what the real path produced without paying for it again. ``build`` returns the accounts; they
are returned again, fresh from the database. (The link and the sync themselves are tested on
their real path in ``tests/accounts/`` and ``tests/mirror/``.)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class Template:
    """What the real path wrote: the rows per model, and the accounts' pks."""

    rows: list[tuple[type[Any], list[Any]]]
    account_pks: list[int]


# One per xdist worker and simulator (url, data dir): the snapshot lives in that simulator.
_templates: dict[tuple[str, str, str], Template] = {}


def _all_models() -> list[type[Any]]:
    from django.apps import apps

    return [m for m in apps.get_models(include_auto_created=True) if m._meta.managed]


def _pks(model: type[Any]) -> set[Any]:
    return set(model._base_manager.values_list("pk", flat=True))


def _build(name: str, sim: Any, build: Callable[[], Sequence[Any]]) -> Template:
    models = _all_models()
    before = {model: _pks(model) for model in models}
    accounts = build()
    sim.control("POST", "/snapshot", {"name": name})
    rows = []
    for model in models:
        new = [o for o in model._base_manager.order_by("pk") if o.pk not in before[model]]
        if new:
            rows.append((model, new))
    return Template(rows=rows, account_pks=[a.pk for a in accounts])


def _copy(name: str, sim: Any, template: Template) -> None:
    """The simulator as the sync left it, and the same rows (foreign keys are checked at the
    end of the atomic block, so the insertion order does not matter)."""
    from django.db import transaction

    sim.control("POST", "/restore", {"name": name})
    with transaction.atomic():
        for model, objects in template.rows:
            copies = []
            for obj in objects:
                twin = copy.copy(obj)
                twin._state = copy.copy(obj._state)
                twin._state.adding, twin._state.db = True, None
                twin._state.fields_cache = {}
                copies.append(twin)
            model._base_manager.bulk_create(copies)


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
