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
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from web import clock
from web.db.engine import transaction
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


@dataclass(frozen=True)
class Deps:
    """What sending needs from the process: the shared Genesys client, the settings and, in a worker,
    its tenant cache (without one, every send reads everything afresh)."""

    genesys: GenesysClient
    settings: Settings
    cache: TenantCache | None = field(default=None, compare=False)

    @classmethod
    def from_ctx(cls, ctx: dict) -> Deps:
        cache = ctx.setdefault("tenant_cache", TenantCache())
        return cls(genesys=ctx["genesys"], settings=ctx["settings"], cache=cache)

    async def cached(self, key: tuple, load: Callable[[], Awaitable[Any]]) -> Any:
        return await self.cache.get(key, load) if self.cache is not None else await load()


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
    attempts = row.attempts + 1
    try:
        body, tenant = await _message(deps, booking, row, now)
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
    return await _after_success(row, booking, claimed, attempts, sent)


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


async def _after_success(row: Dispatch, booking: Booking, version: int, attempts: int, sent) -> str:
    now = clock.now()
    # A manual retry starts from attempts 0 with the old error kept: its success removes a banner.
    was_failed_before = bool(row.last_error) and row.attempts == 0
    async with transaction():
        updated = (
            await Dispatch.update(
                {
                    Dispatch.status: DispatchStatus.dispatched,
                    Dispatch.version: version + 1,
                    Dispatch.conversation_id: sent.conversation_id,
                    Dispatch.correlation_id: sent.correlation_id or "",
                    Dispatch.dispatched_at: now,
                    Dispatch.last_error: "",
                    Dispatch.updated_at: now,
                }
            )
            .where(_still_ours(row.id, version))
            .returning(Dispatch.id)
        )
        if updated:
            payload = {
                "dispatch_id": str(row.id),
                "conversation_id": sent.conversation_id,
                "message_id": row.message_id,
                "attempts": attempts,
            }
            await events_log.record(booking.id, "pre_meeting_dispatched", Actor.system(), payload, now)
    if not updated:
        # The row was cleared while we were sending (the meeting was cancelled or moved): the
        # message is out, so its conversation still deserves the follow-up.
        await _follow_up_if_changed_meanwhile(row.id, booking, sent.conversation_id, now)
        return Outcome.STALE
    if was_failed_before and booking.assigned_agent is not None:
        await dispatch.publish_state(booking.id, booking.assigned_agent)  # the banner goes away
    return Outcome.DISPATCHED


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
            await dispatch.enqueue_send(row.id, version + 1, next_at, attempts)
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
        await dispatch.enqueue_follow_up(row_id, "cancelled", booking.scheduled_at)
    elif booking.assigned_agent != announced.assigned_agent:
        await dispatch.enqueue_follow_up(row_id, "reassigned", booking.scheduled_at)
    elif booking.scheduled_at != announced.scheduled_at:
        await dispatch.enqueue_follow_up(row_id, "moved", booking.scheduled_at)


async def send_follow_up(
    deps: Deps, dispatch_id: Any, attempt_number: int = 1, kind: str = "cancelled"
) -> bool:
    """Tell the agent, in the conversation the dispatch opened, that the meeting was cancelled,
    moved or given to another agent. Its messageId derives from the dispatch's (and the new time),
    so a repeat never becomes a second message."""
    row = await Dispatch.objects().get(Dispatch.id == dispatch_id)
    booking = await Booking.objects().get(Booking.id == row.booking) if row else None
    if row is None or booking is None:
        return False
    if kind != "cancelled" and booking.status == BookingStatus.cancelled:
        return False  # the cancellation has its own message
    tenant = await load_genesys(booking.app, deps.settings.secret_key)
    if tenant is None:
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
    return True
