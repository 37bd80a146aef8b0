"""Route registration.

Each Allegro route module defines ``table = RouteTable()`` and is listed in ``ROUTE_MODULES``.
Modules reserved for the after-sales helper are imported when they exist.
"""

from __future__ import annotations

import importlib

from starlette.routing import BaseRoute

from sandbox.http import RouteSpec, RouteTable

ROUTE_MODULES = (
    "sandbox.routes.me",
    "sandbox.routes.offers",
    "sandbox.routes.offer_commands",
    "sandbox.routes.orders",
    "sandbox.routes.issues",
    "sandbox.routes.ratings",
    "sandbox.routes.policies",
    "sandbox.routes.shipments",
    "sandbox.routes.returns",
    "sandbox.routes.refunds",
    "sandbox.routes.messaging",
    "sandbox.routes.billing",
)


def load_tables() -> list[RouteSpec]:
    specs: list[RouteSpec] = []
    for name in ROUTE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        table = module.table
        assert isinstance(table, RouteTable), name
        specs.extend(table.routes)
    return specs


def oauth_routes() -> list[BaseRoute]:
    from sandbox.routes.oauth import routes

    return list(routes)


def control_routes() -> list[BaseRoute]:
    """``sandbox.routes.control`` plus any ``control_routes`` list a route module exports."""
    from sandbox.routes.control import routes

    collected: list[BaseRoute] = list(routes)
    for name in ROUTE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        collected.extend(getattr(module, "control_routes", ()))
    return collected
