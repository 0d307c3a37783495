"""The reconciler: the rows are the truth, saq jobs only triggers. Every 15 s it re-creates what a
Redis restart or flush may have lost, and raises the alarm on what is late.

Dispatch repairs:
- scheduled rows due within the next hour get their second's shared trigger again (saq ignores a
  key it already holds);
- scheduled rows already overdue (their trigger is gone) are sent right here, in batches;
- rows stuck in `sending` (their runner died) are sent again with the same messageId, which
  threads into the same conversation: finishing them can never make a second interaction;
- a row overdue by more than a minute (still scheduled, or stuck in `sending`) raises one
  notification to the app's admins;
- a follow-up (cancelled, moved, reassigned) still owed two minutes after it was asked for gets
  its trigger again (its messageId is fixed, so a repeat never becomes a second message).

Other areas add their own repairs with one line: `REPAIRS.append(my_repair)` where
`async def my_repair(now: datetime) -> None`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from web import clock
from web.db.tables import Booking, Dispatch, DispatchStatus, Membership, Role
from web.scheduling import dispatch, dispatch_send, notifications
from web.templating import localtime

log = logging.getLogger("punctual.reconcile")

Repair = Callable[[datetime], Awaitable[None]]
REPAIRS: list[Repair] = []

ENQUEUE_AHEAD = timedelta(hours=1)
# Past its time by this much, a scheduled row's trigger is taken as lost and the row sent here.
LOST_TRIGGER_AFTER = timedelta(seconds=5)
STUCK_SENDING_AFTER = timedelta(seconds=60)
# Longer than a follow-up's own retries take (five attempts, under half a minute of backoff).
FOLLOW_UP_LOST_AFTER = timedelta(seconds=120)
OVERDUE_ALARM_AFTER = timedelta(seconds=60)
MAX_PARALLEL_SENDS = 20


async def reconcile(ctx: dict | dispatch_send.Deps, now: datetime | None = None) -> dict[str, int]:
    """One pass. `ctx` is a saq context or `Deps`; returns what it did (for logs and tests)."""
    deps = ctx if isinstance(ctx, dispatch_send.Deps) else dispatch_send.Deps.from_ctx(ctx)
    now = now or clock.now()
    report = await repair_dispatches(deps, now)
    for repair in list(REPAIRS):
        try:
            await repair(now)
        except Exception:
            log.exception("reconcile repair %s failed", getattr(repair, "__name__", repair))
    return report


async def reconcile_cron(ctx: dict) -> None:
    report = await reconcile(ctx)
    if any(report.values()):
        log.info("reconciled dispatches: %s", report)


async def repair_dispatches(deps: dispatch_send.Deps, now: datetime) -> dict[str, int]:
    report = {"enqueued": 0, "sent_lost": 0, "resumed": 0, "alarms": 0}
    report["follow_ups"] = await _repair_follow_ups(now)
    scheduled = await Dispatch.objects().where(
        (Dispatch.status == DispatchStatus.scheduled) & (Dispatch.next_attempt_at <= now + ENQUEUE_AHEAD)
    )
    lost = False
    upcoming: dict[int, list[Dispatch]] = {}
    for row in scheduled:
        if row.next_attempt_at <= now - OVERDUE_ALARM_AFTER and row.overdue_notified_at is None:
            report["alarms"] += await _raise_overdue_alarm(row, now)
        if row.next_attempt_at <= now - LOST_TRIGGER_AFTER:
            lost = True
        else:
            upcoming.setdefault(math.floor(row.next_attempt_at.timestamp()), []).append(row)
    for rows in upcoming.values():
        if await dispatch.enqueue_due(rows[0].next_attempt_at, [(r.id, r.version, r.attempts) for r in rows]):
            report["enqueued"] += len(rows)
    stuck = await Dispatch.objects().where(
        (Dispatch.status == DispatchStatus.sending) & (Dispatch.updated_at <= now - STUCK_SENDING_AFTER)
    )
    for row in stuck:  # its runner died: as late as a lost trigger, and as worth an alarm
        if row.next_attempt_at <= now - OVERDUE_ALARM_AFTER and row.overdue_notified_at is None:
            report["alarms"] += await _raise_overdue_alarm(row, now)
    limit = asyncio.Semaphore(MAX_PARALLEL_SENDS)

    async def resume(row: Dispatch) -> str:
        async with limit:
            try:
                return await dispatch_send.attempt(deps, row.id, row.version, resume=True)
            except Exception:
                log.exception("reconciling dispatch %s failed", row.id)
                return "error"

    async def send_lost() -> int:
        # Every overdue row (and whatever else is due by now) in batches, as a shared trigger would.
        return sum((await dispatch_send.send_due(deps)).values()) if lost else 0

    report["sent_lost"], *outcomes = await asyncio.gather(send_lost(), *[resume(r) for r in stuck])
    report["resumed"] = sum(1 for o in outcomes if o != dispatch_send.Outcome.STALE)
    return report


async def _repair_follow_ups(now: datetime) -> int:
    owed = await Dispatch.select(
        Dispatch.id, Dispatch.follow_up, Dispatch.booking.scheduled_at.as_alias("starts_at")
    ).where(Dispatch.follow_up.is_not_null() & (Dispatch.follow_up_at <= now - FOLLOW_UP_LOST_AFTER))
    enqueued = 0
    for row in owed:  # saq ignores a key it still holds: a trigger still waiting is not doubled
        enqueued += await dispatch.enqueue_follow_up(row["id"], row["follow_up"], row["starts_at"])
    return enqueued


async def _raise_overdue_alarm(row: Dispatch, now: datetime) -> int:
    """Tell the app's admins once per row (the row remembers it)."""
    claimed = (
        await Dispatch.update({Dispatch.overdue_notified_at: now})
        .where((Dispatch.id == row.id) & Dispatch.overdue_notified_at.is_null())
        .returning(Dispatch.id)
    )
    if not claimed:
        return 0
    booking = await Booking.objects().get(Booking.id == row.booking)
    if booking is None:
        return 0
    late = int((now - row.next_attempt_at).total_seconds())
    admins = await Membership.select(Membership.user).where(
        (Membership.app == booking.app) & (Membership.role == Role.admin)
    )
    for admin in admins:
        tz = await notifications.viewer_timezone(admin["user"])
        notice = await notifications.notify(
            admin["user"],
            kind="dispatch_overdue",
            text=(
                f"The Genesys pre-meeting message for the meeting with {booking.guest_name} on "
                f"{localtime(booking.scheduled_at, tz, '%a %d %b at %H:%M')} ({tz}) is {late} s overdue; "
                "Punctual is sending it now. Check that the worker is running."
            ),
            link=dispatch.booking_link(booking.id),
            app_id=booking.app,
            now=now,
        )
        await notifications.announce(notice)
    return 1
