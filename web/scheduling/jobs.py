"""Enqueueing saq jobs from domain code. Jobs are triggers only: each carries a row id and the
row's version in its key, and re-reads the row when it fires. When no queue is configured (a CLI
command, Redis down) enqueueing is skipped: the reconciler re-creates missing jobs from the rows."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from saq import Job, Queue

from web import clock

log = logging.getLogger("punctual.jobs")

_queue: Queue | None = None


def configure(queue: Queue | None) -> None:
    global _queue
    _queue = queue


def current_queue() -> Queue | None:
    return _queue


def job_key(family: str, row_id: object, version: int) -> str:
    return f"{family}:{row_id}:v{version}"


async def enqueue_at(
    function: str, *, key: str, at: datetime | None, job_timeout: int = 30, **kwargs
) -> bool:
    """Schedule `function(**kwargs)` for `at` (now if None or past). Returns False when skipped.

    The wall-clock time is derived from our clock's offset so a moved test clock still lines up.
    """
    if _queue is None:
        return False
    scheduled = 0
    if at is not None:
        delay = (at - clock.now()).total_seconds()
        if delay > 0:
            scheduled = int(time.time() + delay)
    try:
        job = Job(
            function=function, kwargs=kwargs, key=key, scheduled=scheduled, timeout=job_timeout, retries=1
        )
        await _queue.enqueue(job)
    except Exception:  # Redis down: the row stays the truth and the reconciler re-enqueues
        log.warning("could not enqueue %s (%s); the reconciler will retry", function, key, exc_info=True)
        return False
    return True
