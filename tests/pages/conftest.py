"""Fixtures for the offer and order pages: a simulator seller linked through the real OAuth flow
and mirrored by the real sync, plus staff with each role on it.

- ``shop``: ``SklepKowalski`` with 60 offers and 40 orders, linked and fully synced (offers,
  orders). ``ElektroMax_PL`` exists on the simulator but is not linked. The first test of each
  worker seeds, links and syncs for real; it then snapshots the simulator and keeps the rows the
  link and sync wrote. Every later test restores that simulator snapshot (same offers, orders,
  event ids and tokens) and copies the same rows into its own transaction, so each test starts
  from exactly what the real path produced without paying for it again. (The sync itself is
  tested on its real path in ``tests/mirror/``.)
- ``manager`` / ``operator`` / ``viewer``: staff granted that role on ``shop``; ``outsider``:
  staff granted only ``other_account`` (a factory account).
- ``eager_tasks``: Celery tasks run in the calling process (bulk actions in the browser tests).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.mirror.conftest import drive
from tests.plugins.allegro_accounts import SELLER_LOGIN
from tests.plugins.simulator import SMALL_SEED

PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
PAGES_SEED = {**SMALL_SEED, "offers": 60, "orders": 40}


SHOP_SNAPSHOT = "pages-shop"


@dataclass
class ShopTemplate:
    """What the real link and sync wrote: the rows per model, and the account's pk."""

    rows: list[tuple[type[Any], list[Any]]]
    account_pk: int


_template: ShopTemplate | None = None  # one per xdist worker (and its simulator)


def _all_models() -> list[type[Any]]:
    from django.apps import apps

    return [m for m in apps.get_models(include_auto_created=True) if m._meta.managed]


def _pks(model: type[Any]) -> set[Any]:
    return set(model._base_manager.values_list("pk", flat=True))


def _build_shop(sim: Any, link_account: Callable[..., Any]) -> ShopTemplate:
    """The real path: seed, link through OAuth, sync offers and orders; keep what it wrote."""
    models = _all_models()
    before = {model: _pks(model) for model in models}
    sim.control("POST", "/reset", {"seed": PAGES_SEED})
    account = link_account(SELLER_LOGIN)
    drive(account, "offers")
    drive(account, "orders")
    sim.control("POST", "/snapshot", {"name": SHOP_SNAPSHOT})
    rows = []
    for model in models:
        new = [o for o in model._base_manager.order_by("pk") if o.pk not in before[model]]
        if new:
            rows.append((model, new))
    return ShopTemplate(rows=rows, account_pk=account.pk)


def _copy_shop(sim: Any, template: ShopTemplate) -> None:
    """The simulator as the sync left it, and the same rows (foreign keys are checked at the
    end of the atomic block, so the insertion order does not matter)."""
    from django.db import transaction

    sim.control("POST", "/restore", {"name": SHOP_SNAPSHOT})
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


@pytest.fixture
def shop(sim: Any, link_account: Callable[..., Any]) -> Any:
    from accounts.models import AllegroAccount

    global _template
    if _template is None:
        _template = _build_shop(sim, link_account)
    else:
        _copy_shop(sim, _template)
    return AllegroAccount.objects.select_related("token").get(pk=_template.account_pk)


def _staff(name: str, account: Any, role: Any) -> Any:
    from accounts.models import AccountGrant
    from tests.factories import UserFactory

    user = UserFactory(email=f"{name}@example.com", username=name)
    AccountGrant.objects.create(user=user, account=account, role=role)
    return user


@pytest.fixture
def manager(shop: Any) -> Any:
    from accounts.models import Role

    return _staff("manny", shop, Role.MANAGER)


@pytest.fixture
def operator(shop: Any) -> Any:
    from accounts.models import Role

    return _staff("olga", shop, Role.OPERATOR)


@pytest.fixture
def viewer(shop: Any) -> Any:
    from accounts.models import Role

    return _staff("victor", shop, Role.VIEWER)


@pytest.fixture
def outsider(other_account: Any) -> Any:
    from accounts.models import Role

    return _staff("otto", other_account, Role.MANAGER)


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    from backoffice.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def browser_login(live_server: Any, client: Any, page: Any) -> Callable[[Any], Any]:
    """``browser_login(user)``: the Playwright page signed in as ``user``."""

    # Offer thumbnails point at Allegro's image CDN; the offline browser gets a local 1x1 GIF.
    page.route(
        "https://a.allegroimg.com/**",
        lambda route: route.fulfill(status=200, content_type="image/gif", body=PIXEL),
    )

    def login(user: Any) -> Any:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        page.context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        return page

    return login
