"""Token lifecycle against the simulator: single-flight refresh under 16 concurrent workers,
the "rotate then 503" fault ending in re-authorisation, encryption at rest (raw columns and
every table), no token in logs, key rotation, and ``allegro_client_for`` bookkeeping."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from accounts import crypto
from accounts.models import AccountStatus, AccountToken, AllegroAccount, AuditLogEntry
from accounts.selectors import accounts_for_sync
from accounts.services import allegro_client_for
from accounts.tokens import AccountNotUsable, token_access_for
from allegro import errors
from allegro.api.me import get_me
from tests.plugins.allegro_accounts import SELLER_LOGIN

WORKERS = 16


def expire(account: AllegroAccount) -> None:
    AccountToken.objects.filter(account=account).update(
        expires_at=timezone.now() - timedelta(seconds=5)
    )


def run_workers(account_id: int, count: int) -> list[Any]:
    """``count`` threads, each with its own DB connection, call ``GET /me`` at the same time."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def work(index: int) -> None:
        try:
            account = AllegroAccount.objects.get(pk=account_id)
            client = allegro_client_for(account=account)
            barrier.wait(timeout=30)
            results[index] = get_me(client).login
        except Exception as exc:  # reported below, per thread
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.mark.django_db(transaction=True)
def test_sixteen_workers_with_an_expired_token_cause_exactly_one_refresh(
    link_account: Any, sim_stats: Any
) -> None:
    account = link_account(SELLER_LOGIN)
    before = account.token.access_token_ciphertext
    expire(account)
    sim_stats(clear=True)
    results = run_workers(account.pk, WORKERS)
    assert results == [SELLER_LOGIN] * WORKERS, results
    stats = sim_stats()
    assert stats["tokenGrants"] == {"refresh_token": 1}
    assert stats["paths"]["GET /me"] == WORKERS
    token = AccountToken.objects.get(account=account)
    assert token.access_token_ciphertext != before
    assert token.expires_at > timezone.now() + timedelta(hours=1)
    assert token.refresh_failures == 0
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


@pytest.mark.django_db(transaction=True)
def test_rotate_then_503_ends_in_reauth_required_without_looping(
    link_account: Any, sim: Any, sim_stats: Any
) -> None:
    account = link_account(SELLER_LOGIN)
    expire(account)
    sim.control("PUT", "/faults", {"token_rotate_then_503_rate": 1.0})
    sim_stats(clear=True)
    results = run_workers(account.pk, WORKERS)
    assert all(isinstance(r, errors.AllegroError) for r in results), results
    # One refresh got 503 (the simulator had already rotated the pair), the next one learnt
    # the token is dead (invalid_grant); nobody else called the token endpoint.
    assert sim_stats()["tokenGrants"] == {"refresh_token": 2}
    assert any(isinstance(r, errors.ServerError) for r in results)
    assert sum(isinstance(r, AccountNotUsable) for r in results) == WORKERS - 1
    account.refresh_from_db()
    assert account.status == AccountStatus.REAUTH_REQUIRED
    assert "invalid_grant" in account.last_error
    assert account not in accounts_for_sync()
    assert (
        AuditLogEntry.objects.filter(account=account, action="account.reauth_required").count() == 1
    )
    # Later work does not try again.
    with pytest.raises(AccountNotUsable):
        allegro_client_for(account=account)
    with pytest.raises(AccountNotUsable):
        token_access_for(account_id=account.pk)
    assert sim_stats()["tokenGrants"] == {"refresh_token": 2}
    assert sim_stats()["paths"].get("GET /me", 0) == 0


@pytest.mark.django_db
def test_repeated_transient_refresh_failures_end_in_reauth_required(
    link_account: Any, sim: Any, settings: Any
) -> None:
    settings.ALLEGRO_REFRESH_MAX_FAILURES = 2
    account = link_account(SELLER_LOGIN)
    expire(account)
    # An outage of the token endpoint that does not consume the refresh token: point the auth
    # URL at a closed port so every refresh fails to connect.
    settings.ALLEGRO_AUTH_URL = "http://127.0.0.1:9/auth/oauth"
    for _ in range(2):
        with pytest.raises(errors.ConnectionDropped):
            token_access_for(account_id=account.pk)
    account.refresh_from_db()
    assert account.status == AccountStatus.REAUTH_REQUIRED
    assert "2 times" in account.last_error


@pytest.mark.django_db
def test_a_401_refreshes_once_and_retries(link_account: Any, sim: Any, sim_stats: Any) -> None:
    account = link_account(SELLER_LOGIN)
    client = allegro_client_for(account=account)
    assert get_me(client).login == SELLER_LOGIN
    # The access token is still "valid" by our clock, but Allegro revoked it: simulate by
    # moving the simulator's clock past its expiry.
    sim.control("POST", "/clock", {"advance": 43200 + 60})
    sim_stats(clear=True)
    assert get_me(client).login == SELLER_LOGIN
    assert sim_stats()["tokenGrants"] == {"refresh_token": 1}
    assert sim_stats()["statuses"] == {"401": 1, "200": 1}


