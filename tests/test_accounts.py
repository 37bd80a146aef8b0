"""Tenancy: grants, the access selectors, role checks, the account switcher."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from accounts.models import AccountGrant, AccountStatus, Role
from accounts.selectors import (
    account_get_for_user,
    account_role_for,
    accounts_for_sync,
    accounts_visible_to,
)
from accounts.services import account_require_role
from tests.factories import AllegroAccountFactory

pytestmark = pytest.mark.django_db


def test_grant_on_a_shows_a_and_not_b(alice: Any, account: Any, other_account: Any) -> None:
    visible = list(accounts_visible_to(user=alice))
    assert visible == [account]
    assert account_get_for_user(user=alice, account_id=account.pk) == account
    with pytest.raises(Http404):
        account_get_for_user(user=alice, account_id=other_account.pk)


def test_staff_without_grant_sees_nothing(user: Any, account: Any) -> None:
    assert not accounts_visible_to(user=user).exists()
    with pytest.raises(Http404):
        account_get_for_user(user=user, account_id=account.pk)
    assert account_role_for(user=user, account=account) is None


def test_superuser_sees_all(superuser: Any, account: Any, other_account: Any) -> None:
    assert set(accounts_visible_to(user=superuser)) == {account, other_account}
    assert account_role_for(user=superuser, account=other_account) == Role.MANAGER


def test_inactive_staff_sees_nothing(alice: Any) -> None:
    alice.is_active = False
    alice.save()
    assert not accounts_visible_to(user=alice).exists()


def test_unknown_or_garbage_id_is_404(alice: Any) -> None:
    for bad in (999999, "abc", None):
        with pytest.raises(Http404):
            account_get_for_user(user=alice, account_id=bad)  # type: ignore[arg-type]


def test_visible_accounts_have_no_duplicates(alice: Any, grant: Any) -> None:
    second = AllegroAccountFactory()
    grant(alice, second, Role.VIEWER)
    ids = list(accounts_visible_to(user=alice).values_list("pk", flat=True))
    assert len(ids) == len(set(ids)) == 2


def test_roles_are_ordered() -> None:
    assert Role.VIEWER < Role.OPERATOR < Role.MANAGER


def test_require_role(alice: Any, charlie: Any, account: Any) -> None:
    assert account_require_role(user=alice, account=account, role=Role.OPERATOR) == Role.OPERATOR
    with pytest.raises(PermissionDenied):
        account_require_role(user=alice, account=account, role=Role.MANAGER)
    assert account_require_role(user=charlie, account=account, role=Role.VIEWER) == Role.VIEWER
    with pytest.raises(PermissionDenied):
        account_require_role(user=charlie, account=account, role=Role.OPERATOR)


def test_one_grant_per_user_and_account(alice: Any, account: Any) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        AccountGrant.objects.create(user=alice, account=account, role=Role.MANAGER)


def test_account_unique_per_environment() -> None:
    from django.db import IntegrityError, transaction

    AllegroAccountFactory(allegro_user_id="123", environment="sandbox")
    AllegroAccountFactory(allegro_user_id="123", environment="production")
    with pytest.raises(IntegrityError), transaction.atomic():
        AllegroAccountFactory(allegro_user_id="123", environment="sandbox")


def test_accounts_for_sync_skips_inactive() -> None:
    active = AllegroAccountFactory()
    AllegroAccountFactory(status=AccountStatus.REAUTH_REQUIRED)
    AllegroAccountFactory(status=AccountStatus.UNLINKED)
    assert list(accounts_for_sync()) == [active]


# --- account switcher ------------------------------------------------------------------------
def test_switcher_narrows_scope(
    client_for: Any, superuser: Any, account: Any, other_account: Any
) -> None:
    client = client_for(superuser)
    page = client.get(reverse("dashboard"))
    assert {a.pk for a in page.context["accounts"]} == {account.pk, other_account.pk}
    response = client.post(
        reverse("accounts:switch"), {"account": str(account.pk), "next": "/orders/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/orders/"
    assert client.session["account_scope"] == account.pk
    page = client.get(reverse("dashboard"))
    assert [a.pk for a in page.context["accounts"]] == [account.pk]
    assert page.context["switcher_current"] == account
    client.post(reverse("accounts:switch"), {"account": ""})
    assert client.session["account_scope"] is None
    page = client.get(reverse("dashboard"))
    assert len(page.context["accounts"]) == 2


def test_switcher_refuses_an_account_without_grant(
    client_for: Any, alice: Any, other_account: Any
) -> None:
    client = client_for(alice)
    response = client.post(reverse("accounts:switch"), {"account": str(other_account.pk)})
    assert response.status_code == 404
    assert client.session.get("account_scope") is None


def test_switcher_ignores_unsafe_next(client_for: Any, alice: Any, account: Any) -> None:
    client = client_for(alice)
    response = client.post(
        reverse("accounts:switch"), {"account": str(account.pk), "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("dashboard")


def test_switcher_htmx_asks_for_refresh(client_for: Any, alice: Any, account: Any) -> None:
    client = client_for(alice)
    response = client.post(
        reverse("accounts:switch"), {"account": str(account.pk)}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    assert response["HX-Refresh"] == "true"


def test_switcher_is_post_only(client_for: Any, alice: Any) -> None:
    assert client_for(alice).get(reverse("accounts:switch")).status_code == 405


def test_revoked_grant_falls_back_to_visible_accounts(
    client_for: Any, alice: Any, account: Any, grant: Any
) -> None:
    second = AllegroAccountFactory()
    grant(alice, second, Role.VIEWER)
    client = client_for(alice)
    client.post(reverse("accounts:switch"), {"account": str(second.pk)})
    AccountGrant.objects.filter(user=alice, account=second).delete()
    page = client.get(reverse("dashboard"))
    assert [a.pk for a in page.context["accounts"]] == [account.pk]


# --- pages, as alice / bob / charlie / anonymous ---------------------------------------------
PAGES = ["dashboard", "accounts:list", "offers:index", "orders:index", "shipping:index"]
PAGES += ["aftersales:index"]
# The Accounts page also reads the sync progress and quarantined orders (two queries).
MAX_QUERIES = {"accounts:list": 10}


@pytest.mark.parametrize("name", PAGES)
def test_pages_show_only_granted_accounts(
    client_for: Any,
    alice: Any,
    bob: Any,
    charlie: Any,
    name: str,
    django_assert_max_num_queries: Any,
) -> None:
    for staff, expected, hidden in (
        (alice, "sklep-a", "sklep-b"),
        (bob, "sklep-b", "sklep-a"),
        (charlie, "sklep-a", "sklep-b"),
    ):
        client = client_for(staff)
        with django_assert_max_num_queries(MAX_QUERIES.get(name, 8)):
            response = client.get(reverse(name))
        assert response.status_code == 200
        body = response.content.decode()
        assert expected in body  # in the switcher at least
        assert hidden not in body
        client.logout()


@pytest.mark.parametrize("name", PAGES)
def test_pages_redirect_anonymous(client: Any, name: str) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_accounts_list_for_staff_without_grant(client_for: Any, user: Any, account: Any) -> None:
    response = client_for(user).get(reverse("accounts:list"))
    assert response.status_code == 200
    assert "sklep-a" not in response.content.decode()
    assert list(response.context["accounts"]) == []


def test_polish_by_default_english_on_request(client_for: Any, alice: Any) -> None:
    client = client_for(alice)
    page = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="pl">' in page.content.decode()
    assert "Pulpit" in page.content.decode()
    switched = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert switched.status_code == 302
    page = client.get(reverse("dashboard"))
    assert '<html lang="en">' in page.content.decode()
    assert "<h1>Dashboard</h1>" in page.content.decode()


def test_accounts_page_shows_each_accounts_sync_with_constant_queries(
    client_for: Any, superuser: Any, account: Any, other_account: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mirror.models import Resource, SyncState, SyncStatus

    SyncState.objects.create(
        account=account, resource=Resource.ORDERS, status=SyncStatus.RUNNING, fetched=30, total=120
    )
    client = client_for(superuser)
    with CaptureQueriesContext(connection) as two_accounts:
        response = client.get(reverse("accounts:list"))
    body = response.content.decode()
    assert body.count('data-testid="sync-progress"') == 2
    assert '<progress max="100" value="25">' in body  # 30 of 120 orders
    assert 'hx-trigger="every 2s"' in body  # a running sync polls for progress

    AllegroAccountFactory.create_batch(3)
    AllegroAccountFactory(login="gone", status=AccountStatus.UNLINKED)
    with CaptureQueriesContext(connection) as six_accounts:
        response = client.get(reverse("accounts:list"))
    assert response.content.decode().count('data-testid="sync-progress"') == 5  # not the unlinked
    assert len(six_accounts) == len(two_accounts)
