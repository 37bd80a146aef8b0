"""Fixtures for the mirror tests: a linked simulator account and a sync driver.

The sync runs through ``mirror.services.sync_run`` with the account's real client
(``allegro_client_for``) against the session's simulator over loopback HTTP. ``drive`` plays
the Celery task's part in-process: it repeats a slice until done and retries transient errors a
bounded number of times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from allegro import errors
from tests.plugins.allegro_accounts import SELLER_LOGIN

# The initial sync, then the backfill of the waybills it deferred (issue 13 §1).
INITIAL = ("offers", "orders", "ratings", "issues", "return_policies", "waybill_backfill")
INCREMENTAL = ("order_events", "offer_events", "ratings", "issues", "return_policies")


def drive(account: Any, resource: str, *, max_transient: int = 30, slices: int = 1000) -> int:
    """Run ``resource`` to completion; returns the number of transient failures absorbed."""
    from mirror.services import Outcome, sync_run

    transient = 0
    for _ in range(slices):
        try:
            outcome = sync_run(account=account, resource=resource)
        except errors.TransientError:
            transient += 1
            if transient > max_transient:
                raise
            continue
        if outcome == Outcome.DONE:
            return transient
        assert outcome == Outcome.CONTINUE, outcome
    raise AssertionError(f"{resource} did not finish in {slices} slices")


@pytest.fixture
def linked(link_account: Callable[..., Any]) -> Any:
    """The seed seller ``SklepKowalski`` linked through the real OAuth flow."""
    return link_account(SELLER_LOGIN)


@pytest.fixture
def initial_sync(linked: Any) -> Callable[[], None]:
    def run() -> None:
        for resource in INITIAL:
            drive(linked, resource)

    return run