def all_database_text() -> str:
    """Every row of every table in the database, as text."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
        tables = [row[0] for row in cursor.fetchall()]
        chunks = []
        for table in tables:
            cursor.execute(f'SELECT t::text FROM "{table}" AS t')
            chunks.extend(row[0] for row in cursor.fetchall())
    return "\n".join(chunks)


@pytest.mark.django_db
def test_tokens_are_not_in_the_database_or_the_logs_in_plaintext(
    link_account: Any, caplog: Any, client_for: Any
) -> None:
    for name in ("", "httpx", "httpcore", "allegro", "accounts", "django", "sandbox"):
        caplog.set_level(logging.DEBUG, logger=name or None)
    account = link_account(SELLER_LOGIN)
    first = token_access_for(account_id=account.pk).value
    first_refresh = crypto.decrypt(
        AccountToken.objects.get(account=account).refresh_token_ciphertext
    )
    expire(account)
    client = allegro_client_for(account=account)
    assert get_me(client).login == SELLER_LOGIN  # refreshes first
    second = token_access_for(account_id=account.pk).value
    second_refresh = crypto.decrypt(
        AccountToken.objects.get(account=account).refresh_token_ciphertext
    )
    assert first != second
    assert first_refresh != second_refresh
    # The accounts page and the admin render without any token either.
    staff = AllegroAccount.objects.get(pk=account.pk).grants.get().user
    page = client_for(staff).get("/accounts/").content.decode()
    admin_page = client_for(staff).get(f"/admin/accounts/allegroaccount/{account.pk}/change/")
    assert admin_page.status_code == 200
    secrets_ = [first, second, first_refresh, second_refresh]
    # raw columns
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token_ciphertext, refresh_token_ciphertext FROM accounts_accounttoken"
        )
        raw = cursor.fetchall()
    assert len(raw) == 1
    assert all(value.startswith("gAAAAA") for value in raw[0])  # Fernet tokens
    dump = all_database_text()
    assert raw[0][0] in dump  # the dump does cover the token table
    logs = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert "Bearer" not in logs
    for secret in secrets_:
        assert secret not in dump
        assert secret[-40:] not in dump
        assert secret not in logs
        assert secret[-40:] not in logs
        assert secret not in page
        assert secret not in admin_page.content.decode()
        assert secret not in repr(AccountToken.objects.get(account=account))
    # Sanity: the check would see a plaintext token if one were stored.
    assert len(caplog.records) > 5


@pytest.mark.django_db
def test_key_rotation_re_encrypts_every_token_and_keeps_them_usable(
    link_account: Any, settings: Any, sim_stats: Any
) -> None:
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    first = link_account(SELLER_LOGIN)
    second = link_account("ElektroMax_PL")
    before = {t.pk: t.access_token_ciphertext for t in AccountToken.objects.all()}
    plain = {a.pk: token_access_for(account_id=a.pk).value for a in (first, second)}
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_key")
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    for token in AccountToken.objects.all():
        assert token.access_token_ciphertext != before[token.pk]
        Fernet(new_key.encode()).decrypt(token.access_token_ciphertext.encode())
        Fernet(new_key.encode()).decrypt(token.refresh_token_ciphertext.encode())
    for account in (first, second):
        assert token_access_for(account_id=account.pk).value == plain[account.pk]
    # ... and the refresh token still works after rotation.
    expire(first)
    sim_stats(clear=True)
    assert get_me(allegro_client_for(account=first)).login == SELLER_LOGIN
    assert sim_stats()["tokenGrants"] == {"refresh_token": 1}


@pytest.mark.django_db
def test_without_the_key_the_account_is_not_usable_rather_than_leaking(
    link_account: Any, settings: Any
) -> None:
    account = link_account(SELLER_LOGIN)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(AccountNotUsable):
        token_access_for(account_id=account.pk)


@pytest.mark.django_db
def test_client_records_last_success_and_last_error_cheaply(
    link_account: Any, sim: Any, django_assert_max_num_queries: Any
) -> None:
    account = link_account(SELLER_LOGIN)
    client = allegro_client_for(account=account)
    with django_assert_max_num_queries(3):  # one token read + one success write
        for _ in range(5):
            get_me(client)
    account.refresh_from_db()
    assert account.last_success_at is not None
    sim.control("PUT", "/faults", {"error_rate": 1.0, "error_statuses": [503], "paths": ["/me"]})
    client.transport.retry = type(client.transport.retry)(max_attempts=1)
    with pytest.raises(errors.ServerError):
        get_me(client)
    account.refresh_from_db()
    assert "ServerError" in account.last_error
    assert account.last_error_at is not None
    assert account.status == AccountStatus.ACTIVE  # a 503 is not an auth problem


@pytest.mark.django_db
def test_refreshes_ahead_of_expiry_by_the_configured_margin(
    link_account: Any, sim_stats: Any, settings: Any
) -> None:
    account = link_account(SELLER_LOGIN)
    settings.ALLEGRO_TOKEN_REFRESH_MARGIN = 300
    soon = timezone.now() + timedelta(seconds=600)
    issued = soon - timedelta(hours=12)  # a 12-hour token with 10 minutes left
    AccountToken.objects.filter(account=account).update(expires_at=soon, refreshed_at=issued)
    sim_stats(clear=True)
    token_access_for(account_id=account.pk)  # 600 s left > 300 s margin: no refresh
    assert sim_stats()["tokenGrants"] == {}
    settings.ALLEGRO_TOKEN_REFRESH_MARGIN = 900  # now 600 s left is inside the margin
    token_access_for(account_id=account.pk)
    assert sim_stats()["tokenGrants"] == {"refresh_token": 1}
    assert AccountToken.objects.get(account=account).expires_at > soon


@pytest.mark.django_db
def test_a_margin_longer_than_the_token_lifetime_does_not_refresh_on_every_call(
    link_account: Any, sim: Any, sim_stats: Any, settings: Any
) -> None:
    sim.control("PUT", "/settings", {"access_ttl": 600})  # 10-minute access tokens
    account = link_account(SELLER_LOGIN)
    settings.ALLEGRO_TOKEN_REFRESH_MARGIN = 3600
    sim_stats(clear=True)
    client = allegro_client_for(account=account)
    for _ in range(3):
        get_me(client)
    token_access_for(account_id=account.pk)
    assert sim_stats()["tokenGrants"] == {}
