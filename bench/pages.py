"""Staff pages benchmark: server time and query count of the dashboard and the offer / order
pages against the Django admin changelist for the same model and filter.

    DEBUG=0 SECRET_KEY=bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_pages_bench \
    REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/pages.py [--accounts 5 --rows 50000]

Generates ``accounts`` x ``rows`` offers and ``accounts`` x ``rows`` orders (1-3 lines each,
waybills on sent orders) inside PostgreSQL, ``INSERT ... SELECT`` from ``generate_series`` (once:
a database that already holds the data is reused), then requests every page in-process with
Django's test client (signed in as a staff member granted every account, and as a superuser for
the admin), ``--runs`` times after a warm-up, and prints p50 / p95 of the server time and the
query count.
The database named in ``DATABASE_URL`` is created and migrated when needed; use a throwaway one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
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


# --- data: INSERT ... SELECT from generate_series, indexes rebuilt once per table -------------
# The rows are drawn by PostgreSQL (``setseed`` makes a run repeatable) in the shape the previous
# Python generator drew them: the same statuses and shares, stock 0 on ended offers, 1-3 lines per
# order, a waybill on every sent order, the same search text (titles from ``WORDS``, SKU, EAN,
# buyer logins / e-mails / names). The columns are those ``offers.sync.offer_fields`` and
# ``orders.sync.order_fields`` write, derived ones included (address lines, ``marketplace_prices``,
# ``waybills_read_at``), and a small ``raw`` document, so rows are as wide as synced ones.

_WORDS_SQL = "ARRAY[" + ", ".join(f"'{w}'" for w in WORDS) + "]::text[]"


def _title(words: str, row: str) -> str:
    """SQL for a title of ``words`` (an SQL integer) random ``WORDS``, first letter upper case.
    ``row`` (a column) ties the subquery to the row so it is drawn anew for each row."""
    return (
        "(SELECT upper(left(t, 1)) || substr(t, 2) FROM (SELECT string_agg("
        f"({_WORDS_SQL})[1 + floor(random() * {len(WORDS)})::int], ' ') AS t "
        f"FROM generate_series(1, {words} + 0 * {row})) AS w)"
    )


def _pick(choices: list[str], draw: str) -> str:
    """SQL: one of ``choices`` (repeats weigh more) by ``draw``, a random() in [0, 1)."""
    array = "ARRAY[" + ", ".join(f"'{c}'" for c in choices) + "]::text[]"
    return f"({array})[1 + floor({draw} * {len(choices)})::int]"


OFFERS_SQL = f"""
INSERT INTO offers_offer (
    account_id, allegro_id, name, external_id, ean, category_id, primary_image_url, status,
    selling_format, price_amount, price_currency, marketplace_prices, stock_available, stock_sold,
    started_at, ended_at, return_policy_id, product_linked, allegro_updated_at, synced_at,
    details_synced_at, raw
)
SELECT %(account)s, (%(base)s + g.n)::text, g.name, g.sku, g.ean, '257931', '', g.status,
       'BUY_NOW', g.price, 'PLN',
       jsonb_build_object('allegro-pl', jsonb_build_object('amount', g.price::text,
                                                          'currency', 'PLN')),
       g.stock, g.sold, g.changed - interval '30 days',
       CASE WHEN g.status = 'ENDED' THEN g.changed END, '', g.linked, g.changed, %(now)s,
       %(now)s,
       jsonb_build_object('id', (%(base)s + g.n)::text, 'name', g.name,
                          'external', jsonb_build_object('id', g.sku),
                          'publication', jsonb_build_object('status', g.status),
                          'sellingMode', jsonb_build_object('format', 'BUY_NOW',
                              'price', jsonb_build_object('amount', g.price::text,
                                                          'currency', 'PLN')),
                          'stock', jsonb_build_object('available', g.stock, 'sold', g.sold))
