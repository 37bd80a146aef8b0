"""After-sales benchmark: server time and query count of the inbox, the ratings list (plain,
filtered, searched) and a dispute's page against the Django admin changelist on the same data.

    DEBUG=0 SECRET_KEY=bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_inbox_bench \
    REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/inbox.py \
    [--accounts 5 --ratings 20000 --disputes 5000 --returns 1000 --threads 2000]

Generates ``accounts`` x ``ratings`` ratings (two years of them: mostly positive, some negative
or neutral, most of those answered; a removal window of 14 days), ``disputes`` disputes and
claims spread over the accounts (most closed; 1-8 chat messages each, 50 on the largest), and
per account ``returns`` customer returns (a year of them; about 5 % delivered and waiting for a
refund, some of those refunded already) and ``threads`` buyer message threads (about 3 % unread)
straight into PostgreSQL with ``bulk_create`` (once: a database that already holds them is
reused), then requests every page in-process with Django's test client (a manager of every
account; a superuser for the admin), ``--runs`` times after a warm-up, and prints p50 / p95 of
the server time, the database's share (median), the CPU time of this process (median: Django's
own work, which other load on the machine slows less than the wall clock), the query count and
the query count again at twice the page size (it must not change). The database named in
``DATABASE_URL`` is created and migrated when needed; use a throwaway one.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

from pages import (  # bench/pages.py: the same database set-up and measuring
    WORDS,
    _accounts,
    _ensure_database,
    _ensure_database_settings,
    _users,
)

BATCH = 5000
LARGEST = 50  # messages on the largest dispute
COMPLAINTS = (
    "Paczka przyszła uszkodzona",
    "Towar niezgodny z opisem",
    "Za długo czekałem na wysyłkę",
    "Brak kontaktu ze sprzedawcą",
    "Produkt nie działa",
    "Dobry kontakt, polecam",
    "Wszystko w porządku",
)


def _ratings(account: Any, rows: int, rng: random.Random) -> None:
    from django.utils import timezone

    from aftersales.models import Rating

    now = timezone.now()
    batch: list[Rating] = []
    for i in range(rows):
        created = now - timedelta(minutes=rng.randint(0, 2 * 525_600))
        draw = rng.random()
        recommended = draw >= 0.08
        low = 3 if draw < 0.13 else 5  # 8 % negative, 5 % neutral (recommending, a low rate)
        answered = not (draw >= 0.13 or rng.random() < 0.4)
        edited = created + timedelta(days=1) if rng.random() < 0.02 else None
        comment = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
        batch.append(
            Rating(
                account=account,
                allegro_id=str(uuid.uuid4()),
                buyer_id=str(rng.randint(10**7, 10**8)),
                buyer_login=f"kupujacy{rng.randint(1, rows // 2)}",
                recommended=recommended,
                comment=f"{rng.choice(COMPLAINTS)}: {comment}" if draw < 0.5 else "",
                rate_description=low if not recommended or draw < 0.13 else rng.randint(4, 5),
                rate_service=rng.randint(low, 5) if draw >= 0.08 else rng.randint(1, 3),
                rate_delivery_cost=rng.randint(4, 5),
                checkout_form_id=str(uuid.uuid4()),
                answer_message="Dziękujemy za opinię." if answered else "",
                answer_created_at=created + timedelta(hours=5) if answered else None,
                removal_possible_to=created + timedelta(days=14) if draw < 0.13 else None,
                created_at=created,
                edited_at=edited,
                last_changed_at=edited or created,
                synced_at=now,
                raw={"order": {"offers": [{"id": str(10**10 + i), "title": comment}]}},
            )
        )
        if len(batch) >= BATCH:
            Rating.objects.bulk_create(batch)
            batch = []
    Rating.objects.bulk_create(batch)


DISPUTE_STATUSES = ["DISPUTE_ONGOING"] * 15 + ["DISPUTE_CLOSED"] * 55 + ["DISPUTE_UNRESOLVED"] * 5
CLAIM_STATUSES = ["CLAIM_SUBMITTED"] * 5 + ["CLAIM_ACCEPTED"] * 15 + ["CLAIM_REJECTED"] * 5


def _disputes(account: Any, rows: int, rng: random.Random, *, largest: bool) -> None:
    from django.utils import timezone

    from aftersales.models import Dispute, DisputeMessage
    from aftersales.sync import dispute_turns_refresh

    now = timezone.now()
    disputes: list[Dispute] = []
    counts: list[int] = []
    for i in range(rows):
        opened = now - timedelta(minutes=rng.randint(0, 525_600))
        status = rng.choice(DISPUTE_STATUSES + CLAIM_STATUSES)
        claim = status.startswith("CLAIM")
        count = LARGEST if largest and i == 0 else rng.randint(1, 8)
        counts.append(count)
        disputes.append(
            Dispute(
                account=account,
                allegro_id=str(uuid.uuid4()),
                type="CLAIM" if claim else "DISPUTE",
                status=status,
                subject=rng.choice(COMPLAINTS),
                reference_number=f"DS-{account.pk}-{i:06d}",
                buyer_id=str(rng.randint(10**7, 10**8)),
                buyer_login=f"kupujacy{rng.randint(1, 10_000)}",
                checkout_form_id=str(uuid.uuid4()),
                offer_id=str(10**10 + i),
                opened_at=opened,
                decision_due_at=opened + timedelta(days=14) if claim else None,
                messages_count=count,
                last_message_at=opened + timedelta(hours=count),
                synced_at=now,
                raw={},
            )
        )
    saved = Dispute.objects.bulk_create(disputes, batch_size=BATCH)
    messages: list[DisputeMessage] = []
    for dispute, count in zip(saved, counts, strict=True):
        assert dispute.opened_at is not None
        for n in range(count):
            # buyer and seller in turn; about half of the chats end with the buyer
            role = "BUYER" if (n + (rng.random() < 0.5)) % 2 == 0 else "SELLER"
            messages.append(
                DisputeMessage(
                    account=account,
                    dispute=dispute,
                    allegro_id=str(uuid.uuid4()),
                    text=" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 30))),
                    author_login=dispute.buyer_login if role == "BUYER" else account.login,
                    author_role=role,
                    attachments=[],
                    created_at=dispute.opened_at + timedelta(hours=n),
                    raw={},
                )
            )
    DisputeMessage.objects.bulk_create(messages, batch_size=BATCH)
    dispute_turns_refresh(dispute_ids=[d.pk for d in saved])  # as the mirror keeps them


def _returns(account: Any, rows: int, rng: random.Random) -> None:
    from django.utils import timezone

    from aftersales.models import CustomerReturn, Refund

    now = timezone.now()
    returns: list[CustomerReturn] = []
    for i in range(rows):
        draw = rng.random()
        status = (
            "DELIVERED"
            if draw < 0.05
            else rng.choice(["FINISHED"] * 8 + ["REJECTED", "IN_TRANSIT", "CREATED"])
        )
        returns.append(
            CustomerReturn(
                account=account,
                allegro_id=str(uuid.uuid4()),
                reference_number=f"ZW/{account.pk}/{i:06d}",
                order_id=str(uuid.uuid4()),
                status=status,
                buyer_login=f"kupujacy{rng.randint(1, 10_000)}",
                created_at=now - timedelta(minutes=rng.randint(0, 525_600)),
                rejection_code="ITEM_FIXED" if status == "REJECTED" else "",
                synced_at=now,
                raw={},
            )
        )
    saved = CustomerReturn.objects.bulk_create(returns, batch_size=BATCH)
    refunds = [  # every finished return, and a third of the delivered ones, refunded
        Refund(
            account=account,
            allegro_id=str(uuid.uuid4()),
            order_id=r.order_id,
            customer_return=r,
            reason="REFUND",
            status="SUCCESS",
            created_at=(r.created_at or now) + timedelta(days=3),
            synced_at=now,
        )
        for r in saved
        if r.status == "FINISHED" or (r.status == "DELIVERED" and rng.random() < 0.33)
    ]
    Refund.objects.bulk_create(refunds, batch_size=BATCH)


def _threads(account: Any, rows: int, rng: random.Random) -> None:
    from django.utils import timezone

    from aftersales.models import MessageThread

    now = timezone.now()
    MessageThread.objects.bulk_create(
        [
            MessageThread(
                account=account,
                allegro_id=str(uuid.uuid4()),
                read=rng.random() >= 0.03,
                last_message_at=now - timedelta(minutes=rng.randint(0, 525_600)),
                interlocutor_login=f"kupujacy{rng.randint(1, 10_000)}",
                order_id=str(uuid.uuid4()) if rng.random() < 0.7 else "",
                synced_at=now,
                raw={},
            )
            for _ in range(rows)
        ],
        batch_size=BATCH,
    )


def measure(client: Any, url: str, runs: int) -> tuple[float, float, int, int, float, float]:
    """As ``bench/pages.py``'s, plus the median time spent in the database (ms) and the median
    CPU time of this process (ms): on a busy machine they tell the database's share from the
    Python's (rendering) in the page's time, and Django's work from the waiting for a core."""
    import statistics

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        client.get(url)
    times, db_times, cpu_times, queries, status = [], [], [], 0, 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            cpu_times.append((time.process_time() - cpu) * 1000)
        queries, status = len(captured), response.status_code
        db_times.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return (
        statistics.median(times),
        p95,
        queries,
        status,
        statistics.median(db_times),
        statistics.median(cpu_times),
    )


