"""The Accounts page, link / unlink views, the re-authorisation banner and the admin, by role:
granted manager, granted viewer, staff granted another account (404), anonymous (redirect)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AccountStatus, AccountToken, AllegroAccount, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dave(account: Any, grant: Any) -> Any:
    """Manager of ``account``."""
    staff = UserFactory(email="dave@example.com", username="dave")
    grant(staff, account, Role.MANAGER)
    return staff


def test_anonymous_is_sent_to_sign_in(client: Any, account: Any) -> None:
    for method, url in (
        ("get", reverse("accounts:list")),
        ("post", reverse("accounts:link_start")),
        ("get", reverse("accounts:allegro_callback")),
        ("post", reverse("accounts:unlink", args=[account.pk])),
    ):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url
    assert AllegroAccount.objects.get(pk=account.pk).status == AccountStatus.ACTIVE


def test_manager_sees_the_account_with_link_relink_and_unlink(
    client_for: Any, dave: Any, account: Any, other_account: Any, django_assert_max_num_queries: Any
) -> None:
    client = client_for(dave)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("accounts:list"))
    html = page.content.decode()
    assert page.status_code == 200
    assert account.login in html
    assert other_account.login not in html
    assert 'data-testid="link-account"' in html
    assert 'data-testid="relink"' in html
    assert 'data-testid="unlink"' in html


def test_viewer_sees_the_account_without_buttons_and_cannot_act(
    client_for: Any, charlie: Any, account: Any, allegro_settings: Any
) -> None:
    client = client_for(charlie)
    html = client.get(reverse("accounts:list")).content.decode()
    assert account.login in html
    for testid in ("link-account", "relink", "unlink"):
        assert f'data-testid="{testid}"' not in html
    assert client.post(reverse("accounts:unlink", args=[account.pk])).status_code == 403
    assert client.post(reverse("accounts:link_start")).status_code == 403
    relink = client.post(reverse("accounts:link_start"), {"account": account.pk})
    assert relink.status_code == 403
    assert AllegroAccount.objects.get(pk=account.pk).status == AccountStatus.ACTIVE


def test_operator_cannot_unlink(client_for: Any, alice: Any, account: Any) -> None:
    assert client_for(alice).post(reverse("accounts:unlink", args=[account.pk])).status_code == 403


def test_staff_of_another_account_gets_404(
    client_for: Any, bob: Any, account: Any, grant: Any, other_account: Any
) -> None:
    grant_obj = bob.account_grants.get()
    grant_obj.role = Role.MANAGER
    grant_obj.save()
    client = client_for(bob)
    assert account.login not in client.get(reverse("accounts:list")).content.decode()
    assert client.post(reverse("accounts:unlink", args=[account.pk])).status_code == 404
    assert client.post(reverse("accounts:link_start"), {"account": account.pk}).status_code == 404
    assert AllegroAccount.objects.get(pk=account.pk).status == AccountStatus.ACTIVE


def test_staff_without_any_grant_may_not_link(client_for: Any, user: Any) -> None:
    assert client_for(user).post(reverse("accounts:link_start")).status_code == 403


def test_views_refuse_the_wrong_method(client_for: Any, dave: Any, account: Any) -> None:
    client = client_for(dave)
    assert client.get(reverse("accounts:link_start")).status_code == 405
    assert client.get(reverse("accounts:unlink", args=[account.pk])).status_code == 405
    assert client.post(reverse("accounts:list")).status_code == 405


def test_htmx_unlink_returns_the_rows_fragment(client_for: Any, dave: Any, account: Any) -> None:
    response = client_for(dave).post(
        reverse("accounts:unlink", args=[account.pk]),
        {"confirm": "1"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="account-rows">')
    assert "<html" not in html
    assert AllegroAccount.objects.get(pk=account.pk).status == AccountStatus.UNLINKED


def test_reauth_banner_for_the_accounts_staff_only(
    client_for: Any, charlie: Any, bob: Any, account: Any
) -> None:
    AllegroAccount.objects.filter(pk=account.pk).update(status=AccountStatus.REAUTH_REQUIRED)
    html = client_for(charlie).get(reverse("dashboard")).content.decode()
    assert 'data-testid="reauth-banner"' in html
    assert account.login in html
    other = client_for(bob).get(reverse("dashboard")).content.decode()
    assert 'data-testid="reauth-banner"' not in other


def test_pages_are_polish_by_default_and_english_on_request(
    client_for: Any, dave: Any, account: Any
) -> None:
    client = client_for(dave)
    assert "Połącz konto Allegro" in client.get(reverse("accounts:list")).content.decode()
    client.cookies["django_language"] = "en"
    assert "Link an Allegro account" in client.get(reverse("accounts:list")).content.decode()


def test_admin_shows_link_button_reauth_warning_and_never_tokens(
    client_for: Any, superuser: Any, link_account: Any
) -> None:
    linked = link_account("SklepKowalski")
    AllegroAccount.objects.filter(pk=linked.pk).update(status=AccountStatus.REAUTH_REQUIRED)
    client = client_for(superuser)
    client.cookies["django_language"] = "en"
    changelist = client.get(reverse("admin:accounts_allegroaccount_changelist"))
    html = changelist.content.decode()
    assert 'data-testid="admin-link-account"' in html
    assert "Re-authorisation needed" in html
    assert "SklepKowalski" in html
    change = client.get(reverse("admin:accounts_allegroaccount_change", args=[linked.pk]))
    assert change.status_code == 200
    assert "ciphertext" not in change.content.decode()
    # No admin page for the token model at all.
    assert client.get("/admin/accounts/accounttoken/").status_code == 404


def test_admin_delete_asks_for_confirmation_then_removes_tokens_and_audits(
    client_for: Any, superuser: Any, link_account: Any
) -> None:
    from accounts.models import AuditLogEntry

    linked = link_account("SklepKowalski")
    client = client_for(superuser)
    url = reverse("admin:accounts_allegroaccount_delete", args=[linked.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert AllegroAccount.objects.filter(pk=linked.pk).exists()
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not AllegroAccount.objects.filter(pk=linked.pk).exists()
    assert not AccountToken.objects.exists()
    assert AuditLogEntry.objects.filter(action="account.deleted").exists()
