"""Enqueueing saq jobs from domain code. Jobs are triggers only: each carries a row id and the
row's version in its key, and re-reads the row when it fires. When no queue is configured (a CLI
command, Redis down) enqueueing is skipped: the reconciler re-creates missing jobs from the rows."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from saq import Job, Queue, Status

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
    return await _enqueue(function, key=key, at=at, job_timeout=job_timeout, **kwargs) is not False


async def enqueue_shared(
    function: str, *, key: str, at: datetime | None, job_timeout: int = 30, **kwargs
) -> str:
    """Like `enqueue_at` for a job many rows share (one key for all of them). Returns "queued" when
    a run that has not started yet will happen (this one, or one already waiting under the key);
    "running" when the key's job is running now (it may have looked at the rows before the
    caller's commit, so the caller needs a trigger of its own); "skipped" when there is no queue or
    Redis failed (the reconciler re-creates triggers from the rows)."""
    queued = await _enqueue(function, key=key, at=at, job_timeout=job_timeout, **kwargs)
    if queued is False:
        return "skipped"
    if queued is not None:
        return "queued"
    try:
        held = await _queue.job(key)
    except Exception:
        log.warning("could not read job %s; the reconciler will retry", key, exc_info=True)
        return "skipped"
    return "queued" if held is not None and held.status == Status.QUEUED else "running"


async def _enqueue(function: str, *, key: str, at: datetime | None, job_timeout: int, **kwargs):
    """The queued job; None when saq already holds a pending job under `key`; False when skipped."""
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
        return await _queue.enqueue(job)
    except Exception:  # Redis down: the row stays the truth and the reconciler re-enqueues
        log.warning("could not enqueue %s (%s); the reconciler will retry", function, key, exc_info=True)
        return False
