"""Two simulator sellers linked through the real OAuth flow and their orders mirrored by the
real sync: the "to ship" queue of both accounts, and staff with each role on them.

``shops`` runs the real link and sync once per worker; later tests restore the simulator's
snapshot and copy the rows it wrote (``tests/synced_template.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import staff_member
from tests.mirror.conftest import drive
from tests.plugins.allegro_accounts import OTHER_SELLER_LOGIN, SELLER_LOGIN
from tests.plugins.simulator import SMALL_SEED
from tests.synced_template import synced_accounts

SHIPPING_SEED = {**SMALL_SEED, "offers": 20, "orders": 60}
SHIPPING_SNAPSHOT = "shipping-shops"


@pytest.fixture
def shops(sim: Any, link_account: Callable[..., Any]) -> tuple[Any, Any]:
    def build() -> list[Any]:
        from tests.factories import SuperuserFactory

        sim.control("POST", "/reset", {"seed": SHIPPING_SEED})
        linker = SuperuserFactory(email="linker@example.com", username="linker")
        first = link_account(SELLER_LOGIN, user=linker)
        second = link_account(OTHER_SELLER_LOGIN, user=linker)
        for account in (first, second):
            drive(account, "orders")
        return [first, second]

    first, second = synced_accounts(SHIPPING_SNAPSHOT, sim, build)
    return first, second


@pytest.fixture
def shop(shops: tuple[Any, Any]) -> Any:
    return shops[0]


@pytest.fixture
def operator(shops: tuple[Any, Any]) -> Any:
    from accounts.models import Role

    return staff_member("olga", Role.OPERATOR, *shops)


@pytest.fixture
def viewer(shops: tuple[Any, Any]) -> Any:
    from accounts.models import Role

    return staff_member("victor", Role.VIEWER, *shops)


@pytest.fixture
def outsider(other_account: Any) -> Any:
    from accounts.models import Role

    return staff_member("otto", Role.MANAGER, other_account)