def generate(
    *, accounts: int, ratings: int, disputes: int, returns: int = 0, threads: int = 0
) -> list[Any]:
    from django.core.management import call_command
    from django.db import connection

    from aftersales.models import CustomerReturn, Dispute, MessageThread, Rating

    call_command("migrate", verbosity=0)
    shops = _accounts(accounts)
    rng = random.Random(12)
    per_account = disputes // accounts
    for n, shop in enumerate(shops):
        if Rating.objects.filter(account=shop).count() < ratings:
            Rating.objects.filter(account=shop).delete()
            started = time.perf_counter()
            _ratings(shop, ratings, rng)
            print(f"  {shop.login}: {ratings} ratings in {time.perf_counter() - started:.1f} s")
        if Dispute.objects.filter(account=shop).count() < per_account:
            Dispute.objects.filter(account=shop).delete()
            started = time.perf_counter()
            _disputes(shop, per_account, rng, largest=n == 0)
            print(
                f"  {shop.login}: {per_account} disputes in {time.perf_counter() - started:.1f} s"
            )
        if CustomerReturn.objects.filter(account=shop).count() < returns:
            CustomerReturn.objects.filter(account=shop).delete()
            started = time.perf_counter()
            _returns(shop, returns, rng)
            print(f"  {shop.login}: {returns} returns in {time.perf_counter() - started:.1f} s")
        if MessageThread.objects.filter(account=shop).count() < threads:
            MessageThread.objects.filter(account=shop).delete()
            started = time.perf_counter()
            _threads(shop, threads, rng)
            print(f"  {shop.login}: {threads} threads in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps in production
    return shops


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--ratings", type=int, default=20_000, help="ratings per account")
    parser.add_argument("--disputes", type=int, default=5_000, help="disputes in all")
    parser.add_argument("--returns", type=int, default=1_000, help="customer returns per account")
    parser.add_argument("--threads", type=int, default=2_000, help="message threads per account")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    import django

    _ensure_database_settings()
    django.setup()
    _ensure_database()
    from django.conf import settings
    from django.core.cache import cache
    from django.db.models import Count
    from django.test import Client

    from aftersales.models import Dispute, Rating

    settings.ALLOWED_HOSTS = ["*"]
    started = time.perf_counter()
    shops = generate(
        accounts=args.accounts,
        ratings=args.ratings,
        disputes=args.disputes,
        returns=args.returns,
        threads=args.threads,
    )
    print(f"data ready in {time.perf_counter() - started:.1f} s")
    staff, admin = _users(shops)
    # The ratings summaries come from a 15-minute cache in production; no Allegro behind the bench.
    for shop in shops:
        cache.set(f"aftersales:ratings-summary:{shop.pk}", "—", 3600)

    pages = Client()
    pages.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    admin_client = Client()
    admin_client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    shop = shops[0]
    largest = (
        Dispute.objects.filter(account=shop)
        .annotate(n=Count("messages"))
        .order_by("-n", "pk")
        .first()
    )
    rating = Rating.objects.filter(account=shop).exclude(comment="").order_by("pk").first()
    assert largest is not None
    assert rating is not None
    login = rating.buyer_login
    word = "ekspres"
    cases: list[tuple[str, str, str | None]] = [
        ("inbox", "/after-sales/", "/admin/aftersales/rating/?recommended__exact=0"),
        ("inbox, ratings", "/after-sales/?kind=rating", None),
        ("inbox, overdue", "/after-sales/?overdue=on", None),
        ("inbox, 1 account", f"/after-sales/?account={shop.pk}", None),
        ("inbox, unassigned", "/after-sales/?assigned=none", None),
        ("ratings list", "/after-sales/ratings/", "/admin/aftersales/rating/"),
        (
            "ratings filtered",
            f"/after-sales/ratings/?account={shop.pk}&recommended=no&answered=no",
            f"/admin/aftersales/rating/?account__id__exact={shop.pk}&recommended__exact=0",
        ),
        (
            "ratings by login",
            f"/after-sales/ratings/?q={login}",
            f"/admin/aftersales/rating/?q={login}",
        ),
        ("ratings by word", f"/after-sales/ratings/?q={word}", None),
        ("disputes list", "/after-sales/disputes/", "/admin/aftersales/dispute/"),
        (
            "dispute detail",
            f"/after-sales/disputes/{largest.pk}/",
            f"/admin/aftersales/dispute/{largest.pk}/change/",
        ),
    ]
    header = (
        f"{'page':<17} | {'p50 ms':>7} {'p95 ms':>7} {'db ms':>6} {'cpu ms':>6} {'queries':>7} "
        f"{'x2 rows':>7} | "
        f"{'admin p50':>9} {'admin p95':>9} {'queries':>7} | {'p95 speed-up':>12}"
    )
    print(
        f"\n{args.accounts} accounts x {args.ratings} ratings, {args.disputes} disputes "
        f"({LARGEST} messages on the largest), {args.accounts} x {args.returns} returns and "
        f"{args.threads} threads, {args.runs} runs"
    )
    print(header)
    print("-" * len(header))
    for name, url, admin_url in cases:
        p50, p95, queries, status, db, cpu = measure(pages, url, args.runs)
        if status != 200:
            sys.exit(f"{url} answered {status}")
        joiner = "&" if "?" in url else "?"
        more = queries
        if "/disputes/" not in url or url.endswith("/disputes/"):
            more = measure(pages, f"{url}{joiner}per_page=100", 3)[2]
        if admin_url is None:  # nothing in the admin does the same
            print(
                f"{name:<17} | {p50:7.1f} {p95:7.1f} {db:6.1f} {cpu:6.1f} {queries:7d} {more:7d} | "
                f"{'—':>9} {'—':>9} {'—':>7} |"
            )
            continue
        a50, a95, aqueries, astatus, _adb, _acpu = measure(admin_client, admin_url, args.runs)
        if astatus != 200:
            sys.exit(f"{admin_url} answered {astatus}")
        print(
            f"{name:<17} | {p50:7.1f} {p95:7.1f} {db:6.1f} {cpu:6.1f} {queries:7d} {more:7d} | "
            f"{a50:9.1f} {a95:9.1f} {aqueries:7d} | {a95 / p95:11.1f}x"
        )


if __name__ == "__main__":
    main()
