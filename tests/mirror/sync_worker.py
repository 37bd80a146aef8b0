"""A sync worker as its own process, for the tests that kill one (``python -m
tests.mirror.sync_worker --account 1 --resources offers``).

It runs each resource's pass through ``mirror.services.sync_run`` (lock, run log, cursor) until
done, as the Celery task does. With ``--block-at N`` it stops inside the Nth batch's
transaction, after the batch's upsert and before its cursor is saved, and waits there on a
PostgreSQL advisory lock the test holds (``--lock-key``), after printing ``blocked <rows>``: the
rows of the account its own transaction sees, the uncommitted batch included. The test kills it
there. ``--set NAME=NUMBER`` overrides a setting (e.g. ``MIRROR_ORDER_WRITE_BATCH=200``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def block_in_page(*, n: int, key: int, account_id: int, resource: str) -> None:
    """Wrap the passes' ``pass_page`` (called in a batch's transaction, after its upsert) so
    the ``n``th call waits on advisory lock ``key`` first."""
    from django.db import connection

    import offers.flows
    import orders.flows

    table = {"offers": "offers_offer", "orders": "orders_order"}[resource]
    module: Any = {"offers": offers.flows, "orders": orders.flows}[resource]
    real: Callable[..., Any] = module.pass_page
    calls = 0

    def pass_page(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == n:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {table} WHERE account_id = %s", [account_id])
                print(f"blocked {cursor.fetchone()[0]}", flush=True)
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
        return real(**kwargs)

    module.pass_page = pass_page


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--account", type=int, required=True)
    parser.add_argument("--resources", required=True, help="comma-separated, run in order")
    parser.add_argument("--block-at", type=int, default=0, help="page number (1-based)")
    parser.add_argument("--lock-key", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=NUMBER")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    import django

    django.setup()
    from django.conf import settings

    for item in args.set:
        name, value = item.split("=", 1)
        setattr(settings, name, int(value))
    from accounts.models import AllegroAccount
    from allegro import errors
    from mirror.services import Outcome, sync_run

    resources = args.resources.split(",")
    if args.block_at:
        block_in_page(
            n=args.block_at, key=args.lock_key, account_id=args.account, resource=resources[0]
        )
    account = AllegroAccount.objects.get(pk=args.account)
    for resource in resources:
        transient = 0
        for _ in range(2000):
            try:
                outcome = sync_run(account=account, resource=resource)
            except errors.TransientError:
                transient += 1
                if transient > 30:
                    raise
                continue
            if outcome == Outcome.DONE:
                break
            if outcome == Outcome.LOCKED:  # a killed worker's session has not ended yet
                time.sleep(0.2)
        else:
            sys.exit(f"{resource} did not finish")
    print("done", flush=True)


if __name__ == "__main__":
    main()
