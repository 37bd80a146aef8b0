"""Staff pages benchmark: server time and query count of the dashboard and the offer / order
pages against the Django admin changelist for the same model and filter.

    DEBUG=0 SECRET_KEY=bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_pages_bench \
    REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/pages.py [--accounts 5 --rows 50000]

Generates ``accounts`` x ``rows`` offers and ``accounts`` x ``rows`` orders (1-3 lines each,
waybills on sent orders) straight into PostgreSQL with ``bulk_create`` (once: a database that
already holds the data is reused), then requests every page in-process with Django's test client
(signed in as a staff member granted every account, and as a superuser for the admin), ``--runs``
times after a warm-up, and prints p50 / p95 of the server time and the query count.
The database named in ``DATABASE_URL`` is created and migrated when needed; use a throwaway one.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

WORDS = tuple(
    [
        "młotek",
        "wiertarka",
        "lampa",
        "biurko",
        "krzesło",
        "kubek",
        "czajnik",
        "ekspres",
        "kawa",
        "herbata",
        "klocki",
        "lego",
        "puzzle",
        "koc",
        "poduszka",
        "kabel",
        "ładowarka",
        "słuchawki",
        "telefon",
        "etui",
        "szampon",
        "krem",
        "perfumy",
        "buty",
        "kurtka",
        "spodnie",
        "plecak",
        "torba",
        "zegarek",
        "rower",
        "kask",
        "namiot",
        "śpiwór",
        "patelnia",
        "garnek",
        "nóż",
    ]
)
STATUSES = ["ACTIVE"] * 7 + ["ENDED"] * 2 + ["INACTIVE"]
FULFILLMENT = ["NEW", "PROCESSING", "READY_FOR_SHIPMENT", "SENT", "SENT", "PICKED_UP", "CANCELLED"]
DELIVERY = ["Allegro Paczkomaty InPost", "Kurier DPD", "Allegro One Box", "Odbiór osobisty"]
BATCH = 5000


def _ensure_database() -> None:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute(
            "select 1 from pg_database where datname = %s", [db["NAME"]]
        ).fetchone():
            conn.execute(f'create database "{db["NAME"]}"')


def _accounts(n: int) -> list[Any]:
    from accounts.models import AllegroAccount

    return [
        AllegroAccount.objects.get_or_create(
            environment="simulator",
            allegro_user_id=str(90000000 + i),
            defaults={"login": f"bench-shop-{i}", "base_marketplace": "allegro-pl"},
        )[0]
        for i in range(n)
    ]


def _offers(account: Any, rows: int, rng: random.Random) -> None:
    from django.utils import timezone

    from offers.models import Offer

    now = timezone.now()
    base = 10_000_000_000 + account.pk * 10_000_000
    batch: list[Offer] = []
    for i in range(rows):
        price = Decimal(rng.randint(100, 500_000)) / 100
        status = rng.choice(STATUSES)
        changed = now - timedelta(minutes=rng.randint(0, 500_000))
        batch.append(
            Offer(
                account=account,
                allegro_id=str(base + i),
                name=" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))).capitalize(),
                external_id=f"SKU-{account.pk}-{i:06d}",
                ean=f"590{rng.randrange(10**9, 10**10)}",
                status=status,
                selling_format="BUY_NOW",
                price_amount=price,
                price_currency="PLN",
                marketplace_prices={"allegro-pl": {"amount": f"{price:.2f}", "currency": "PLN"}},
                stock_available=0 if status == "ENDED" else rng.randint(0, 200),
                stock_sold=rng.randint(0, 500),
                product_linked=rng.random() < 0.8,
                allegro_updated_at=changed,
                ended_at=changed if status == "ENDED" else None,
                synced_at=now,
                raw={},
            )
        )
        if len(batch) >= BATCH:
            Offer.objects.bulk_create(batch)
            batch = []
    Offer.objects.bulk_create(batch)


def _order_status(draw: float) -> str:
    if draw < 0.87:
        return "READY_FOR_PROCESSING"
    if draw < 0.9:
        return "FILLED_IN" if draw < 0.89 else "BOUGHT"
    return "CANCELLED"


def _orders(account: Any, rows: int, rng: random.Random) -> None:
    from django.utils import timezone

    from orders.models import Order, OrderLineItem, TrackingNumber

    now = timezone.now()
    base = 10_000_000_000 + account.pk * 10_000_000
    pending: list[tuple[Order, list[OrderLineItem], TrackingNumber | None]] = []

    def flush() -> None:
        orders = Order.objects.bulk_create([p[0] for p in pending])
        lines, waybills = [], []
        for order, (_o, order_lines, waybill) in zip(orders, pending, strict=True):
            for line in order_lines:
                line.order = order
                lines.append(line)
            if waybill is not None:
                waybill.order = order
                waybills.append(waybill)
        OrderLineItem.objects.bulk_create(lines)
        TrackingNumber.objects.bulk_create(waybills)
        pending.clear()

    for i in range(rows):
        bought = now - timedelta(minutes=rng.randint(0, 525_600))
        fulfillment = rng.choice(FULFILLMENT)
        sent = fulfillment in ("SENT", "PICKED_UP")
        login = f"kupujacy{rng.randint(1, rows // 3)}"
        lines = []
        total = Decimal(0)
        for _ in range(rng.randint(1, 3)):
            price = Decimal(rng.randint(100, 50_000)) / 100
            qty = rng.randint(1, 3)
            total += price * qty
            lines.append(
                OrderLineItem(
                    account=account,
                    allegro_id=uuid.uuid4(),
                    offer_id=str(base + rng.randrange(rows)),
                    offer_name=" ".join(rng.choice(WORDS) for _ in range(4)).capitalize(),
                    quantity=qty,
                    price_amount=price,
                    price_currency="PLN",
                    bought_at=bought,
                )
            )
        order = Order(
            account=account,
            allegro_id=uuid.uuid4(),
            buyer_login=login,
            buyer_email=f"{login}@allegromail.pl",
            buyer_first_name="Jan",
            buyer_last_name=rng.choice(["Kowalski", "Nowak", "Wiśniewska", "Wójcik"]),
            delivery_method_name=rng.choice(DELIVERY),
            payment_type="ONLINE",
            paid_amount=total,
            paid_currency="PLN",
            status=_order_status(rng.random()),
            fulfillment_status=fulfillment,
            line_items_sent="ALL" if sent else "NONE",
            revision=uuid.uuid4().hex[:8],
            total_amount=total,
            currency="PLN",
            marketplace="allegro-pl",
            bought_at=bought,
            dispatch_from=bought + timedelta(hours=rng.randint(0, 24)),
            dispatch_by=bought + timedelta(hours=rng.randint(24, 72)),
            allegro_updated_at=bought,
            quarantined=rng.random() < 0.001,
            synced_at=now,
            raw={},
        )
        waybill = (
            TrackingNumber(
                account=account,
                allegro_id=uuid.uuid4().hex,
                waybill=f"WB{base + i}",
                carrier_id="DPD",
            )
            if sent
            else None
        )
        pending.append((order, lines, waybill))
        if len(pending) >= BATCH:
            flush()
    flush()


def generate(*, accounts: int, rows: int) -> list[Any]:
    from django.core.management import call_command
    from django.db import connection

    from offers.models import Offer
    from orders.models import Order

    call_command("migrate", verbosity=0)
    shops = _accounts(accounts)
    rng = random.Random(42)
    for shop in shops:
        if Offer.objects.filter(account=shop).count() < rows:
            Offer.objects.filter(account=shop).delete()
            started = time.perf_counter()
            _offers(shop, rows, rng)
            print(f"  {shop.login}: {rows} offers in {time.perf_counter() - started:.1f} s")
        if Order.objects.filter(account=shop).count() < rows:
            Order.objects.filter(account=shop).delete()
            started = time.perf_counter()
            _orders(shop, rows, rng)
            print(f"  {shop.login}: {rows} orders in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps in production
    return shops


def _users(shops: list[Any]) -> tuple[Any, Any]:
    from accounts.models import AccountGrant, Role, User

    staff, _ = User.objects.get_or_create(
        username="bench-staff", defaults={"email": "bench-staff@example.com"}
    )
    for shop in shops:
        AccountGrant.objects.get_or_create(
            user=staff, account=shop, defaults={"role": Role.MANAGER}
        )
    admin, _ = User.objects.get_or_create(
        username="bench-admin",
        defaults={"email": "bench-admin@example.com", "is_staff": True, "is_superuser": True},
    )
    return staff, admin


def measure(client: Any, url: str, runs: int) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        client.get(url)
    times, queries, status = [], 0, 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        queries, status = len(captured), response.status_code
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, queries, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--rows", type=int, default=50_000, help="offers and orders per account")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    import django

    _ensure_database_settings()
    django.setup()
    _ensure_database()
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client
    from django.utils import timezone

    from orders.models import Order

    settings.ALLOWED_HOSTS = ["*"]
    started = time.perf_counter()
    shops = generate(accounts=args.accounts, rows=args.rows)
    print(f"data ready in {time.perf_counter() - started:.1f} s")
    staff, admin = _users(shops)
    # Carriers come from a day-long cache in production; the bench has no Allegro behind it.
    cache.set("orders:carriers:simulator", [("DPD", "DPD"), ("OTHER", "Inny")], 3600)

    pages = Client()
    pages.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    admin_client = Client()
    admin_client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    order = Order.objects.filter(account=shops[0]).order_by("-bought_at").first()
    assert order is not None
    word = "ekspres"
    cases: list[tuple[str, str, str | None]] = [
        ("dashboard", "/", None),
        ("orders to ship", "/orders/?to_ship=1", None),
        ("orders overdue", "/orders/?overdue=1", None),
        ("offers ended", f"/offers/?ended_since={timezone.localdate() - timedelta(days=1)}", None),
        ("offers list", "/offers/", "/admin/offers/offer/"),
        ("offers searched", f"/offers/?q={word}", f"/admin/offers/offer/?q={word}"),
        (
            "offers filtered",
            "/offers/?status=ACTIVE&price_max=100",
            "/admin/offers/offer/?status__exact=ACTIVE&price_amount__lte=100",
        ),
        (
            "offers active+0",  # a rare, correlated combination (Allegro ends offers at 0)
            "/offers/?status=ACTIVE&out_of_stock=on",
            "/admin/offers/offer/?status__exact=ACTIVE&stock_available=0",
        ),
        ("orders list", "/orders/", "/admin/orders/order/"),
        (
            "orders filtered",
            "/orders/?fulfillment=NEW&marketplace=allegro-pl",
            "/admin/orders/order/?fulfillment_status__exact=NEW&marketplace__exact=allegro-pl",
        ),
        (
            "orders searched",
            f"/orders/?q={order.buyer_login}",
            f"/admin/orders/order/?q={order.buyer_login}",
        ),
        ("order detail", f"/orders/{order.pk}/", f"/admin/orders/order/{order.pk}/change/"),
    ]
    header = (
        f"{'page':<17} | {'p50 ms':>7} {'p95 ms':>7} {'queries':>7} | "
        f"{'admin p50':>9} {'admin p95':>9} {'queries':>7} | {'p95 speed-up':>12}"
    )
    print(f"\n{args.accounts} accounts x {args.rows} offers + {args.rows} orders, {args.runs} runs")
    print(header)
    print("-" * len(header))
    for name, url, admin_url in cases:
        p50, p95, queries, status = measure(pages, url, args.runs)
        if status != 200:
            sys.exit(f"{url} answered {status}")
        if admin_url is None:  # nothing in the admin does the same
            print(f"{name:<17} | {p50:7.1f} {p95:7.1f} {queries:7d} | {'—':>9} {'—':>9} {'—':>7} |")
            continue
        a50, a95, aqueries, astatus = measure(admin_client, admin_url, args.runs)
        if astatus != 200:
            sys.exit(f"{admin_url} answered {astatus}")
        print(
            f"{name:<17} | {p50:7.1f} {p95:7.1f} {queries:7d} | "
            f"{a50:9.1f} {a95:9.1f} {aqueries:7d} | {a95 / p95:11.1f}x"
        )


def _ensure_database_settings() -> None:
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to a throwaway PostgreSQL database (it is filled with data).")


if __name__ == "__main__":
    main()
