"""Sending one dispatch: claim the row, send the open message, record what happened.

Exactly once: a runner first claims the row with a conditional UPDATE (status and version must be
what it read), so only one runner sends. The row's `messageId` and the booking's sender id never
change, so a resend after a crash (the reconciler finishing a row stuck in `sending`) threads into
the same Genesys conversation instead of opening a second interaction. Outcomes are written with
the same kind of conditional UPDATE: the failure path (event, notification, banner) runs only for
the runner whose UPDATE to `failed` matched.

Retries are ours, not the HTTP client's (one HTTP attempt per run): full-jitter backoff, base 2 s,
cap 60 s, `Retry-After` as a floor; permanent errors fail at once; no attempt is ever planned
after `start - 30 s`. Retry state lives in the row, so losing Redis loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from web import clock
from web.db.engine import is_sqlite, transaction
from web.db.tables import FINAL_STATUSES, Booking, BookingStatus, Dispatch, DispatchStatus, User
from web.genesys.client import GenesysClient
from web.genesys.errors import GenesysError
from web.genesys.settings_store import load as load_genesys
from web.scheduling import dispatch, notifications, presets
from web.scheduling import timeline as events_log
from web.scheduling.dispatch_payload import dispatch_body, follow_up_body
from web.scheduling.hooks import Actor, AfterCommit, run_after_commit
from web.settings import Settings
from web.templating import localtime

log = logging.getLogger("punctual.dispatch")

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 60.0
# The last moment an attempt may be planned for, before the meeting starts.
LAST_ATTEMPT_BEFORE_START = timedelta(seconds=30)
# A trigger that fires this much early (or less) waits in place; earlier, it is re-enqueued.
MAX_EARLY_WAIT_SECONDS = 5.0
FOLLOW_UP_ATTEMPTS = 5


# Sends a worker keeps in flight at once (its saq concurrency is the same), and the fewest free
# slots worth a claim.
SEND_CONCURRENCY = 50
MIN_BATCH = 10
# A runner stops claiming after this long and leaves the rest to the next trigger or the
# reconciler, well inside the job's timeout.
DRAIN_SECONDS = 30.0

# How long a worker reuses an app's Genesys settings, preset and an agent's email between sends.
TENANT_CACHE_SECONDS = 5.0


class TenantCache:
    """A worker's short memory of what every send of a burst reads alike (the app's Genesys settings
    with the secret decrypted, its preset, the agent's email). The dispatch row itself is never
    cached: it is re-read and claimed atomically on every send. A change to these reaches the worker
    within `TENANT_CACHE_SECONDS`."""

    def __init__(self, seconds: float = TENANT_CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._entries: dict[tuple, tuple[float, asyncio.Future]] = {}

    async def get(self, key: tuple, load: Callable[[], Awaitable[Any]]) -> Any:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return await asyncio.shield(hit[1])
        # The sends of a burst start together: the first one loads, the others await its result.
        loading = asyncio.ensure_future(load())
        self._entries[key] = (now + self.seconds, loading)
        try:
            value = await asyncio.shield(loading)
        except BaseException:
            self._forget(key, loading)
            raise
        if value is None:  # what is missing is looked up again next time
            self._forget(key, loading)
        return value

    def _forget(self, key: tuple, loading: asyncio.Future) -> None:
        if self._entries.get(key, (0, None))[1] is loading:
            del self._entries[key]


class SendSlots:
    """The sends a worker keeps going, shared by its runners: a runner claims only as many rows as
    there are free slots. Half as many rows again as requests in flight (`http`) are claimed, so
    the next request starts the moment one ends instead of waiting for a claim; a claimed row waits
    in `sending` a fraction of a second at most."""

    def __init__(self, size: int = 0) -> None:
        in_flight = size or SEND_CONCURRENCY
        self.size = self.free = in_flight + in_flight // 2
        self.http = asyncio.Semaphore(in_flight)
        # The successes of every runner of the worker, written together.
        self.successes = _SuccessLog()
        self._freed = asyncio.Event()
        self._turn = asyncio.Lock()

    async def take(self) -> int:
        """Every free slot, once enough are free to make a batch worth a claim. Runners wait their
        turn, so a freed slot wakes one of them, not all."""
        async with self._turn:
            while self.free < min(MIN_BATCH, self.size):
                self._freed.clear()
                await self._freed.wait()
            taken, self.free = self.free, 0
            return taken

    def give(self, count: int = 1) -> None:
        self.free += count
        self._freed.set()


@dataclass(frozen=True)
class Deps:
    """What sending needs from the process: the shared Genesys client, the settings and, in a worker,
    its tenant cache (without one, every send reads everything afresh) and its send slots (without
    them, each runner has its own)."""

    genesys: GenesysClient
    settings: Settings
    cache: TenantCache | None = field(default=None, compare=False)
    slots: SendSlots | None = field(default=None, compare=False)

    @classmethod
    def from_ctx(cls, ctx: dict) -> Deps:
        """saq hands each job a copy of the worker's context: what the sends of a worker share
        (`worker_context`) must be put there at startup."""
        return cls(
            genesys=ctx["genesys"],
            settings=ctx["settings"],
            cache=ctx.get("tenant_cache"),
            slots=ctx.get("send_slots"),
        )

    async def cached(self, key: tuple, load: Callable[[], Awaitable[Any]]) -> Any:
        return await self.cache.get(key, load) if self.cache is not None else await load()


def worker_context() -> dict[str, Any]:
    """What one worker's sends share, for its saq startup context."""
    return {"tenant_cache": TenantCache(), "send_slots": SendSlots()}


