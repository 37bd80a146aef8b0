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

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.factories import staff_member
from tests.mirror.conftest import drive
from tests.plugins.allegro_accounts import SELLER_LOGIN
from tests.plugins.simulator import SMALL_SEED
from tests.synced_template import synced_accounts

PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
PAGES_SEED = {**SMALL_SEED, "offers": 60, "orders": 40}


SHOP_SNAPSHOT = "pages-shop"


@pytest.fixture
def shop(sim: Any, link_account: Callable[..., Any]) -> Any:
    def build() -> list[Any]:
        sim.control("POST", "/reset", {"seed": PAGES_SEED})
        account = link_account(SELLER_LOGIN)
        drive(account, "offers")
        drive(account, "orders")
        return [account]

    return synced_accounts(SHOP_SNAPSHOT, sim, build)[0]


@pytest.fixture
def manager(shop: Any) -> Any:
    from accounts.models import Role

    return staff_member("manny", Role.MANAGER, shop)


@pytest.fixture
def operator(shop: Any) -> Any:
    from accounts.models import Role

    return staff_member("olga", Role.OPERATOR, shop)


@pytest.fixture
def viewer(shop: Any) -> Any:
    from accounts.models import Role

    return staff_member("victor", Role.VIEWER, shop)


@pytest.fixture
def outsider(other_account: Any) -> Any:
    from accounts.models import Role

    return staff_member("otto", Role.MANAGER, other_account)


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
