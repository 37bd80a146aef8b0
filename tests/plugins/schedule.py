"""The order in which xdist hands out test files: the longest first, from measured times.

`make pytest` runs ``--dist loadfile --no-loadscope-reorder``: the workers take whole files in
collection order, each taking the next file when it is done. Given the longest files first and
the short ones last, the two workers end within a short file of each other, and a file that
mostly waits (a real-time rate window, a worker being killed) runs while the other worker has
work of its own instead of in the run's last seconds. (In xdist's own order, most tests first,
the slow files of one or two tests came last.)

``tests/schedule.json`` holds each file's measured time (setup, call and teardown of its tests,
in seconds, from a `make pytest` run on the reference machine). A file it does not name yet runs
first, as if it were the longest: a new file is never the one left for the end. To measure
again::

    make pytest PYTEST_ARGS=--record-schedule

which rewrites the file when the run passed. The order changes nothing but the order: every
test runs, in a file's own order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

SCHEDULE = Path(__file__).resolve().parent.parent / "schedule.json"


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def load_schedule(path: Path = SCHEDULE) -> dict[str, float]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        name: float(seconds)
        for name, seconds in data.items()
        if isinstance(name, str) and isinstance(seconds, int | float)
    }


def longest_first(nodeids: list[str], measured: dict[str, float]) -> list[str]:
    """The files of ``nodeids`` (in first-seen order), longest measured first; unmeasured ones
    before all of them; ties in first-seen order."""
    files = list(dict.fromkeys(file_of(nodeid) for nodeid in nodeids))
    unknown = float("inf")
    return sorted(files, key=lambda name: -measured.get(name, unknown))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-schedule",
        action="store_true",
        help=f"write each file's measured time to {SCHEDULE.name} when the run passes",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    order = longest_first([item.nodeid for item in items], load_schedule())
    rank = {name: index for index, name in enumerate(order)}
    items.sort(key=lambda item: rank[file_of(item.nodeid)])  # stable: a file keeps its order


class Recorder:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[file_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus != pytest.ExitCode.OK or not self.seconds:
            return
        ranked = sorted(self.seconds.items(), key=lambda pair: (-pair[1], pair[0]))
        SCHEDULE.write_text(
            json.dumps({name: round(seconds, 2) for name, seconds in ranked}, indent=1) + "\n"
        )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # Only where the reports of every test arrive: the xdist controller or a run without xdist.
    if config.getoption("--record-schedule") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(Recorder(), "schedule-recorder")