FROM (
    SELECT s.n, {_title("3 + floor(random() * 5)::int", "s.n")} AS name,
           'SKU-' || %(account)s || '-' || lpad(s.n::text, 6, '0') AS sku,
           '590' || (1000000000 + floor(random() * 9000000000)::bigint)::text AS ean,
           s.status,
           ((100 + floor(random() * 499901)) / 100)::numeric(14, 2) AS price,
           CASE WHEN s.status = 'ENDED' THEN 0 ELSE floor(random() * 201)::int END AS stock,
           floor(random() * 501)::int AS sold,
           random() < 0.8 AS linked,
           %(now)s - floor(random() * 500001) * interval '1 minute' AS changed
    FROM (SELECT n, {_pick(STATUSES, "random()")} AS status
          FROM generate_series(0, %(rows)s - 1) AS g(n) OFFSET 0) AS s
    OFFSET 0
) AS g
ORDER BY g.n
"""

# One draw per order (``gen_orders``), its 1-3 lines (``gen_lines``), then the three tables.
ORDERS_SQL = [
    f"""
CREATE TEMPORARY TABLE gen_orders ON COMMIT DROP AS
SELECT n, gen_random_uuid() AS uid,
       %(now)s - floor(random() * 525601) * interval '1 minute' AS bought,
       {_pick(FULFILLMENT, "random()")} AS fulfillment,
       random() AS status_draw,
       'kupujacy' || (1 + floor(random() * greatest(%(rows)s / 3, 1)))::int AS login,
       {_pick(["Kowalski", "Nowak", "Wiśniewska", "Wójcik"], "random()")} AS last_name,
       {_pick(DELIVERY, "random()")} AS delivery,
       1 + floor(random() * 3)::int AS lines,
       floor(random() * 25)::int AS from_hours,
       24 + floor(random() * 49)::int AS by_hours,
       random() < 0.001 AS quarantined
FROM generate_series(0, %(rows)s - 1) AS g(n)
""",
    f"""
CREATE TEMPORARY TABLE gen_lines ON COMMIT DROP AS
SELECT g.n, l.k, gen_random_uuid() AS uid,
       ((%(base)s + floor(random() * %(rows)s))::bigint + 0 * l.k)::text AS offer_id,
       {_title("4", "l.k")} AS name,
       1 + floor(random() * 3)::int AS qty,
       ((100 + floor(random() * 49901)) / 100)::numeric(14, 2) AS price
FROM gen_orders AS g, LATERAL generate_series(1, g.lines) AS l(k)
""",
    """
INSERT INTO orders_order (
    account_id, allegro_id, buyer_id, buyer_login, buyer_email, buyer_first_name,
    buyer_last_name, buyer_company_name, delivery_address, delivery_address_lines, pickup_point,
    pickup_point_id, pickup_point_lines, delivery_method_id, delivery_method_name, payment_id,
    payment_type, payment_provider, paid_amount, paid_currency, payment_finished_at, status,
    fulfillment_status, line_items_sent, revision, total_amount, currency, marketplace,
    invoice_required, invoice_address_lines, invoice_tax_id, message_to_seller, bought_at,
    dispatch_from, dispatch_by, allegro_updated_at, quarantined, synced_at, waybills_read_at,
    raw
)
SELECT %(account)s, g.uid, (70000000 + substr(g.login, 9)::int)::text, g.login,
       g.login || '@allegromail.pl', 'Jan', g.last_name, '',
       jsonb_build_object('street', 'Długa ' || (1 + g.n %% 90), 'city', 'Warszawa',
                          'zipCode', '00-' || lpad((g.n %% 1000)::text, 3, '0')),
       jsonb_build_array('Jan ' || g.last_name, 'Długa ' || (1 + g.n %% 90),
                         '00-' || lpad((g.n %% 1000)::text, 3, '0') || ' Warszawa'),
       CASE WHEN g.delivery LIKE '%%Paczkomaty%%'
            THEN jsonb_build_object('id', 'WAW' || lpad((g.n %% 999)::text, 3, '0') || 'M') END,
       CASE WHEN g.delivery LIKE '%%Paczkomaty%%'
            THEN 'WAW' || lpad((g.n %% 999)::text, 3, '0') || 'M' ELSE '' END,
       CASE WHEN g.delivery LIKE '%%Paczkomaty%%'
            THEN jsonb_build_array('Paczkomat WAW' || lpad((g.n %% 999)::text, 3, '0') || 'M',
                                   'Warszawa')
            ELSE '[]'::jsonb END,
       md5(g.delivery), g.delivery, md5(g.uid::text), 'ONLINE', 'P24', t.total, 'PLN',
       g.bought + interval '5 minutes',
       CASE WHEN g.status_draw < 0.87 THEN 'READY_FOR_PROCESSING'
            WHEN g.status_draw < 0.89 THEN 'FILLED_IN'
            WHEN g.status_draw < 0.9 THEN 'BOUGHT'
            ELSE 'CANCELLED' END,
       g.fulfillment,
       CASE WHEN g.fulfillment IN ('SENT', 'PICKED_UP') THEN 'ALL' ELSE 'NONE' END,
       substr(md5(g.uid::text), 1, 8), t.total, 'PLN', 'allegro-pl', false, '[]'::jsonb, '',
       '', g.bought, g.bought + g.from_hours * interval '1 hour',
       g.bought + g.by_hours * interval '1 hour', g.bought, g.quarantined, %(now)s, %(now)s,
       jsonb_build_object('id', g.uid, 'status', 'READY_FOR_PROCESSING',
                          'buyer', jsonb_build_object('login', g.login,
                                                      'email', g.login || '@allegromail.pl'),
                          'fulfillment', jsonb_build_object('status', g.fulfillment),
                          'delivery', jsonb_build_object('method',
                                                         jsonb_build_object('name', g.delivery)),
                          'summary', jsonb_build_object('totalToPay',
                              jsonb_build_object('amount', t.total::text, 'currency', 'PLN')))
