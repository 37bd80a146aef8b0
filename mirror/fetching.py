"""Several Allegro requests in flight, results consumed in order, memory bounded.

Only HTTP runs in the worker threads; the caller writes to the database from its own thread.
The rate governor inside the client decides the actual pace.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from django.db import connections

A = TypeVar("A")
R = TypeVar("R")


def _close_thread_connections() -> None:
    # The account's token source and health bookkeeping may touch the database from a worker
    # thread; never leave that thread's connection open.
    for conn in connections.all(initialized_only=True):
        conn.close()


def _call(fn: Callable[[A], R], arg: A) -> R:
    try:
        return fn(arg)
    finally:
        _close_thread_connections()


def in_order(fn: Callable[[A], R], args: Iterable[A], *, workers: int) -> Iterator[R]:
    """``map(fn, args)`` with up to ``workers`` calls in flight, yielded in input order.

    At most ``workers`` results are held at once. An exception is raised when its item's turn
    comes, after the earlier results were yielded (so they can be committed first).
    """
    if workers <= 1:
        for arg in args:
            yield fn(arg)
        return
    pending: deque[Future[R]] = deque()
    source = iter(args)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mirror-fetch") as pool:
        try:
            for arg in source:
                pending.append(pool.submit(_call, fn, arg))
                if len(pending) >= workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def settle(
    fn: Callable[[A], R], args: Iterable[A], *, workers: int
) -> list[tuple[A, R | None, BaseException | None]]:
    """Call ``fn`` for every arg (in parallel); return (arg, result, error) in input order."""

    def safe(arg: A) -> tuple[A, R | None, BaseException | None]:
        try:
            return arg, fn(arg), None
        except Exception as exc:
            return arg, None, exc

    return list(in_order(safe, args, workers=workers))
