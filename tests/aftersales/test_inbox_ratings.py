"""The after-sales inbox and the rating pages against the simulator over real HTTP: a negative
rating arrives, shows in the inbox, is answered with a saved reply (the simulator holds the
answer) and leaves; a removal request; a buyer message shows within one poll; an answer made
on allegro.pl removes the item. Plus the permission matrix and query bounds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuditLogEntry, Role
from aftersales.inbox import inbox_counts
from aftersales.models import Rating, SavedReply
from tests.factories import DisputeFactory, RatingFactory, UserFactory
from tests.mirror.conftest import drive
from tests.plugins.allegro_accounts import SELLER_LOGIN

pytestmark = pytest.mark.django_db(transaction=False)


def _staff(name: str, account: Any, role: Any) -> Any:
    from accounts.models import AccountGrant

    user = UserFactory(email=f"{name}@example.com", username=name)
    AccountGrant.objects.create(user=user, account=account, role=role)
    return user


def _rows(html: str) -> int:
    return html.count('data-testid="inbox-row"')


@pytest.fixture
def linked(sim: Any, link_account: Callable[..., Any]) -> Any:
    sim.control("POST", "/reset", {"seed": {"sellers": 2, "offers": 10, "orders": 30, "seed": 7}})
    account = link_account(SELLER_LOGIN)
    drive(account, "ratings")
    drive(account, "issues")
    return account


def test_negative_rating_answered_with_saved_reply_leaves_the_inbox(
    sim: Any, linked: Any, client_for: Callable[[Any], Any], api: Any
) -> None:
    operator = _staff("olga", linked, Role.OPERATOR)
    client = client_for(operator)
    doc = sim.control(
        "POST",
        f"/sellers/{linked.allegro_user_id}/ratings",
        {"recommended": False, "comment": "Paczka przyszła uszkodzona."},
    )
    drive(linked, "ratings")
    rating = Rating.objects.get(account=linked, allegro_id=doc["id"])
    inbox = client.get(reverse("aftersales:index")).content.decode()
    assert f'data-item="rating-{rating.pk}"' in inbox

    reply = SavedReply.objects.create(
        account=None, title="Przeprosiny", text="Przepraszamy {buyer_login}, zamówienie {order_id}."
    )
    page = client.get(reverse("aftersales:rating", args=[rating.pk]) + f"?reply={reply.pk}")
    expected = f"Przepraszamy {rating.buyer_login}, zamówienie {rating.checkout_form_id}."
    assert expected in page.content.decode()
    response = client.post(
        reverse("aftersales:rating_answer", args=[rating.pk]), {"message": expected}
    )
    assert response.status_code == 302
    on_allegro = api.get(f"/sale/user-ratings/{doc['id']}").json()
    assert on_allegro["answer"]["message"] == expected
    entry = AuditLogEntry.objects.get(action="rating.answer", target=f"rating:{doc['id']}")
    assert entry.allegro_trace_id
    drive(linked, "ratings")
    inbox = client.get(reverse("aftersales:index")).content.decode()
    assert f'data-item="rating-{rating.pk}"' not in inbox


def test_removal_request_by_a_manager_only(
    sim: Any, linked: Any, client_for: Callable[[Any], Any], api: Any
) -> None:
    doc = sim.control("POST", f"/sellers/{linked.allegro_user_id}/ratings", {"recommended": False})
    drive(linked, "ratings")
    rating = Rating.objects.get(account=linked, allegro_id=doc["id"])
    url = reverse("aftersales:rating_removal", args=[rating.pk])
    operator = client_for(_staff("olga", linked, Role.OPERATOR))
    assert operator.post(url, {"message": "Kupujący pomylił sprzedawcę."}).status_code == 403
    manager = client_for(_staff("manny", linked, Role.MANAGER))
    assert manager.post(url, {"message": ""}).status_code == 422
    assert manager.post(url, {"message": "x" * 501}).status_code == 422
    response = manager.post(url, {"message": "Kupujący pomylił sprzedawcę."})
    assert response.status_code == 302
    on_allegro = api.get(f"/sale/user-ratings/{doc['id']}").json()
    assert on_allegro["removal"]["request"]["message"] == "Kupujący pomylił sprzedawcę."
    rating.refresh_from_db()
    assert rating.removal_requested_at is not None


def test_buyer_message_shows_within_one_poll_and_seller_answer_removes_it(
    sim: Any, linked: Any, client_for: Callable[[Any], Any], api: Any
) -> None:
    client = client_for(_staff("olga", linked, Role.OPERATOR))
    issue = sim.control(
        "POST",
        f"/sellers/{linked.allegro_user_id}/issues",
        {"type": "DISPUTE", "text": "Gdzie jest moja paczka?"},
    )
    drive(linked, "issues")
    before = client.get(reverse("aftersales:index") + "?kind=dispute").content.decode()
    from aftersales.models import Dispute

    dispute = Dispute.objects.get(account=linked, allegro_id=issue["id"])
    assert f'data-item="dispute-{dispute.pk}"' in before
    # the seller answers on allegro.pl: the next poll takes the item out
    response = api.post(
        f"/sale/issues/{issue['id']}/message",
        json={"text": "Paczka wyszła wczoraj.", "type": "REGULAR"},
        headers={
            "Accept": "application/vnd.allegro.beta.v1+json",
            "Content-Type": "application/vnd.allegro.beta.v1+json",
        },
    )
    assert response.status_code in (200, 201), response.text
    drive(linked, "issues")
    after = client.get(reverse("aftersales:index") + "?kind=dispute").content.decode()
    assert f'data-item="dispute-{dispute.pk}"' not in after
    # the buyer writes again: back within one poll
    sim.control("POST", f"/issues/{issue['id']}/messages", {"text": "Nadal nic nie dostałem."})
    drive(linked, "issues")
    again = client.get(reverse("aftersales:index") + "?kind=dispute").content.decode()
    assert f'data-item="dispute-{dispute.pk}"' in again


# --- permission matrix (factory data, no Allegro call) -----------------------------------------


@pytest.mark.parametrize(
    "name",
    ["aftersales:index", "aftersales:ratings", "aftersales:replies", "aftersales:badge"],
)
def test_lists_need_a_login_and_show_only_granted_accounts(
    name: str, client: Any, client_for: Callable[[Any], Any], alice: Any, bob: Any, account: Any
) -> None:
    mine = RatingFactory(account=account, recommended=False, buyer_login="tylko_moj")
    url = reverse(name)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    assert "tylko_moj" not in client_for(bob).get(url).content.decode()
    response = client_for(alice).get(url)
    assert response.status_code == 200
    if name in ("aftersales:index", "aftersales:ratings"):
        assert "tylko_moj" in response.content.decode(), mine


def test_rating_detail_and_actions_matrix(
    client: Any, client_for: Callable[[Any], Any], alice: Any, bob: Any, charlie: Any, account: Any
) -> None:
    rating = RatingFactory(account=account, recommended=False)
    detail = reverse("aftersales:rating", args=[rating.pk])
    handled = reverse("aftersales:handled", args=["rating", rating.pk])
    assert client.get(detail).status_code == 302
    assert client_for(bob).get(detail).status_code == 404
    assert client_for(bob).post(handled).status_code == 404
    viewer = client_for(charlie)
    page = viewer.get(detail)
    assert page.status_code == 200
    assert 'data-testid="answer-form"' not in page.content.decode()
    assert viewer.post(handled).status_code == 403
    assert (
        viewer.post(
            reverse("aftersales:rating_answer", args=[rating.pk]), {"message": "x"}
        ).status_code
        == 403
    )
    operator = client_for(alice)
    assert 'data-testid="answer-form"' in operator.get(detail).content.decode()
    assert operator.post(handled).status_code == 302
    assert inbox_counts(accounts=[account]) == {}


def test_inbox_queries_do_not_grow_with_items(
    client_for: Callable[[Any], Any], alice: Any, account: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        RatingFactory(account=account, recommended=False)
        DisputeFactory(account=account, status="DISPUTE_ONGOING", messages=1)
    client = client_for(alice)
    client.get(reverse("aftersales:index"))
    with django_assert_max_num_queries(12):
        first = client.get(reverse("aftersales:index")).content.decode()
    assert _rows(first) == 6
    for _ in range(20):
        RatingFactory(account=account, recommended=False)
        DisputeFactory(account=account, status="CLAIM_SUBMITTED", type="CLAIM", messages=2)
    with django_assert_max_num_queries(12):
        more = client.get(reverse("aftersales:index") + "?per_page=100").content.decode()
    assert _rows(more) == 46
    with django_assert_max_num_queries(12):
        client.get(reverse("aftersales:ratings"))