class Outcome:
    STALE = "stale"  # the trigger is for a version that moved on, or someone else claimed it
    EARLY = "early"  # fired before its time; re-enqueued
    DISPATCHED = "dispatched"
    RETRY = "retry"
    FAILED = "failed"


def backoff_seconds(attempts: int, retry_after: float | None, jitter: float | None = None) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempts-1))], never below `Retry-After`."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    delay = (random.random() if jitter is None else jitter) * ceiling
    return max(delay, retry_after or 0.0)


async def _claim(row: Dispatch, from_status: str, now: datetime) -> int | None:
    """Move the row to `sending` if it is still exactly what we read; the new version, or None."""
    version = row.version + 1
    claimed = (
        await Dispatch.update(
            {
                Dispatch.status: DispatchStatus.sending,
                Dispatch.version: version,
                Dispatch.attempts: row.attempts + 1,
                Dispatch.updated_at: now,
            }
        )
        .where((Dispatch.id == row.id) & (Dispatch.status == from_status) & (Dispatch.version == row.version))
        .returning(Dispatch.id)
    )
    return version if claimed else None


def _still_ours(row_id: Any, version: int):
    return (
        (Dispatch.id == row_id) & (Dispatch.status == DispatchStatus.sending) & (Dispatch.version == version)
    )


async def attempt(deps: Deps, dispatch_id: Any, version: int, *, resume: bool = False) -> str:
    """One attempt at the row `dispatch_id` as of `version`. `resume`: take over a row stuck in
    `sending` (its runner died) and send it again with the same messageId."""
    row = await Dispatch.objects().get(Dispatch.id == dispatch_id)
    expected = DispatchStatus.sending if resume else DispatchStatus.scheduled
    if row is None or row.status != expected or row.version != version:
        return Outcome.STALE
    booking = await Booking.objects().get(Booking.id == row.booking)
    if booking is None or booking.status in FINAL_STATUSES:
        return Outcome.STALE  # the lifecycle clears the row; nothing to send
    if not resume and row.next_attempt_at is not None:
        wait = (row.next_attempt_at - clock.now()).total_seconds()
        if wait > MAX_EARLY_WAIT_SECONDS:
            # A new key: this very job still holds the original one.
            await dispatch.enqueue_send(row.id, row.version, row.next_attempt_at, row.attempts, ":early")
            return Outcome.EARLY
        if wait > 0:
            await asyncio.sleep(wait)
    now = clock.now()
    claimed = await _claim(row, expected, now)
    if claimed is None:
        return Outcome.STALE
    return await _send_claimed(deps, row, booking, claimed, row.attempts + 1, now)


async def _send_claimed(
    deps: Deps,
    row: Dispatch,
    booking: Booking,
    claimed: int,
    attempts: int,
    now: datetime,
    successes: _SuccessLog | None = None,
    in_flight: asyncio.Semaphore | None = None,
) -> str:
    """Send a row this runner has claimed (now at version `claimed`) and record the outcome
    (a success through `successes` when given: one transaction for the sends of a batch; the
    request itself inside `in_flight` when given)."""
    try:
        body, tenant = await _message(deps, booking, row, now)
        async with in_flight or contextlib.nullcontext():
            sent = await deps.genesys.send_inbound_open_message(
                tenant.credentials, tenant.integration_id, body, prefetch_conversation_id=True, attempts=1
            )
    except GenesysError as exc:
        _log_send("rejected", booking, row, attempts, exc.correlation_id, error=exc.plain_words())
        return await _after_error(row, booking, claimed, attempts, exc.plain_words(), exc)
    except _NotSendable as exc:
        _log_send("not sent", booking, row, attempts, None, error=str(exc))
        return await _after_error(row, booking, claimed, attempts, str(exc), None)
    _log_send("accepted", booking, row, attempts, sent.correlation_id, conversation_id=sent.conversation_id)
    return await _after_success(row, booking, claimed, attempts, sent, successes)


