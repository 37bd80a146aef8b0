"""bench/labels: 200 shipments across 3 accounts printed as one PDF.

Shipments are created in the simulator directly (its seed / create commands settle at once),
then one label job runs in-process: the table splits the time into waiting for Allegro (the
simulator's label requests) and our own work (fan-out, part files, merge, imposition), with
the peak Python memory (tracemalloc) and the label requests per account.

Run: DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/labels.py
(needs a simulator; uses tests' plugins to start one and link three accounts).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--layout", default="a6", choices=["a6", "a4"])
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats of the job run")
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL"):
        if name not in os.environ:
            sys.exit(f"set {name}")
    from sync import bench_database_url, ensure_database, seed, worker_env

    os.environ["DATABASE_URL"] = bench_database_url(os.environ["DATABASE_URL"]).replace(
        "_sync_bench", "_labels_bench"
    )
    per_account = math.ceil(args.shipments / args.accounts)
    data_dir = Path(tempfile.mkdtemp(prefix="sandbox-labels-bench-"))
    seed(data_dir, accounts=args.accounts, offers=50, orders=per_account * 3)
    from sandbox.testing import SimulatorProcess

    sim = SimulatorProcess(validate=False, data_dir=data_dir).start()
    try:
        os.environ.update(worker_env(sim, {}))
        os.environ["SHIPPING_LABELS_DIR"] = str(data_dir / "labels")
        ensure_database()
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.utils import timezone

        settings.SHIPPING_LABELS_DIR = str(data_dir / "labels")
        call_command("migrate", verbosity=0)
        from accounts.models import AllegroAccount
        from accounts.services import allegro_client_for
        from accounts.tokens import token_store
        from allegro.api import orders as orders_api
        from allegro.api import shipments as api
        from allegro.oauth import TokenPair
        from jobs.models import Job
        from shipping import labels
        from shipping.models import Shipment, ShipmentPackage, ShipmentStatus
        from shipping.services import PackageInput, shipment_request_build
        from tests.factories import OrderFactory, SuperuserFactory

        user = SuperuserFactory(email="bench@example.com", username="bench")
        shipments: list[Shipment] = []
        setup_started = time.perf_counter()
        sellers = sim.control("GET", "/sellers")["sellers"][: args.accounts]
        for index, seller in enumerate(sellers):
            account = AllegroAccount.objects.create(
                allegro_user_id=seller["id"],
                login=seller["login"],
                environment="simulator",
                status="active",
                linked_at=timezone.now(),
            )
            minted = sim.control(
                "POST", "/tokens", {"seller_id": seller["id"], "client_id": sim.client_id}
            )
            token_store(
                account=account,
                pair=TokenPair(
                    access_token=minted["access_token"],
                    refresh_token=minted["refresh_token"],
                    expires_at=timezone.now() + timedelta(seconds=minted["expires_in"]),
                    scopes=(),
                ),
            )
            client = allegro_client_for(account=account)
            want = min(per_account, args.shipments - len(shipments))
            made = 0
            seen_buyers: set[str] = set()
            offset = 0
            while made < want:
                page = orders_api.list_checkout_forms(
                    client,
                    filters=orders_api.CheckoutFormFilters(status="READY_FOR_PROCESSING"),
                    limit=100,
                    offset=offset,
                )
                forms = page.checkout_forms
                if not forms:
                    break
                offset += 100
                for form in forms:
                    if made >= want:
                        break
                    buyer = form.buyer.login
                    if buyer in seen_buyers:
                        continue
                    try:
                        proposal = api.get_delivery_proposal(client, order_id=str(form.id))
                    except Exception:
                        continue
                    if not proposal.delivery_options:
                        continue
                    request = shipment_request_build(
                        suggested=proposal.suggested_input,
                        package=PackageInput(
                            type="PACKAGE",
                            length=Decimal(30),
                            width=Decimal(20),
                            height=Decimal(10),
                            weight=Decimal(1),
                        ),
                    )
                    command_id = str(uuid.uuid4())
                    api.create_shipment(client, command_id=command_id, shipment=request)
                    command = api.get_shipment_command(client, command_id=command_id)
                    if command.status != "SUCCESS" or not command.shipment_id:
                        continue
                    details = api.get_shipment(client, shipment_id=command.shipment_id)
                    seen_buyers.add(buyer)
                    order = OrderFactory(
                        account=account,
                        allegro_id=uuid.UUID(str(form.id)),
                        buyer_login=buyer,
                        bought_at=timezone.now() - timedelta(minutes=index * 1000 + made),
                    )
                    shipment = Shipment.objects.create(
                        account=account,
                        order=order,
                        allegro_id=details.id,
                        status=ShipmentStatus.CREATED,
                        carrier=details.carrier or "",
                        request=request,
                    )
                    ShipmentPackage.objects.create(
                        shipment=shipment,
                        length_cm=30,
                        width_cm=20,
                        height_cm=10,
                        weight_kg=1,
                        waybill=details.waybills[0] if details.waybills else "",
                    )
                    shipments.append(shipment)
                    made += 1
        setup_seconds = time.perf_counter() - setup_started
        shipments = list(Shipment.objects.select_related("account", "order"))
        sim.control("DELETE", "/stats")
        labels.STATS.allegro_seconds = 0.0
        labels.STATS.requests = {}
        from jobs.tasks import job_run

        def print_batch() -> tuple[Job, float]:
            started = time.perf_counter()
            job = labels.labels_batch_start(
                user=user, shipments=shipments, options=labels.LabelOptions(layout=args.layout)
            )
            job = Job.objects.get(pk=job.pk)
            if job.is_active:
                job_run(str(job.pk))
            seconds = time.perf_counter() - started
            job.refresh_from_db()
            return job, seconds

        # Timed without tracing (tracemalloc slows allocation-heavy code several times over),
        # then the same batch once more, traced, for the peak memory.
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        job, total = print_batch()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        waiting = labels.STATS.allegro_seconds
        requests = dict(labels.STATS.requests or {})
        tracemalloc.start()
        traced, _seconds = print_batch()
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert traced.result.get("pages") == Job.objects.get(pk=job.pk).result.get("pages")
        job.refresh_from_db()
        path = labels.labels_file(job=job)
        size = path.stat().st_size if path else 0
        bound = math.ceil(per_account / labels.LABEL_BATCH)
        rows = [
            ("shipments / accounts", f"{len(shipments)} / {len(sellers)}"),
            ("setup (create in simulator)", f"{setup_seconds:.1f} s"),
            ("request → merged PDF ready", f"{total:.2f} s"),
            ("  waiting for Allegro (simulator)", f"{waiting:.2f} s"),
            ("  our own work (fan-out, merge, imposition)", f"{total - waiting:.2f} s"),
            ("peak Python memory (tracemalloc, 2nd run)", f"{peak / 2**20:.1f} MiB"),
            ("pages / file size", f"{job.result.get('pages')} / {size / 2**20:.2f} MiB"),
            (
                "label requests per account (bound)",
                f"{sorted(requests.values())} (≤ {bound} each, batch {labels.LABEL_BATCH})",
            ),
            ("job status", str(job.status)),
        ]
        width = max(len(r[0]) for r in rows)
        print(f"bench/labels ({args.layout})")
        for name, value in rows:
            print(f"  {name:<{width}}  {value}")
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
