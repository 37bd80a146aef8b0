"""A deterministic virtual clock for concurrent code that sleeps (injected as ``now``/``sleep``).

Workers are greenlets in the calling thread that take turns: exactly one runs at a time, and
``sleep`` hands the turn to whichever worker wakes up earliest (ties in the order they went to
sleep), moving the clock to that instant. No real time passes while anyone sleeps, so a
scenario spanning several rate windows runs in the time its Redis calls take, and it runs the
same way every time. (Greenlets rather than threads: a hand-over is a function call, not a trip
through the OS scheduler, which on a loaded two-core machine costs milliseconds.)

Times are multiples of ``TICK`` (1/1024 s) on top of an integer start, so sums and differences
are exact in binary floating point (the governor's Lua script compares ``now - window`` with
stored grant times); ``exact`` undoes the 6-decimal rounding of a time the script returned.

The thread that creates the clock is the scheduler: it starts workers with ``start``, lets
virtual time pass with ``sleep`` and waits for workers with ``join``. An exception in a worker
propagates to that thread.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any

from greenlet import getcurrent, greenlet

TICK = 1 / 1024


class VirtualClock:
    def __init__(self, start: float = 1000.0) -> None:
        self._now = float(start)
        self._queue: list[tuple[float, int, greenlet]] = []
        self._order = itertools.count()
        self._main = getcurrent()

    def now(self) -> float:
        return self._now

    @staticmethod
    def exact(value: float) -> float:
        """``value`` back on the tick grid (a time the Lua script returned with 6 decimals)."""
        return round(value / TICK) * TICK

    def sleep(self, seconds: float) -> None:
        me = getcurrent()
        self._push(self._now + math.ceil(max(seconds, 0.0) / TICK) * TICK, me)
        if me is self._main:
            self._run(until=me)
        else:
            self._main.switch()  # back to the scheduler, which resumes us at our turn

    def start(self, target: Callable[..., Any], *args: Any) -> greenlet:
        """A worker running ``target(*args)`` from its first turn (at ``now``)."""
        assert getcurrent() is self._main, "workers are started by the scheduling thread"
        worker = greenlet(lambda: target(*args), parent=self._main)
        self._push(self._now, worker)
        return worker

    def join(self, workers: list[greenlet]) -> None:
        """Let virtual time run until every worker in ``workers`` has finished."""
        while not all(w.dead for w in workers):
            assert self._queue, "a worker is neither sleeping nor finished"
            self._run(until=None, once=True)

    def _push(self, at: float, who: greenlet) -> None:
        heapq.heappush(self._queue, (at, next(self._order), who))

    def _run(self, *, until: greenlet | None, once: bool = False) -> None:
        while self._queue:
            at, _, who = heapq.heappop(self._queue)
            self._now = max(self._now, at)
            if who is until:
                return
            who.switch()  # runs until it sleeps (switches back here) or finishes
            if once:
                return
        assert until is None, "the scheduler is waiting on a turn nobody holds"
