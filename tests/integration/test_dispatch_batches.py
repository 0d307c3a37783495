"""Rows due together go out together: one shared trigger per second claims them in batches, sends
each exactly once, waits for rows planned later in its second, and a row whose second's trigger is
already running gets a trigger of its own. Against the simulator over HTTP, real Redis."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime

from saq import Status

from tests.fixtures.dispatch import (  # noqa: F401
    INBOUND,
    book,
    dispatch_deps,
    enable_dispatch,
    events,
    planned_booking,
)
from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant, tenant  # noqa: F401
from web.db.tables import Dispatch, DispatchStatus
from web.scheduling import bookings, dispatch, dispatch_send
from web.scheduling.hooks import Actor

Outcome = dispatch_send.Outcome


async def six_due_bookings(tenant, clock) -> list:
    """Six meetings inside a two-hour dispatch window: every dispatch is due as soon as it is planned."""
    await enable_dispatch(tenant, clock, dispatch_minutes_before=120)
    made = []
    for minutes in (10, 55, 100):
        for agent in tenant.agents:
            made.append(await book(tenant, clock, minutes_ahead=minutes, agent=agent))
    return made


async def one_planned(tenant, clock):
    """A meeting an hour ahead whose dispatch goes 5 minutes before: the booking and its row."""
    booking = await planned_booking(tenant, clock, minutes_ahead=60)
    return booking, await dispatch.live_row(booking.id)


async def test_one_runner_sends_every_due_row_once(genesys_tenant, genesys_sim, dispatch_deps, clock):
    made = await six_due_bookings(genesys_tenant, clock)
    clock.advance(seconds=2)

    assert await dispatch_send.send_due(dispatch_deps) == {Outcome.DISPATCHED: 6}
    assert await dispatch_send.send_due(dispatch_deps) == {}

    for booking in made:
        [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
        row = await Dispatch.objects().get(Dispatch.booking == booking.id)
        assert (row.status, row.conversation_id, row.attempts) == (
            DispatchStatus.dispatched,
            conversation["id"],
            1,
        )
        assert len(await events(booking, "pre_meeting_dispatched")) == 1
    assert len(genesys_sim.inbound_messages()) == 6


async def test_concurrent_runners_never_send_a_row_twice(genesys_tenant, genesys_sim, dispatch_deps, clock):
    made = await six_due_bookings(genesys_tenant, clock)
    clock.advance(seconds=2)

    tallies = await asyncio.gather(*(dispatch_send.send_due(dispatch_deps) for _ in range(3)))

    assert sum(sum(t.values()) for t in tallies) == 6
    assert len(genesys_sim.inbound_messages()) == 6
    for booking in made:
        assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1


async def test_a_cancelled_booking_is_not_claimed(genesys_tenant, genesys_sim, dispatch_deps, clock):
    kept, cancelled = (await six_due_bookings(genesys_tenant, clock))[:2]
    await bookings.cancel(cancelled.id, Actor("admin", "1"), now=clock.now())
    clock.advance(seconds=2)

    assert (await dispatch_send.send_due(dispatch_deps))[Outcome.DISPATCHED] == 5
    assert genesys_sim.conversations(f"booking-{cancelled.id}") == []
    assert len(genesys_sim.conversations(f"booking-{kept.id}")) == 1


async def test_the_shared_trigger_waits_for_a_row_later_in_its_second(
    genesys_tenant, genesys_sim, dispatch_deps, clock
):
    booking, row = await one_planned(genesys_tenant, clock)
    # Half a second before the row's time; the trigger runs until the end of that second.
    clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds() - 0.5)
    until = datetime.fromtimestamp(math.floor(row.next_attempt_at.timestamp()) + 1, UTC)

    assert await dispatch_send.send_due(dispatch_deps, until) == {Outcome.DISPATCHED: 1}

    sent = await Dispatch.objects().get(Dispatch.id == row.id)
    assert sent.dispatched_at >= row.next_attempt_at  # never before its planned time
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1


async def test_a_row_gets_its_own_trigger_when_its_seconds_trigger_is_running(
    app, genesys_tenant, dispatch_deps, clock
):
    _, row = await one_planned(genesys_tenant, clock)
    queue = app.state.queue
    shared = await queue.job(dispatch.due_key(row.next_attempt_at))
    assert shared is not None and shared.status == Status.QUEUED
    own = dispatch.send_key(row.id, row.version)

    # Waiting: it will see the row when it runs, so no second trigger.
    assert await dispatch.enqueue_due(row.next_attempt_at, [(row.id, row.version, 0)])
    assert await queue.job(own) is None

    # Running: it may have looked before this row existed, so the row gets its own trigger.
    await shared.update(status=Status.ACTIVE)
    assert await dispatch.enqueue_due(row.next_attempt_at, [(row.id, row.version, 0)])
    assert await queue.job(own) is not None


async def test_a_retry_waits_for_its_time_and_then_goes(genesys_tenant, genesys_sim, dispatch_deps, clock):
    booking, row = await one_planned(genesys_tenant, clock)
    clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
    # Retry-After keeps the backoff above 30 s: the jitter alone may land within this second.
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="unavailable", times=1, retry_after=30)

    assert await dispatch_send.send_due(dispatch_deps) == {Outcome.RETRY: 1}
    retry = await dispatch.live_row(booking.id)
    assert retry.status == DispatchStatus.scheduled and retry.attempts == 1
    assert await dispatch_send.send_due(dispatch_deps) == {}  # not before its backoff

    clock.advance(seconds=(retry.next_attempt_at - clock.now()).total_seconds())
    assert await dispatch_send.send_due(dispatch_deps) == {Outcome.DISPATCHED: 1}
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1


async def test_a_claim_takes_no_more_rows_than_asked(genesys_tenant, clock):
    await six_due_bookings(genesys_tenant, clock)
    clock.advance(seconds=2)

    assert len(await dispatch_send._claim_due(clock.now(), 2)) == 2
    sending = await Dispatch.count().where(Dispatch.status == DispatchStatus.sending)
    assert sending == 2
