"""The embedded default's broker (backoffice/broker.py) under concurrent publishing.

Several producer processes publish at once, as the web server (``task.delay``) and beat
(``app.send_task``) do, while a real Celery worker consumes: every message is processed exactly
once and the worker stays up. Then the transport's two guarantees, directly: a message being
written is invisible to consumers, and one message goes to one consumer however many race for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from queue import Empty

import pytest
from django.conf import settings
from kombu import Connection

from backoffice.broker import TEMP_SUFFIX, Transport

REPO = Path(settings.BASE_DIR)
PRODUCERS = 4
PER_PRODUCER = 150

PRODUCER = """
import sys
from tests.embedded_broker_app import app, record
first, count, style = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for number in range(first, first + count):
    if style == "web":
        record.delay(number)
    else:  # beat publishes by name
        app.send_task("embedded_broker_test.record", args=[number])
"""


def _embedded_env(var_dir: Path, record: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        BACKOFFICE_VAR_DIR=str(var_dir),
        BROKER_TEST_RECORD=str(record),
        # The consumer looks at the queue folder ten times a second instead of once (it waits a
        # poll whenever it finds nothing to take or its prefetch is full), so 600 messages do
        # not take minutes; the transport, its folders, publish and claim are unchanged.
        CELERY_BROKER_POLLING_INTERVAL="0.1",
        # Django's system checks are not under test (CI runs `manage.py check`); the worker
        # would run them at boot (~1 CPU-s).
        CELERY_SKIP_CHECKS="1",
        DJANGO_SETTINGS_MODULE="backoffice.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def _recorded(record: Path) -> list[int]:
    if not record.exists():
        return []
    return [int(line) for line in record.read_text().splitlines() if line]


@pytest.mark.slow
def test_concurrent_producers_and_a_real_worker_lose_nothing_and_repeat_nothing(
    tmp_path: Path,
) -> None:
    record = tmp_path / "record.txt"
    env = _embedded_env(tmp_path / "var", record)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "tests.embedded_broker_app", "worker"),
            *("--concurrency", "2", "--without-mingle", "--without-gossip", "--loglevel", "INFO"),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        producers = [
            subprocess.Popen(
                [
                    *(sys.executable, "-c", PRODUCER, str(i * PER_PRODUCER), str(PER_PRODUCER)),
                    "web" if i % 2 == 0 else "beat",
                ],
                cwd=REPO,
                env=env,
            )
            for i in range(PRODUCERS)
        ]
        for producer in producers:
            assert producer.wait(timeout=120) == 0
        expected = PRODUCERS * PER_PRODUCER
        deadline = time.monotonic() + 180
        while len(_recorded(record)) < expected and time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-4000:]
            time.sleep(0.1)
        # A duplicate delivered late would show up here: ten of the consumer's polls.
        time.sleep(1)
        assert worker.poll() is None, "the worker died"
    finally:
        if worker.poll() is None:
            # The warm shutdown is the main process's: it stops consuming, lets the pool finish
            # and then ends its children. A SIGTERM to the whole group would also hit the pool
            # children at once, and the main process can hang waiting for the killed children.
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        log.close()
    counts = Counter(_recorded(record))
    assert set(counts) == set(range(PRODUCERS * PER_PRODUCER)), "messages lost"
    assert [n for n, c in counts.items() if c > 1] == [], "messages processed twice"
    worker_log = (tmp_path / "worker.log").read_text()
    assert "JSONDecodeError" not in worker_log
    assert "Traceback" not in worker_log
    assert worker.returncode == 0, worker_log[-4000:]


def _connection(folder: Path) -> Connection:
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return Connection(
        "filesystem://",
        transport=Transport,
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
    )


def test_a_message_being_written_is_invisible_until_it_is_complete(tmp_path: Path) -> None:
    with _connection(tmp_path) as conn:
        channel = conn.default_channel
        channel._put("q", {"body": "first"})
        [name] = os.listdir(tmp_path / "queue")
        # What a publisher in the middle of a write leaves behind: half of a message.
        partial = tmp_path / "queue" / f".{name}{TEMP_SUFFIX}"
        partial.write_text('{"body": "sec')
        assert channel._size("q") == 1
        assert channel._get("q") == {"body": "first"}
        with pytest.raises(Empty):
            channel._get("q")
        assert partial.exists()  # untouched: it is its publisher's until renamed


def test_an_unreadable_file_is_set_aside_and_the_next_message_still_arrives(
    tmp_path: Path,
) -> None:
    with _connection(tmp_path) as conn:
        channel = conn.default_channel
        # What the stock transport could leave: an empty file under a message's name.
        (tmp_path / "queue" / "00000000000000000001_x.q.msg").write_bytes(b"")
        channel._put("q", {"body": "whole"})
        assert channel._get("q") == {"body": "whole"}
        assert [p.name for p in (tmp_path / "processed").iterdir()] == [
            "00000000000000000001_x.q.msg.unreadable"
        ]


def test_racing_consumers_each_message_goes_to_exactly_one(tmp_path: Path) -> None:
    total = 400
    with _connection(tmp_path) as producer:
        for number in range(total):
            producer.default_channel._put("q", {"n": number})
    received: list[int] = []
    lock = threading.Lock()

    def consume() -> None:
        with _connection(tmp_path) as conn:
            while True:
                try:
                    message = conn.default_channel._get("q")
                except Empty:
                    return
                with lock:
                    received.append(message["n"])

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(received) == list(range(total))
    assert os.listdir(tmp_path / "queue") == []
