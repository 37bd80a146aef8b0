"""The suite's file order (tests/plugins/schedule.py): longest measured first, new files before
all of them, a file's tests in their own order; a broken record orders nothing."""

from __future__ import annotations

from pathlib import Path

from tests.plugins.schedule import SCHEDULE, load_schedule, longest_first

NODEIDS = [
    "tests/a.py::test_one",
    "tests/a.py::test_two",
    "tests/b.py::test_one",
    "tests/new.py::test_one",
    "tests/c.py::test_one",
    "tests/d.py::test_one",
]


def test_longest_first_and_unmeasured_files_before_all() -> None:
    measured = {"tests/a.py": 2.0, "tests/b.py": 30.5, "tests/c.py": 2.0, "tests/d.py": 0.1}
    order = longest_first(NODEIDS, measured)
    # new.py is not measured: it may be long, so it is never left for the end; a and c tie and
    # keep the order they were collected in.
    assert order == ["tests/new.py", "tests/b.py", "tests/a.py", "tests/c.py", "tests/d.py"]


def test_a_broken_or_missing_record_orders_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "schedule.json"
    for text in ("{not json", "[1, 2]", '{"tests/a.py": "long"}'):
        broken.write_text(text)
        assert load_schedule(broken) == {}
    assert load_schedule(tmp_path / "missing.json") == {}
    files = ["tests/a.py", "tests/b.py", "tests/new.py", "tests/c.py", "tests/d.py"]
    assert longest_first(NODEIDS, {}) == files


def test_the_committed_record_names_files_that_exist() -> None:
    measured = load_schedule()
    assert measured, f"{SCHEDULE} is missing or unreadable"
    root = SCHEDULE.parent.parent
    gone = [name for name in measured if not (root / name).is_file()]
    assert gone == [], f"{gone} no longer exist: `make pytest PYTEST_ARGS=--record-schedule`"
    assert all(seconds >= 0 for seconds in measured.values())
