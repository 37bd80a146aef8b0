"""The test process's garbage-collector tuning (``tests/conftest.py``): what collection
imported is frozen out of later collections, collections are rarer, and a reference cycle
made afterwards is still collected."""

from __future__ import annotations

import gc
import weakref

from tests.conftest import GC_FIRST_GENERATION


def test_collected_objects_are_frozen_and_the_first_generation_is_larger() -> None:
    assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold()[0] == GC_FIRST_GENERATION


def test_a_cycle_made_after_the_freeze_is_still_collected() -> None:
    class Node:
        other: object

    first, second = Node(), Node()
    first.other, second.other = second, first
    gone = weakref.ref(first)
    del first, second
    gc.collect()
    assert gone() is None
