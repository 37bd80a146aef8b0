"""Per (account, resource) locks: PostgreSQL session advisory locks.

A session lock is released by the server when the holder's connection ends, so a worker killed
with SIGKILL never leaves a stale lock behind (a Redis lock would wait for its TTL).

The embedded default (SQLite, ``make demo`` without servers) has no advisory locks; there the
same contract is kept with ``flock`` on a file under ``VAR_DIR/locks``, which the kernel releases
when the holding process dies.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from mirror.models import Resource

NAMESPACE = 0x4D49  # "MI": keeps these keys apart from other advisory-lock users
_RESOURCE_INDEX = {value: index for index, value in enumerate(Resource.values)}


def lock_key(*, account_id: int, resource: str) -> tuple[int, int]:
    return NAMESPACE * 64 + _RESOURCE_INDEX[resource], account_id


@contextmanager
def sync_lock(*, account_id: int, resource: str) -> Iterator[bool]:
    """Yield ``True`` when this process now holds the lock, ``False`` when someone else does."""
    if connection.vendor != "postgresql":
        with _file_lock(account_id=account_id, resource=resource) as acquired:
            yield acquired
        return
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
    if connection.vendor != "postgresql":
        with _file_lock(account_id=account_id, resource=resource) as acquired:
            return not acquired
    key1, key2 = lock_key(account_id=account_id, resource=resource)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
            "AND classid = %s AND objid = %s AND objsubid = 2 AND granted)",
            [key1, key2],
        )
        return bool(cursor.fetchone()[0])


def _lock_path(*, account_id: int, resource: str) -> Path:
    directory = Path(settings.VAR_DIR) / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"sync-{account_id}-{resource}.lock"


@contextmanager
def _file_lock(*, account_id: int, resource: str) -> Iterator[bool]:
    fd = os.open(_lock_path(account_id=account_id, resource=resource), os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
