"""Job kinds and the code that runs them.

A domain app registers each kind it starts in its ``AppConfig.ready``::

    register(JobKindSpec(kind="offers.bulk", label=_("Bulk offer change"), run=bulk_step))

``run(job)`` advances the job as far as it can and answers with a :class:`Step`: ``FINISHED``
when every item has its outcome, or ``again(seconds)`` when Allegro is still working (polling
honours ``Retry-After``). It raises ``allegro.errors.TransientError`` for a 429/5xx/timeout: the
task retries later (bounded) and the runner must then pick up where it stopped, so it keeps
command ids and item outcomes in the job's rows, never in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from jobs.models import Job


@dataclass(frozen=True)
class Step:
    again_after: float | None = None


FINISHED = Step()


def again(seconds: float) -> Step:
    return Step(again_after=max(0.0, float(seconds)))


@dataclass(frozen=True)
class JobKindSpec:
    kind: str
    label: str | Promise
    run: Callable[[Job], Step]
    report_url: Callable[[Job], str] | None = None


_KINDS: dict[str, JobKindSpec] = {}


def register(spec: JobKindSpec) -> None:
    _KINDS[spec.kind] = spec


def spec_for(kind: str) -> JobKindSpec:
    try:
        return _KINDS[kind]
    except KeyError:
        raise LookupError(f"No runner registered for job kind {kind!r}.") from None


def label_for(kind: str) -> str:
    spec = _KINDS.get(kind)
    return str(spec.label) if spec is not None else kind


def report_url_for(job: Job) -> str | None:
    """Where the kind shows the job's own report (e.g. the bulk report), if it has one."""
    spec = _KINDS.get(job.kind)
    return spec.report_url(job) if spec is not None and spec.report_url is not None else None