# --- sending what is due, in batches ---------------------------------------------------------------

_FINAL = tuple(sorted(FINAL_STATUSES))
# The due rows are picked in a CTE (evaluated once, so LIMIT holds), then claimed by one UPDATE.
_CLAIM_DUE = (
    "WITH due AS (SELECT d.id FROM dispatch d JOIN booking b ON b.id = d.booking "
    "WHERE d.status = {} AND d.next_attempt_at <= {} AND b.status NOT IN ({}, {}, {}) "
    "ORDER BY d.next_attempt_at LIMIT {}%s) "
    "UPDATE dispatch SET status = {}, version = version + 1, attempts = attempts + 1, updated_at = {} "
    "WHERE id IN (SELECT id FROM due) RETURNING id"
)
_CLAIM_DUE_SQLITE = _CLAIM_DUE % ""
_CLAIM_DUE_POSTGRES = _CLAIM_DUE % " FOR UPDATE OF d SKIP LOCKED"


async def _claim_due(now: datetime, limit: int) -> list[tuple[Dispatch, Booking]]:
    """Claim up to `limit` rows due by `now` in one statement (each moves to `sending` with its
    version and attempts raised, exactly as a single claim does), earliest first; with their
    bookings. On PostgreSQL concurrent runners skip each other's rows instead of waiting."""
    claimed = await Dispatch.raw(
        _CLAIM_DUE_SQLITE if is_sqlite() else _CLAIM_DUE_POSTGRES,
        DispatchStatus.scheduled,
        now,
        *_FINAL,
        limit,
        DispatchStatus.sending,
        now,
    )
    if not claimed:
        return []
    rows = await Dispatch.objects().where(Dispatch.id.is_in([r["id"] for r in claimed]))
    bookings = {
        b.id: b for b in await Booking.objects().where(Booking.id.is_in(list({r.booking for r in rows})))
    }
    rows.sort(key=lambda r: r.next_attempt_at)
    return [(row, bookings[row.booking]) for row in rows]


async def _next_due_in(after: datetime, until: datetime) -> float | None:
    """Seconds until the earliest row planned for after `after` and before `until`, or None. (A row
    due by `after` that a claim at `after` did not take is another runner's to send.)"""
    row = (
        await Dispatch.select(Dispatch.next_attempt_at)
        .where(
            (Dispatch.status == DispatchStatus.scheduled)
            & (Dispatch.next_attempt_at > after)
            & (Dispatch.next_attempt_at < until)
            & Dispatch.booking.status.not_in(list(_FINAL))
        )
        .order_by(Dispatch.next_attempt_at)
        .first()
    )
    return None if row is None else (row["next_attempt_at"] - clock.now()).total_seconds()


