"""The sync lock's file fallback, used by the embedded (SQLite) default."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import os
import signal
from pathlib import Path
from typing import Any

from mirror.locks import _file_lock


def _hold_forever(var_dir: str, ready: multiprocessing.synchronize.Event) -> None:
    from django.conf import settings

    settings.VAR_DIR = Path(var_dir)
    with _file_lock(account_id=7, resource="orders") as acquired:
        assert acquired
        ready.set()
        signal.pause()


def test_file_lock_is_exclusive_and_released(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    with _file_lock(account_id=1, resource="offers") as first:
        assert first is True
        with _file_lock(account_id=1, resource="offers") as second:
            assert second is False
        with _file_lock(account_id=2, resource="offers") as other_account:
            assert other_account is True
    with _file_lock(account_id=1, resource="offers") as again:
        assert again is True


def test_file_lock_dies_with_its_holder(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    holder = context.Process(target=_hold_forever, args=(str(tmp_path), ready))
    holder.start()
    try:
        assert ready.wait(20)
        with _file_lock(account_id=7, resource="orders") as acquired:
            assert acquired is False
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(20)
        with _file_lock(account_id=7, resource="orders") as acquired:
            assert acquired is True
    finally:
        if holder.is_alive():
            holder.kill()
