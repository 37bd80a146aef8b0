"""The embedded Celery broker: kombu's filesystem transport with atomic publish and claim.

kombu's stock filesystem transport creates a message file and then writes into it, so a consumer
listing the folder in between takes an empty or half-written file and fails on its JSON (the
worker dies with ``JSONDecodeError``). It also "claims" a message by moving it to the system
temp folder, which on another file system is a copy that two consumers can both make.

Here a message is written under a hidden temporary name in the queue folder, flushed, fsync'd
and then renamed to its final name: ``rename`` is atomic on one file system, so a consumer sees a
message whole or not at all. A consumer claims a message by renaming it into the
``processed_folder`` (same file system as the queue), and exactly one consumer wins that rename;
it then reads and deletes the file. Unacknowledged messages are put back on a graceful shutdown
by kombu's virtual transport, as with any kombu transport.

A worker asked to stop (SIGTERM, Ctrl-C) begins its warm shutdown within one poll: Celery's
loop for transports like this one checks for a stop request only between calls that wait up to
2 seconds for a message, and here such a wait ends at the next empty poll once the worker is
stopping (the ``worker_shutting_down`` signal).

Selected by ``CELERY_BROKER_TRANSPORT`` in the embedded default (no ``REDIS_URL``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

from celery.signals import worker_shutting_down
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

_worker_stopping = threading.Event()


@worker_shutting_down.connect
def _on_worker_shutting_down(**kwargs: Any) -> None:
    """Sent in the worker's main process by its SIGTERM/SIGINT handler (warm or cold)."""
    _worker_stopping.set()


TEMP_SUFFIX = ".part"
BAD_SUFFIX = ".unreadable"


def _matches(filename: str, queue: str) -> bool:
    """The stock transport's naming: ``<sort key>_<uuid>.<queue>.msg``."""
    return filename.partition(".")[2] == f"{queue}.msg"


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Write to a hidden temporary file, then rename it into the queue (atomic)."""
        name = f"{time.monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        folder = Path(self.data_folder_out)
        temp = folder / f".{name}{TEMP_SUFFIX}"  # matches no queue (see _matches)
        data = str_to_bytes(dumps(payload))
        try:
            with temp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temp, folder / name)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise ChannelError(f"Cannot add message {name!r} to {folder}") from exc

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        """Claim the oldest message of ``queue`` by renaming it; only one consumer can win."""
        inbox = Path(self.data_folder_in)
        claimed_dir = Path(self.processed_folder)
        for name in sorted(os.listdir(inbox)):
            if not _matches(name, queue):
                continue
            claimed = claimed_dir / name
            try:
                os.rename(inbox / name, claimed)
            except FileNotFoundError:
                continue  # another consumer claimed it first
            except OSError as exc:
                raise ChannelError(f"Cannot claim {name!r} from {inbox}") from exc
            try:
                payload = claimed.read_bytes()
                message = loads(bytes_to_str(payload))
            except ValueError:
                # Not a message this transport wrote (e.g. left by the stock transport): keep it
                # for inspection instead of killing the worker.
                logger.error("unreadable broker message %s set aside", claimed)
                os.replace(claimed, claimed.with_name(name + BAD_SUFFIX))
                continue
            except OSError as exc:
                raise ChannelError(f"Cannot read claimed message {claimed}") from exc
            if not self.store_processed:
                claimed.unlink()
            return message
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
    driver_type = "filesystem"
    driver_name = "atomic-filesystem"

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:  # type: ignore[override]  # as kombu's virtual Transport
        """kombu's wait for a message (its loop, unchanged), which also ends once the worker stops.

        Celery's worker loop calls this with ``timeout=2.0`` and looks for a stop request only
        in between. Here the wait also ends (``socket.timeout``, an alias of ``TimeoutError``)
        after the first empty poll once the worker is stopping; otherwise it keeps its meaning.
        """
        get = self.cycle.get  # type: ignore[union-attr]  # made in __init__
        polling_interval = self.polling_interval
        if timeout and polling_interval and polling_interval > timeout:
            polling_interval = timeout
        started = time.monotonic()
        while True:
            try:
                get(self._deliver, timeout=timeout)
                return
            except Empty:
                if timeout is not None and time.monotonic() - started >= timeout:
                    raise TimeoutError() from None
                if polling_interval is not None:
                    time.sleep(polling_interval)
                if _worker_stopping.is_set():
                    raise TimeoutError() from None