async def send_due(deps: Deps, until: datetime | None = None) -> Counter:
    """Send every dispatch due now and, with `until`, each one planned before `until` as its time
    comes; the outcomes counted. Rows are claimed in batches as send slots free up (the worker's
    runners share them: `SEND_CONCURRENCY` requests in flight), so a burst of due rows costs a few
    statements per batch instead of a queue job each. Each row is sent, retried or failed exactly
    as `attempt` would."""
    tally: Counter = Counter()
    running: set[asyncio.Task] = set()
    slots = deps.slots or SendSlots()
    started = time.monotonic()
    # Real time bounds the wait for rows still to come: a test's clock does not move while we sleep.
    ends = started + DRAIN_SECONDS
    if until is not None:
        ends = min(ends, started + max(0.0, (until - clock.now()).total_seconds()) + 1.0)

    def done(task: asyncio.Task) -> None:
        running.discard(task)
        slots.give(1)
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.error("dispatch send failed", exc_info=task.exception())
            tally["error"] += 1
        else:
            tally[task.result()] += 1

    try:
        while time.monotonic() < started + DRAIN_SECONDS:
            taken = await slots.take()
            now = clock.now()
            try:
                batch = await _claim_due(now, taken)
            except BaseException:
                slots.give(taken)
                raise
            slots.give(taken - len(batch))
            for row, booking in batch:
                sending = _send_claimed(
                    deps, row, booking, row.version, row.attempts, now, slots.successes, slots.http
                )
                task = asyncio.create_task(sending)
                running.add(task)
                task.add_done_callback(done)
            if len(batch) == taken:
                continue  # there may be more due
            wait = await _next_due_in(now, until) if until is not None else None
            if wait is None or time.monotonic() + max(wait, 0.0) > ends:
                break
            if running:
                await asyncio.wait(running, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            else:
                await asyncio.sleep(wait)
    finally:
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    return tally


def _log_send(
    outcome: str, booking: Booking, row: Dispatch, attempt_number: int, correlation: str | None, **more
) -> None:
    """One structured line per send to Genesys: the booking and Genesys' correlation id let support
    follow one message from our timeline into Genesys' own logs. Nothing secret goes in."""
    log.log(
        logging.INFO if outcome == "accepted" else logging.WARNING,
        "dispatch send %s",
        outcome,
        extra={
            "event": "dispatch_send",
            "outcome": outcome,
            "booking_id": str(booking.id),
            "dispatch_id": str(row.id),
            "message_id": row.message_id,
            "attempt": attempt_number,
            "correlation_id": correlation or "",
            **more,
        },
    )


class _NotSendable(Exception):
    """Something on our side makes the send impossible (settings gone): fail, do not retry."""


async def _message(deps: Deps, booking: Booking, row: Dispatch, now: datetime):
    tenant = await deps.cached(("genesys", booking.app), lambda: _provisioned(booking.app, deps))
    if tenant is None:
        raise _NotSendable("Genesys is no longer set up for this app")
    agent = booking.assigned_agent
    agent_email = await deps.cached(("email", agent), lambda: _email(agent)) if agent else ""
    preset = await deps.cached(("preset", booking.app), lambda: presets.get_preset(booking.app))
    body = dispatch_body(
        booking=booking,
        message_id=row.message_id,
        sent_at=now,
        agent_genesys_id=row.agent_user_id,
        agent_email=agent_email or "",
        join_url=f"{deps.settings.public_url.rstrip('/')}/rooms/{booking.host_token}",
        include_notes=preset.dispatch_include_intake_notes,
    )
    return body, tenant


async def _provisioned(app_id: int, deps: Deps):
    tenant = await load_genesys(app_id, deps.settings.secret_key)
    return tenant if tenant is not None and tenant.provisioned else None


async def _email(user_id: Any) -> str | None:
    rows = await User.select(User.email).where(User.id == user_id).first()
    return rows["email"] if rows else None


async def _after_success(
    row: Dispatch, booking: Booking, version: int, attempts: int, sent, successes: _SuccessLog | None = None
) -> str:
    now = clock.now()
    # A manual retry starts from attempts 0 with the old error kept: its success removes a banner.
    was_failed_before = bool(row.last_error) and attempts == 1
    success = _Success(row, booking, version, attempts, sent)
    if successes is not None:
        updated = await successes.record(success)
    else:
        async with transaction():
            updated = bool(await _write_successes([success], now))
    if not updated:
        # The row was cleared while we were sending (the meeting was cancelled or moved): the
        # message is out, so its conversation still deserves the follow-up.
        await _follow_up_if_changed_meanwhile(row.id, booking, sent.conversation_id, now)
        return Outcome.STALE
    if was_failed_before and booking.assigned_agent is not None:
        await dispatch.publish_state(booking.id, booking.assigned_agent)  # the banner goes away
    return Outcome.DISPATCHED


# Every success of a group in one statement: only rows still claimed by their sender (status
# `sending` at the claimed version) move to `dispatched`.
_MARK_DISPATCHED = (
    "WITH sent(id, version, conversation_id, correlation_id) AS (VALUES <values>) "
    "UPDATE dispatch SET status = {}, version = sent.version + 1, conversation_id = sent.conversation_id, "
    "correlation_id = sent.correlation_id, dispatched_at = {}, last_error = '', updated_at = {} "
    "FROM sent WHERE dispatch.id = sent.id AND dispatch.version = sent.version AND dispatch.status = {} "
    "RETURNING dispatch.id"
)


@dataclass(frozen=True)
class _Success:
    row: Dispatch
    booking: Booking
    version: int  # the claimed version
    attempts: int
    sent: Any  # the client's SentMessage


async def _write_successes(successes: list[_Success], now: datetime) -> set:
    """Mark rows dispatched (only those still claimed by their sender) with one event each; the ids
    (as strings) of the rows written. Inside the caller's transaction."""
    row_sql = "({}, {}, {}, {})" if is_sqlite() else "({}::uuid, {}::integer, {}::text, {}::text)"
    values = ", ".join([row_sql] * len(successes))
    params = [
        param
        for s in successes
        for param in (s.row.id, s.version, s.sent.conversation_id, s.sent.correlation_id or "")
    ]
    updated = await Dispatch.raw(
        _MARK_DISPATCHED.replace("<values>", values),
        *params,
        DispatchStatus.dispatched,
        now,
        now,
        DispatchStatus.sending,
    )
    written = {str(r["id"]) for r in updated}
    events = [
        (
            s.booking.id,
            "pre_meeting_dispatched",
            Actor.system(),
            {
                "dispatch_id": str(s.row.id),
                "conversation_id": s.sent.conversation_id,
                "message_id": s.row.message_id,
                "attempts": s.attempts,
            },
        )
        for s in successes
        if str(s.row.id) in written
    ]
    await events_log.record_many(events, now)
    return written


class _SuccessLog:
    """Group commit for the sends of a worker: a send that succeeds queues its outcome, and
    whichever send takes the writer's turn first writes every queued outcome in one transaction,
    while the next group gathers. Each send still learns whether its own row was written."""

    def __init__(self) -> None:
        self._queued: list[tuple[_Success, asyncio.Future]] = []
        self._turn = asyncio.Lock()

    async def record(self, success: _Success) -> bool:
        done = asyncio.get_running_loop().create_future()
        self._queued.append((success, done))
        async with self._turn:
            if not done.done():
                group, self._queued = self._queued, []
                try:
                    async with transaction():
                        written = await _write_successes([s for s, _ in group], clock.now())
                except Exception as exc:
                    for _, waiting in group:
                        waiting.set_exception(exc)
                else:
                    for s, waiting in group:
                        waiting.set_result(str(s.row.id) in written)
        return await done


async def _after_error(
    row: Dispatch, booking: Booking, version: int, attempts: int, words: str, exc: GenesysError | None
) -> str:
    now = clock.now()
    permanent = exc is None or exc.permanent
    if not permanent:
        next_at = now + timedelta(seconds=backoff_seconds(attempts, exc.retry_after))
        if next_at <= booking.scheduled_at - LAST_ATTEMPT_BEFORE_START:
            updated = (
                await Dispatch.update(
                    {
                        Dispatch.status: DispatchStatus.scheduled,
                        Dispatch.version: version + 1,
                        Dispatch.next_attempt_at: next_at,
                        Dispatch.last_error: words,
                        Dispatch.updated_at: now,
                    }
                )
                .where(_still_ours(row.id, version))
                .returning(Dispatch.id)
            )
            if not updated:
                return Outcome.STALE
            log.info("dispatch %s attempt %d failed (%s); retry at %s", row.id, attempts, words, next_at)
            await dispatch.enqueue_due(next_at, [(row.id, version + 1, attempts)])
            return Outcome.RETRY
        words = f"{words} (no time left to retry before the meeting)"
    return await fail(row, booking, version, attempts, words, now)


async def fail(
    row: Dispatch, booking: Booking, version: int, attempts: int, words: str, now: datetime
) -> str:
    """The failure path, run once: the runner whose conditional UPDATE matches writes the event
    and the agent's notification, then shows the banner on the agent's open pages."""
    callbacks: list[AfterCommit] = []
    async with transaction():
        updated = (
            await Dispatch.update(
                {
                    Dispatch.status: DispatchStatus.failed,
                    Dispatch.version: version + 1,
                    Dispatch.last_error: words,
                    Dispatch.failed_at: now,
                    Dispatch.updated_at: now,
                }
            )
            .where(_still_ours(row.id, version))
            .returning(Dispatch.id)
        )
        if not updated:
            return Outcome.STALE
        payload = {"dispatch_id": str(row.id), "error": words, "attempts": attempts}
        await events_log.record(booking.id, "pre_meeting_failed", Actor.system(), payload, now)
        if booking.assigned_agent is not None:
            tz = await notifications.viewer_timezone(booking.assigned_agent)
            notice = await notifications.notify(
                booking.assigned_agent,
                kind="dispatch_failed",
                text=(
                    f"The Genesys pre-meeting message for your meeting with {booking.guest_name} "
                    f"on {localtime(booking.scheduled_at, tz, '%a %d %b at %H:%M')} ({tz}) could not be "
                    f"sent ({words}). Join the meeting manually from the booking's link."
                ),
                link=dispatch.booking_link(booking.id),
                app_id=booking.app,
                now=now,
            )
            agent_id = booking.assigned_agent

            async def announce() -> None:
                await notifications.announce(notice)
                await dispatch.publish_state(booking.id, agent_id)

            callbacks.append(announce)
    log.warning("dispatch %s of booking %s failed after %d attempts: %s", row.id, booking.id, attempts, words)
    await run_after_commit(callbacks)
    return Outcome.FAILED


# --- follow-ups: cancelled, moved or reassigned after delivery ------------------------------------


async def _follow_up_if_changed_meanwhile(
    row_id: Any, announced: Booking, conversation_id: str | None, now: datetime
) -> None:
    """Keep the conversation on the cleared row (the widget and later follow-ups find it there),
    then tell it what changed since the message was written."""
    if conversation_id:
        await Dispatch.update({Dispatch.conversation_id: conversation_id, Dispatch.dispatched_at: now}).where(
            (Dispatch.id == row_id) & Dispatch.conversation_id.is_null()
        )
    booking = await Booking.objects().get(Booking.id == announced.id)
    if booking is None:
        return
    if booking.status == BookingStatus.cancelled:
        kind = "cancelled"
    elif booking.assigned_agent != announced.assigned_agent:
        kind = "reassigned"
    elif booking.scheduled_at != announced.scheduled_at:
        kind = "moved"
    else:
        return
    await dispatch.mark_follow_up(row_id, kind, now)
    await dispatch.enqueue_follow_up(row_id, kind, booking.scheduled_at)


async def send_follow_up(
    deps: Deps, dispatch_id: Any, attempt_number: int = 1, kind: str = "cancelled"
) -> bool:
    """Tell the agent, in the conversation the dispatch opened, that the meeting was cancelled,
    moved or given to another agent. Its messageId derives from the dispatch's (and the new time),
    so a repeat never becomes a second message."""
    row = await Dispatch.objects().get(Dispatch.id == dispatch_id)
    if row is None or row.follow_up != kind:
        return False  # sent already, given up, or replaced by newer news with its own trigger
    booking = await Booking.objects().get(Booking.id == row.booking)
    tenant = await load_genesys(booking.app, deps.settings.secret_key) if booking else None
    if (
        booking is None
        or tenant is None
        or (kind != "cancelled" and booking.status == BookingStatus.cancelled)
    ):
        await dispatch.follow_up_done(row)  # nothing to tell, or the cancellation has its own message
        return False
    message_id = f"{row.message_id}-{kind}"
    if kind == "moved":
        message_id += f"-{booking.scheduled_at:%Y%m%d%H%M}"
    body = follow_up_body(
        booking=booking,
        message_id=message_id,
        sent_at=clock.now(),
        agent_genesys_id=row.agent_user_id,
        kind=kind,
    )
    try:
        sent = await deps.genesys.send_inbound_open_message(
            tenant.credentials, tenant.integration_id, body, prefetch_conversation_id=True, attempts=1
        )
    except GenesysError as exc:
        words = exc.plain_words()
        _log_send(
            "rejected", booking, row, attempt_number, exc.correlation_id, error=words, message_id=message_id
        )
        if exc.permanent or attempt_number >= FOLLOW_UP_ATTEMPTS:
            log.warning("%s follow-up for dispatch %s not sent: %s", kind, row.id, words)
            await dispatch.follow_up_done(row)
            return False
        delay = backoff_seconds(attempt_number, exc.retry_after)
        await dispatch.jobs.enqueue_at(
            dispatch.FOLLOW_UP_JOB,
            key=f"{dispatch.follow_up_key(row.id, kind, booking.scheduled_at)}:a{attempt_number}",
            at=clock.now() + timedelta(seconds=delay),
            job_timeout=dispatch.JOB_TIMEOUT_SECONDS,
            dispatch_id=str(row.id),
            attempt=attempt_number + 1,
            kind=kind,
        )
        return False
    _log_send("accepted", booking, row, attempt_number, sent.correlation_id, message_id=message_id)
    await dispatch.follow_up_done(row)
    return True
