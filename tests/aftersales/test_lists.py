"""The ratings and disputes lists print their rows from prepared values (``aftersales.selectors``
``rating_rows`` / ``dispute_rows``): the same text the templates' filters gave (local time,
shortened comment and subject, labels, last speaker, account login, the detail link), with a
query count that does not grow with the page size; the dispute page's chat likewise. The
disputes total is exact up to the list's own cap and flagged as an estimate above it; the ratings
summaries are read from the cache at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.text import Truncator

from accounts.models import Role
from aftersales.forms_disputes import STATUS_LABELS, TYPE_LABELS
from aftersales.models import Dispute, Rating
from aftersales.services import ratings_summaries_for, ratings_summary_for
from aftersales.views import disputes as disputes_views
from tests.factories import (
    AllegroAccountFactory,
    DisputeFactory,
    DisputeMessageFactory,
    RatingFactory,
)
from ui.paging import COUNT_CAP

pytestmark = pytest.mark.django_db(transaction=False)

LONG = "Paczka przyszła uszkodzona, " * 8  # 216 characters: shortened to 100 in the list


def _row(html: str, marker: str) -> str:
    """The table row holding ``marker`` (e.g. ``data-rating-id="…"``), without the white space
    between its cells."""
    return re.sub(r">\s+<", "><", html.split(marker, 1)[1].split("</tr>", 1)[0])


def _get(client: Any, url: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_ratings_list_rows_and_queries_at_two_page_sizes(
    client_for: Callable[[Any], Any], alice: Any, account: Any, grant: Callable[..., Any]
) -> None:
    second = AllegroAccountFactory(login="sklep-b")
    grant(alice, second, Role.VIEWER)
    newest = datetime(2031, 3, 1, 23, 30, tzinfo=UTC)  # 2031-03-02 00:30 in Warsaw
    special = RatingFactory(
        account=second,
        recommended=False,
        comment=LONG,
        rate_description=2,
        rate_service=None,
        rate_delivery_cost=4,
        answer_message="Przepraszamy.",
        removal_requested_at=newest,
        created_at=newest,
        last_changed_at=newest,
    )
    for _ in range(60):
        RatingFactory(account=account)
    client = client_for(alice)
    url = reverse("aftersales:ratings")
    client.get(url)  # warm: the summaries' problems are cached after the first view
    small, small_queries = _get(client, f"{url}?per_page=25")
    large, large_queries = _get(client, f"{url}?per_page=100")
    assert small.count('data-testid="rating-row"') == 25
    assert large.count('data-testid="rating-row"') == 61
    assert small_queries == large_queries

    row = _row(small, 'data-testid="rating-row"')  # the newest first
    assert f'data-rating-id="{special.allegro_id}"' in row
    assert f'href="{reverse("aftersales:rating", args=[special.pk])}"' in row
    assert "2031-03-02 00:30" in row
    assert "2 / \N{EN DASH} / 4" in row
    assert f"<td>{Truncator(LONG).chars(100)}</td>" in row
    assert LONG not in small
    assert "sklep-b" in row
    assert "sklep-a" not in row
    assert "badge-reauth_required" in row  # not recommended
    assert row.count('class="badge"') == 1  # removal requested
    after = small.split(f'data-rating-id="{special.allegro_id}"', 1)[1]
    plain = _row(after, 'data-testid="rating-row"')
    assert "<td>Szybka wysyłka, polecam.</td>" in plain
    assert "5 / 5 / \N{EN DASH}" in plain
    assert "sklep-a" in plain


def test_ratings_list_filtered_to_unanswered_negative_ones(
    client_for: Callable[[Any], Any], alice: Any, account: Any
) -> None:
    wanted = RatingFactory(account=account, recommended=False, buyer_login="czeka_na_nas")
    RatingFactory(account=account, recommended=False, answer_message="Dziękujemy.")
    gone = RatingFactory(account=account, recommended=False)
    Rating.objects.filter(pk=gone.pk).update(deleted_at=datetime(2030, 1, 1, tzinfo=UTC))
    RatingFactory(account=account, recommended=True)
    url = reverse("aftersales:ratings")
    page = client_for(alice).get(f"{url}?account={account.pk}&recommended=no&answered=no")
    html = page.content.decode()
    assert html.count('data-testid="rating-row"') == 1
    assert wanted.allegro_id in html


def test_disputes_list_rows_and_queries_at_two_page_sizes(
    client_for: Callable[[Any], Any], alice: Any, account: Any, grant: Callable[..., Any]
) -> None:
    second = AllegroAccountFactory(login="sklep-b")
    grant(alice, second, Role.VIEWER)
    newest = datetime(2031, 3, 1, 23, 30, tzinfo=UTC)
    claim = DisputeFactory(
        account=second,
        type="CLAIM",
        status="CLAIM_SUBMITTED",
        subject="Reklamacja " + "bardzo długiego tematu " * 5,
        opened_at=newest,
        decision_due_at=datetime(2031, 3, 15, 10, 0, tzinfo=UTC),
        messages=3,  # buyer, seller, buyer: the buyer spoke last
    )
    silent = DisputeFactory(account=account, status="DISPUTE_ONGOING")
    answered = DisputeFactory(account=account, status="DISPUTE_ONGOING", messages=2)
    for n in range(58):
        DisputeFactory(account=account, status="DISPUTE_CLOSED", messages=n % 3)
    client = client_for(alice)
    url = reverse("aftersales:disputes")
    client.get(url)
    small, small_queries = _get(client, f"{url}?per_page=25")
    large, large_queries = _get(client, f"{url}?per_page=100")
    assert small.count('data-testid="dispute-row"') == 25
    assert large.count('data-testid="dispute-row"') == 61
    assert small_queries == large_queries

    row = _row(small, 'data-testid="dispute-row"')
    assert f'data-issue-id="{claim.allegro_id}"' in row
    assert f'href="{reverse("aftersales:dispute", args=[claim.pk])}"' in row
    assert "2031-03-02 00:30" in row
    assert "2031-03-15 11:00" in row
    assert f"<td>{TYPE_LABELS['CLAIM']}</td>" in row
    assert f"<td>{STATUS_LABELS['CLAIM_SUBMITTED']}</td>" in row
    assert f"<td>{Truncator(claim.subject).chars(80)}</td>" in row
    assert "badge-reauth_required" in row  # the buyer's word is the last
    assert "sklep-b" in row
    last_word = "<td>{}</td><td>—</td><td>sklep-a</td>"  # last word, decision due, account
    assert last_word.format("—") in _row(large, f'data-issue-id="{silent.allegro_id}"')
    assert last_word.format("my") in _row(large, f'data-issue-id="{answered.allegro_id}"')


def test_ratings_summaries_read_at_once_are_those_of_each_account(account: Any) -> None:
    cached = AllegroAccountFactory(login="z-podsumowaniem")
    problem = AllegroAccountFactory(login="z-problemem")
    cache.set(
        f"aftersales:ratings-summary:{cached.pk}",
        {"recommended": {"unique": 7, "total": 9}, "recommendedPercentage": "87,5"},
        60,
    )
    cache.set(f"aftersales:ratings-summary:{problem.pk}", "Allegro nie odpowiada.", 60)
    cache.delete(f"aftersales:ratings-summary:{account.pk}")  # read from Allegro: not usable
    together = ratings_summaries_for(accounts=[cached, problem, account])
    assert [a for a, _ in together] == [cached, problem, account]
    assert [s for _, s in together] == [
        ratings_summary_for(account=a) for a in (cached, problem, account)
    ]
    summary = together[0][1]
    assert not isinstance(summary, str)
    assert summary.recommended_unique == 7
    assert together[1][1] == "Allegro nie odpowiada."
    assert isinstance(together[2][1], str)  # the reason Allegro was not asked / did not answer


def test_disputes_total_is_exact_up_to_the_cap_then_flagged_as_an_estimate(
    client_for: Callable[[Any], Any], alice: Any, account: Any, monkeypatch: Any
) -> None:
    opened = datetime(2030, 1, 1, tzinfo=UTC)
    Dispute.objects.bulk_create(
        Dispute(
            account=account,
            allegro_id=f"issue-{n}",
            type="DISPUTE",
            status="DISPUTE_CLOSED",
            opened_at=opened,
            synced_at=opened,
        )
        for n in range(COUNT_CAP + 2)  # above the kit's cap: still exact here, in one query
    )
    DisputeFactory(account=AllegroAccountFactory())  # not in view
    client = client_for(alice)
    url = reverse("aftersales:disputes")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    assert f'data-testid="dispute-total">{COUNT_CAP + 2} sprawy</p>' in html
    assert not [q for q in queries.captured_queries if q["sql"].startswith("EXPLAIN")]
    monkeypatch.setattr(disputes_views, "COUNT_CAP", COUNT_CAP)
    html = client.get(url).content.decode()
    total = html.split('data-testid="dispute-total">', 1)[1].split("</p>", 1)[0]
    assert total.startswith("około ")
    assert total.endswith(" (szacunkowo)")


def test_dispute_chat_as_printed(
    client_for: Callable[[Any], Any], alice: Any, account: Any
) -> None:
    dispute = DisputeFactory(account=account, status="DISPUTE_ONGOING")
    sent = datetime(2031, 7, 1, 8, 5, tzinfo=UTC)  # 10:05 in Warsaw (summer time)
    said = [
        ("BUYER", "Paczka <b>uszkodzona</b>\nzdjęcia w załączniku", []),
        ("SELLER", "Przepraszamy", [{"fileName": "protokol.pdf"}, {"url": "https://x/1"}]),
        ("ADMIN", "", []),
        ("SYSTEM", "Sprawa zamknięta", []),
    ]
    messages = [
        DisputeMessageFactory(
            dispute=dispute,
            author_role=role,
            author_login=f"autor-{role.lower()}",
            text=text,
            attachments=files,
            created_at=sent + timedelta(minutes=n),
        )
        for n, (role, text, files) in enumerate(said)
    ]
    html = client_for(alice).get(reverse("aftersales:dispute", args=[dispute.pk])).content
    chat = html.decode().split('data-testid="dispute-chat"', 1)[1].split("</ol>", 1)[0]
    items = [re.sub(r">\s+<", "><", item) for item in chat.split('<li class="chat-')[1:]]
    assert len(items) == 4
    buyer, seller, advisor, system = items
    assert buyer.startswith('buyer" data-testid="chat-message" data-role="BUYER"')
    assert "<strong>Kupujący</strong> autor-buyer · 2031-07-01 10:05" in buyer
    assert "<p>Paczka &lt;b&gt;uszkodzona&lt;/b&gt;<br>zdjęcia w załączniku</p>" in buyer
    assert "<strong>My</strong> autor-seller · 2031-07-01 10:06" in seller
    first, second = (
        reverse("aftersales:dispute_attachment", args=[dispute.pk, messages[1].pk, n])
        for n in (0, 1)
    )
    assert f'<a href="{first}" data-testid="chat-attachment"' in seller
    assert ">protokol.pdf</a>" in seller
    assert f'<a href="{second}" data-testid="chat-attachment"' in seller
    assert ">załącznik</a>" in seller
    assert "<strong>Doradca Allegro</strong> autor-admin" in advisor
    assert "<p>" not in advisor.split("</p>", 1)[1]  # no text: no paragraph for it
    assert system.startswith('system" data-testid="chat-message" data-role="SYSTEM"')
    assert "<strong>Allegro</strong> autor-system" in system
