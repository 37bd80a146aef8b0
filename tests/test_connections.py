"""No database session outlives the suite. Django keeps a connection per thread (and, while an
event loop runs in the thread, as Playwright's sync API has one, per context): one opened where
pytest-django does not look, left open by a test, kept the test database from being dropped at
the end. The cleanup that runs before the drop closes it, whatever thread opened it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from tests.conftest import close_opened_connections

pytestmark = pytest.mark.django_db(transaction=True)


def _sessions() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def test_a_connection_left_open_by_an_ended_thread_is_closed_before_the_drop() -> None:
    before = _sessions()
    opened: list[Any] = []

    def work() -> None:  # ends without closing its connection
        wrapper = connections["default"]
        wrapper.ensure_connection()
        opened.append((wrapper, wrapper.connection.info.backend_pid))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    ((wrapper, pid),) = opened
    assert wrapper is not connections["default"]  # not the test's own connection
    assert pid in _sessions() - before
    assert close_opened_connections() >= 1
    assert pid not in _sessions()
    assert wrapper.connection is None
