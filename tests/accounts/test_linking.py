"""The authorization-code flow against the simulator: happy path, re-linking, and every way a
callback must be refused with nothing saved (denied, tampered / replayed / expired state,
expired code, PKCE mismatch, /me failing, wrong seller on re-link)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.linking import SESSION_KEY
from accounts.models import (
    AccountGrant,
    AccountStatus,
    AccountToken,
    AllegroAccount,
    AuditLogEntry,
    Role,
)
from allegro.config import SCOPES
from tests.plugins.allegro_accounts import (
    OTHER_SELLER_LOGIN,
    SELLER_LOGIN,
    consent,
    finish_link,
    start_link,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client_for: Any, grant: Any, account: Any) -> Any:
    """Staff managing one (factory) account: allowed to link new accounts."""
    from tests.factories import UserFactory

    staff = UserFactory(email="manager@example.com", username="manager")
    grant(staff, account, Role.MANAGER)
    return staff


@pytest.fixture
def browser(client_for: Any, manager: Any, allegro_settings: Any) -> Any:
    client = client_for(manager)
    client.cookies["django_language"] = "en"  # messages below are matched in English
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def nothing_linked() -> bool:
    return (
        not AllegroAccount.objects.filter(environment="simulator", login=SELLER_LOGIN).exists()
        and not AccountToken.objects.exists()
    )


def test_authorization_url_has_state_pkce_s256_and_the_product_scopes(browser: Any) -> None:
    url = start_link(browser)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert url.startswith(f"{browser_settings_auth()}/authorize?")
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["scope"].split() == list(SCOPES)
    flows = browser.session[SESSION_KEY]
    assert list(flows) == [query["state"]]
    # The verifier stays server-side; only its hash travels.
    assert flows[query["state"]]["verifier"] not in url


def browser_settings_auth() -> str:
    from django.conf import settings

    return str(settings.ALLEGRO_AUTH_URL)


def test_full_flow_links_the_account_with_tokens_grant_and_audit(
    browser: Any, manager: Any, sim_stats: Any
) -> None:
    sim_stats(clear=True)
    response = finish_link(browser, consent(start_link(browser), seller_login=SELLER_LOGIN))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:list")
    account = AllegroAccount.objects.get(environment="simulator", allegro_user_id="10000001")
    assert account.login == SELLER_LOGIN
    assert account.company_name == "Sklep Kowalski Sp. z o.o."
    assert account.base_marketplace == "allegro-pl"
    assert account.status == AccountStatus.ACTIVE
    assert account.linked_at is not None
    assert account.token.expires_at is not None
    assert set(account.token.scopes.split()) == set(SCOPES)
    grant = AccountGrant.objects.get(user=manager, account=account)
    assert grant.role == Role.MANAGER
    entry = AuditLogEntry.objects.get(account=account, action="account.linked")
    assert entry.actor == manager
    assert sim_stats()["tokenGrants"] == {"authorization_code": 1}
    page = browser.get(reverse("accounts:list"))
    assert SELLER_LOGIN in page.content.decode()


def test_linking_the_same_seller_again_updates_never_duplicates(
    browser: Any, link_account: Any, manager: Any
) -> None:
    first = link_account(SELLER_LOGIN)
    old_cipher = first.token.access_token_ciphertext
    finish_link(browser, consent(start_link(browser), seller_login=SELLER_LOGIN))
    assert AllegroAccount.objects.filter(allegro_user_id="10000001").count() == 1
    again = AllegroAccount.objects.select_related("token").get(pk=first.pk)
    assert again.token.access_token_ciphertext != old_cipher
    assert AccountToken.objects.filter(account=first).count() == 1
    assert AuditLogEntry.objects.filter(account=first, action="account.relinked").count() == 1
    # the second staff member now manages it too
    assert AccountGrant.objects.get(user=manager, account=first).role == Role.MANAGER


def test_relinking_restores_an_account_waiting_for_reauthorisation(
    browser: Any, link_account: Any, manager: Any, grant: Any
) -> None:
    account = link_account(SELLER_LOGIN)
    grant(manager, account, Role.MANAGER)
    AllegroAccount.objects.filter(pk=account.pk).update(
        status=AccountStatus.REAUTH_REQUIRED, last_error="invalid_grant"
    )
    query = consent(start_link(browser, account=account), seller_login=SELLER_LOGIN)
    finish_link(browser, query)
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert account.last_error == ""


def test_relinking_as_a_different_seller_is_refused(
    browser: Any, link_account: Any, manager: Any, grant: Any
) -> None:
    account = link_account(SELLER_LOGIN)
    grant(manager, account, Role.MANAGER)
    query = consent(start_link(browser, account=account), seller_login=OTHER_SELLER_LOGIN)
    response = finish_link(browser, query)
    assert any(OTHER_SELLER_LOGIN in m for m in messages_of(response))
    assert not AllegroAccount.objects.filter(login=OTHER_SELLER_LOGIN).exists()


def test_denied_consent_saves_nothing(browser: Any, sim_stats: Any) -> None:
    sim_stats(clear=True)
    query = consent(start_link(browser), seller_login=SELLER_LOGIN, decision="deny")
    assert query["error"] == "access_denied"
    response = finish_link(browser, query)
    assert response.status_code == 302
    assert nothing_linked()
    assert any("denied" in m for m in messages_of(response))
    assert sim_stats()["tokenGrants"] == {}


def test_tampered_state_is_refused_and_the_code_is_never_exchanged(
    browser: Any, sim_stats: Any
) -> None:
    sim_stats(clear=True)
    query = consent(start_link(browser), seller_login=SELLER_LOGIN)
    response = finish_link(browser, {**query, "state": query["state"][:-2] + "xx"})
    assert nothing_linked()
    assert any("unknown or was already used" in m for m in messages_of(response))
    assert sim_stats()["tokenGrants"] == {}


def test_missing_state_is_refused(browser: Any) -> None:
    query = consent(start_link(browser), seller_login=SELLER_LOGIN)
    finish_link(browser, {"code": query["code"]})
    assert nothing_linked()


def test_state_from_another_session_is_refused(
    browser: Any, client_for: Any, sim_stats: Any
) -> None:
    from django.test import Client

    from tests.factories import SuperuserFactory

    query = consent(start_link(browser), seller_login=SELLER_LOGIN)
    attacker = Client()
    attacker.force_login(SuperuserFactory(email="mallory@example.com", username="mallory"))
    finish_link(attacker, query)
    assert nothing_linked()


def test_replayed_state_is_refused(browser: Any, sim_stats: Any) -> None:
    query = consent(start_link(browser), seller_login=SELLER_LOGIN)
    finish_link(browser, query)
    account = AllegroAccount.objects.get(login=SELLER_LOGIN)
    cipher = account.token.access_token_ciphertext
    sim_stats(clear=True)
    response = finish_link(browser, query)  # the same state + code again
    assert any("unknown or was already used" in m for m in messages_of(response))
    assert sim_stats()["tokenGrants"] == {}
    account.token.refresh_from_db()
    assert account.token.access_token_ciphertext == cipher
    assert AllegroAccount.objects.count() == 2  # the manager's factory account + this one


def test_expired_state_is_refused(browser: Any, sim_stats: Any) -> None:
    query = consent(start_link(browser), seller_login=SELLER_LOGIN)
    session = browser.session
    flows = session[SESSION_KEY]
    flows[query["state"]]["created"] -= 601  # ALLEGRO_LINK_STATE_TTL is 600 s
    session[SESSION_KEY] = flows
    session.save()
    sim_stats(clear=True)
    response = finish_link(browser, query)
    assert nothing_linked()
    assert any("expired" in m for m in messages_of(response))
    assert sim_stats()["tokenGrants"] == {}


def test_expired_code_is_refused(browser: Any, sim: Any) -> None:
    query = consent(start_link(browser), seller_login=SELLER_LOGIN)
    sim.control("POST", "/clock", {"advance": 11})  # the simulator's codes live 10 s
    response = finish_link(browser, query)
    assert nothing_linked()
    assert any("authorisation code" in m for m in messages_of(response))


def test_pkce_mismatch_is_refused(browser: Any, sim_stats: Any) -> None:
    query = consent(start_link(browser), seller_login=SELLER_LOGIN)
    session = browser.session
    flows = session[SESSION_KEY]
    flows[query["state"]]["verifier"] = "x" * 64
    session[SESSION_KEY] = flows
    session.save()
    sim_stats(clear=True)
    response = finish_link(browser, query)
    assert nothing_linked()
    assert any("authorisation code" in m for m in messages_of(response))
    assert sim_stats()["tokenGrants"] == {"authorization_code": 1}


def test_me_failing_saves_nothing(browser: Any, sim: Any) -> None:
    query = consent(start_link(browser), seller_login=SELLER_LOGIN)
    sim.control("PUT", "/faults", {"error_rate": 1.0, "error_statuses": [500], "paths": ["/me"]})
    response = finish_link(browser, query)
    assert nothing_linked()
    assert any("which account" in m for m in messages_of(response))


def test_unlink_deletes_tokens_keeps_the_account(
    client_for: Any, link_account: Any, manager: Any, grant: Any
) -> None:
    account = link_account(SELLER_LOGIN)
    grant(manager, account, Role.MANAGER)
    response = client_for(manager).post(
        reverse("accounts:unlink", args=[account.pk]), {"confirm": "1"}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == AccountStatus.UNLINKED
    assert not AccountToken.objects.filter(account=account).exists()
    assert AuditLogEntry.objects.filter(account=account, action="account.unlinked").exists()


def test_browser_auth_url_is_used_for_the_redirect_only(
    browser: Any, sim: Any, settings: Any
) -> None:
    """docker-compose: browsers reach the simulator at localhost, containers by service name."""
    browser_url = sim.auth_url.replace("127.0.0.1", "localhost")
    settings.ALLEGRO_BROWSER_AUTH_URL = browser_url
    url = start_link(browser)
    assert url.startswith(f"{browser_url}/authorize?")
    finish_link(browser, consent(url, seller_login=SELLER_LOGIN))  # token call: ALLEGRO_AUTH_URL
    assert AllegroAccount.objects.filter(login=SELLER_LOGIN, status=AccountStatus.ACTIVE).exists()
