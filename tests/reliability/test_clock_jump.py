"""The clock jumps forward past several due times (a host resumed from suspend, a corrected clock):
the triggers saq holds still wait for their old wall-clock moment, so the reconciler's next pass
must catch up from the rows. Every due pre-meeting message and reminder goes out exactly once (or,
for the one dispatch Genesys refuses, the failure path runs exactly once); nothing that is not
due yet goes early; the old triggers, when they fire, find nothing left to send."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tasks import reconcile
from tasks import reminders as reminder_sending
from tasks.worker import build_worker
from tests.reliability.scenario import (
    INBOUND,
    all_reminders_settled,
    all_settled,
    assert_delivered_exactly_once,
    assert_failed_visibly_exactly_once,
    assert_reminded_exactly_once,
    book_due_soon,
    conversations_by_booking,
    dispatch_rows,
    eventually,
    reminder_rows,
    sender,
)
from web.db.tables import DispatchStatus, Notification, ReminderStatus
from web.scheduling import dispatch_send

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(45)]

DUE_MEETINGS = 3
# Due 5 minutes from now, then every 15 s; the jump lands 15 s after the last one, so every row
# is overdue (the reconciler takes over) but none by the minute that raises the admins' alarm.
DUE_IN, SPREAD = 300, 15
JUMP_SECONDS = DUE_IN + SPREAD * DUE_MEETINGS


@contextlib.asynccontextmanager
async def in_process_worker(app, settings):
    """The real saq worker on the app's queue, in this loop: it reads the same (jumping) clock."""
    worker = build_worker(settings, app.state.queue, web_app=app)
    task = asyncio.create_task(worker.start())
    try:
        yield worker
    finally:
        await worker.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_clock_jump_past_several_due_times(
    app, settings, reminding_tenant, genesys_sim, whatsapp_sim, deps, clock
):
    due = await book_due_soon(reminding_tenant, DUE_MEETINGS, due_in=DUE_IN, spread=SPREAD, remind=True)
    [later] = await book_due_soon(reminding_tenant, 1, due_in=2 * 3600, remind=True)
    planned = {r.id: r.version for r in [*await dispatch_rows(due), *await reminder_rows(due)]}
    # Genesys refuses the first message it gets for good: that meeting takes the failure path.
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="forbidden", times=1)

    async with in_process_worker(app, settings):
        clock.advance(seconds=JUMP_SECONDS)
        # The reconciler's next beat (the worker's own cron may run one alongside: only one
        # runner ever claims a row).
        await reconcile.reconcile(deps)

        async def settled() -> bool:
            return await all_settled(due) and await all_reminders_settled(due)

        await eventually(settled, 20, "every due message to be sent or to fail")

        rows = {r.booking: r for r in await dispatch_rows(due)}
        [refused] = [b for b in due if rows[b.id].status == DispatchStatus.failed]
        delivered = [b for b in due if b is not refused]
        await assert_delivered_exactly_once(genesys_sim, delivered)
        await assert_failed_visibly_exactly_once(reminding_tenant, [refused])
        assert sender(refused) not in conversations_by_booking(genesys_sim)
        await assert_reminded_exactly_once(whatsapp_sim, due)  # Genesys' refusal changes nothing here
        assert await Notification.objects().where(Notification.kind == "dispatch_overdue") == []

        # The triggers planned before the jump fire at their old wall-clock time: nothing to do.
        for row in await dispatch_rows(due):
            outcome = await dispatch_send.attempt(deps, row.id, planned[row.id])
            assert outcome == dispatch_send.Outcome.STALE
        for row in await reminder_rows(due):
            outcome = await reminder_sending.send_reminder(
                {"whatsapp": app.state.whatsapp, "settings": settings},
                reminder_id=str(row.id),
                version=planned[row.id],
            )
            assert outcome == reminder_sending.Outcome.STALE
        report = await reconcile.reconcile(deps)
        assert not any(report.values()), report  # nothing left to repair

    # The meeting two hours away is untouched: nothing went early.
    [waiting] = await dispatch_rows([later])
    assert (waiting.status, waiting.attempts) == (DispatchStatus.scheduled, 0)
    [reminder] = await reminder_rows([later])
    assert reminder.status == ReminderStatus.pending
    assert sender(later) not in conversations_by_booking(genesys_sim)
    assert whatsapp_sim.messages(to=later.guest_phone) == []
    assert len(whatsapp_sim.messages()) == DUE_MEETINGS