FROM gen_orders AS g
JOIN (SELECT n, sum(price * qty) AS total FROM gen_lines GROUP BY n) AS t USING (n)
ORDER BY g.n
""",
    """
CREATE TEMPORARY TABLE gen_ids ON COMMIT DROP AS
SELECT g.n, o.id, g.bought, g.fulfillment IN ('SENT', 'PICKED_UP') AS sent
FROM gen_orders AS g JOIN orders_order AS o ON o.account_id = %(account)s AND o.allegro_id = g.uid
""",
    """
INSERT INTO orders_orderlineitem (
    account_id, order_id, allegro_id, offer_id, offer_name, quantity, price_amount,
    price_currency, bought_at
)
SELECT %(account)s, i.id, l.uid, l.offer_id, l.name, l.qty, l.price, 'PLN', i.bought
FROM gen_lines AS l JOIN gen_ids AS i USING (n)
ORDER BY l.n, l.k
""",
    """
INSERT INTO orders_trackingnumber (
    account_id, order_id, allegro_id, waybill, carrier_id, carrier_name, line_items, created_at
)
SELECT %(account)s, i.id, md5(i.id::text), 'WB' || (%(base)s + i.n), 'DPD', 'DPD', '[]'::jsonb,
       i.bought + interval '1 day'
