"""The protocol between the mirror's orchestration and the domains that sync.

Each domain app owns its passes (``orders/flows.py``, ``offers/flows.py``,
``aftersales/flows.py``) and registers them in its ``AppConfig.ready``::

    register(Resource.ORDERS, orders_flows.initial_pass)

A pass is called as ``run(account=..., client=..., deadline=...)`` under the resource's lock and
answers ``True`` when it is caught up (``False``: the slice ran out, run it again). ``lane`` is
the rate governor's priority lane of the pass's requests: ``sync`` (default) for what keeps the
mirror fresh, ``backfill`` for work nobody waits for (e.g. the waybills of old orders). The mirror
never imports a domain app; the domains import the mirror's kit (``mirror.passes``,
``mirror.progress``, ``mirror.fetching``, ``mirror.limits``, ``mirror.models``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from allegro.governor import Lane

if TYPE_CHECKING:
    from accounts.models import AllegroAccount
    from allegro.client import AllegroClient
    from mirror.passes import Deadline

    Pass = Callable[..., bool]

_PASSES: dict[str, Pass] = {}
_LANES: dict[str, Lane] = {}


def register(resource: str, run: Pass, *, lane: Lane = Lane.SYNC) -> None:
    _PASSES[str(resource)] = run
    _LANES[str(resource)] = Lane(lane)


def lane_for(resource: str) -> Lane:
    """The governor lane a resource's pass sends its requests in."""
    return _LANES.get(str(resource), Lane.SYNC)


def pass_for(resource: str) -> Pass:
    try:
        return _PASSES[str(resource)]
    except KeyError:
        raise LookupError(
            f"No sync pass registered for {resource!r}: is its app in INSTALLED_APPS?"
        ) from None


def run_pass(
    resource: str, *, account: AllegroAccount, client: AllegroClient, deadline: Deadline
) -> bool:
    return pass_for(resource)(account=account, client=client, deadline=deadline)
