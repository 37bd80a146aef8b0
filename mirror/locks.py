"""Per (account, resource) locks: PostgreSQL session advisory locks.

A session lock is released by the server when the holder's connection ends, so a worker killed
with SIGKILL never leaves a stale lock behind (a Redis lock would wait for its TTL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from mirror.models import Resource

NAMESPACE = 0x4D49  # "MI": keeps these keys apart from other advisory-lock users
_RESOURCE_INDEX = {value: index for index, value in enumerate(Resource.values)}


def lock_key(*, account_id: int, resource: str) -> tuple[int, int]:
    return NAMESPACE * 64 + _RESOURCE_INDEX[resource], account_id


@contextmanager
def sync_lock(*, account_id: int, resource: str) -> Iterator[bool]:
    """Yield ``True`` when this process now holds the lock, ``False`` when someone else does."""
    key1, key2 = lock_key(account_id=account_id, resource=resource)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [key1, key2])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [key1, key2])


def lock_held(*, account_id: int, resource: str) -> bool:
    """Whether any session holds the lock (for tests and the progress page)."""
    key1, key2 = lock_key(account_id=account_id, resource=resource)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
            "AND classid = %s AND objid = %s AND objsubid = 2 AND granted)",
            [key1, key2],
        )
        return bool(cursor.fetchone()[0])