FROM gen_ids AS i
WHERE i.sent
ORDER BY i.n
""",
]


TABLES = ("offers_offer", "orders_order", "orders_orderlineitem", "orders_trackingnumber")


def _load(cursor: Any, *, shops: list[Any], rows: int) -> None:
    """Fill ``shops`` with ``rows`` offers and orders each, in one transaction: the tables'
    secondary indexes are dropped first and built once at the end (``maintenance_work_mem``),
    foreign-key triggers are off while the generated (consistent) rows go in."""
    from django.utils import timezone

    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname NOT IN"
        " (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
        [list(TABLES)],
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("SET LOCAL session_replication_role = replica")
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    now = timezone.now()
    for number, shop in enumerate(shops):
        params = {
            "account": shop.pk,
            "base": 10_000_000_000 + shop.pk * 10_000_000,
            "rows": rows,
            "now": now,
        }
        cursor.execute("SELECT setseed(%s)", [(number + 1) / 100])
        started = time.perf_counter()
        cursor.execute(OFFERS_SQL, params)
        print(f"  {shop.login}: {rows} offers in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        for statement in ORDERS_SQL:
            cursor.execute(statement, params)
        for table in ("gen_ids", "gen_lines", "gen_orders"):
            cursor.execute(f"DROP TABLE {table}")
        print(f"  {shop.login}: {rows} orders in {time.perf_counter() - started:.1f} s")
    cursor.execute("SET LOCAL session_replication_role = origin")
    started = time.perf_counter()
    for _name, definition in indexes:
        cursor.execute(definition)
    print(f"  {len(indexes)} indexes built in {time.perf_counter() - started:.1f} s")


def generate(*, accounts: int, rows: int) -> list[Any]:
    from django.core.management import call_command
    from django.db import connection, transaction

    from offers.models import Offer
    from orders.models import Order

    call_command("migrate", verbosity=0)
    shops = _accounts(accounts)
    missing = [
        shop
        for shop in shops
        if Offer.objects.filter(account=shop).count() != rows
        or Order.objects.filter(account=shop).count() != rows
    ]
    if missing:
        with transaction.atomic(), connection.cursor() as cursor:
            for shop in missing:
                Order.objects.filter(account=shop).delete()
                Offer.objects.filter(account=shop).delete()
            _load(cursor, shops=missing, rows=rows)
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


def measure(client: Any, url: str, runs: int) -> tuple[float, float, int, int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        client.get(url)
    times, queries, status, sql = [], 0, 0, []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        queries, status = len(captured), response.status_code
        sql = [q["sql"] for q in captured.captured_queries]
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, queries, status, sql


BIG_TABLES = ("offers_offer", "orders_order", "orders_orderlineitem", "orders_trackingnumber")
SCANS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Bitmap Index Scan")


def plan_check(sql: list[str]) -> str:
    """``EXPLAIN ANALYZE`` of the page's queries on the big tables: the indexes their plans
    use, the rows they read (returned + removed by filters, over all loops) and any sequential
    scan of a big table, which at this size means a missing or unused index."""
    from django.db import connection

    indexes: set[str] = set()
    seq: set[str] = set()
    rows = 0

    def walk(node: dict[str, Any]) -> None:
        nonlocal rows
        kind = node.get("Node Type", "")
        loops = node.get("Actual Loops", 1)
        if kind in SCANS and kind != "Bitmap Index Scan":
            removed = node.get("Rows Removed by Filter", 0) + node.get(
                "Rows Removed by Index Recheck", 0
            )
            rows += (node.get("Actual Rows", 0) + removed) * loops
        if "Index Name" in node:
            indexes.add(node["Index Name"])
        if kind == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
            seq.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    with connection.cursor() as cursor:
        for statement in sql:
            head = statement.lstrip("( ").upper()
            if not head.startswith("SELECT") or not any(t in statement for t in BIG_TABLES):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}")
            plan = cursor.fetchone()[0]
            walk((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"])
    found = ", ".join(sorted(indexes)) or "no index"
    warning = f"  SEQ SCAN: {', '.join(sorted(seq))}" if seq else ""
    return f"{rows:>9,} rows read | {found}{warning}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--rows", type=int, default=50_000, help="offers and orders per account")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-admin", action="store_true", help="time the staff pages only")
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
    plans = []
    for name, url, admin_url in cases:
        p50, p95, queries, status, sql = measure(pages, url, args.runs)
        if status != 200:
            sys.exit(f"{url} answered {status}")
        plans.append((name, plan_check(sql)))
        if admin_url is None or args.skip_admin:  # nothing in the admin does the same
            print(f"{name:<17} | {p50:7.1f} {p95:7.1f} {queries:7d} | {'—':>9} {'—':>9} {'—':>7} |")
            continue
        a50, a95, aqueries, astatus, _sql = measure(admin_client, admin_url, args.runs)
        if astatus != 200:
            sys.exit(f"{admin_url} answered {astatus}")
        print(
            f"{name:<17} | {p50:7.1f} {p95:7.1f} {queries:7d} | "
            f"{a50:9.1f} {a95:9.1f} {aqueries:7d} | {a95 / p95:11.1f}x"
        )
    print("\nPlans (EXPLAIN ANALYZE of each page's queries on the offer and order tables):")
    for name, summary in plans:
        print(f"{name:<17} | {summary}")


def _ensure_database_settings() -> None:
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to a throwaway PostgreSQL database (it is filled with data).")


if __name__ == "__main__":
    main()
