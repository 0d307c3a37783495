"""Properties of the booking lifecycle over random sequences of actions (seeded, so a failure
replays): final states absorb everything, every change bumps the version by one and writes its
events, and the timeline only ever grows, in order."""

from __future__ import annotations

import random
from datetime import timedelta

from tests.fixtures.scheduling import tenant, workday_slot  # noqa: F401
from web.db.tables import FINAL_STATUSES, BookingStatus
from web.scheduling import bookings
from web.scheduling.bookings import BookingError, NewBooking
from web.scheduling.hooks import Actor

SEQUENCES = 40
STEPS = 8

# Status changes the lifecycle may make, and nothing else.
ALLOWED = {
    (BookingStatus.scheduled, BookingStatus.started),
    (BookingStatus.scheduled, BookingStatus.cancelled),
    (BookingStatus.scheduled, BookingStatus.no_show),
    (BookingStatus.pending_confirmation, BookingStatus.confirmed),
    (BookingStatus.pending_confirmation, BookingStatus.started),
    (BookingStatus.pending_confirmation, BookingStatus.cancelled),
    (BookingStatus.pending_confirmation, BookingStatus.no_show),
    (BookingStatus.confirmed, BookingStatus.started),
    (BookingStatus.confirmed, BookingStatus.cancelled),
    (BookingStatus.confirmed, BookingStatus.no_show),
    (BookingStatus.started, BookingStatus.completed),
    (BookingStatus.started, BookingStatus.no_show),
}


def _actions(tenant, booking, rng, now):
    admin = Actor("admin", str(tenant.admin.id))
    later = booking.scheduled_at + timedelta(minutes=rng.choice([-120, 30, 60, 90]))
    after_start = booking.scheduled_at + timedelta(minutes=15)
    other = rng.choice([tenant.agent.id, tenant.other_agent.id])
    return {
        "reschedule": lambda: bookings.reschedule(booking.id, later, admin, now=now),
        "reassign": lambda: bookings.reassign(booking.id, other, admin, now=now),
        "update": lambda: bookings.update_guest(
            booking.id, {"guest_name": f"G{rng.random()}"}, admin, now=now
        ),
        "confirm": lambda: bookings.confirm(booking.id, Actor("customer"), now=now),
        "cancel": lambda: bookings.cancel(booking.id, admin, now=now),
        "join_guest": lambda: bookings.record_join(booking.id, "guest", now=now),
        "join_host": lambda: bookings.record_join(booking.id, "host", now=now),
        "complete": lambda: bookings.complete(booking.id, admin, now=now),
        "no_show": lambda: bookings.mark_no_show(booking.id, admin, now=after_start),
    }


async def test_random_action_sequences_keep_the_lifecycle_invariants(tenant, clock):
    rng = random.Random(20261124)
    now = clock.now()
    reached = set()
    for sequence in range(SEQUENCES):
        start = workday_slot(now, 8 + sequence % 8, 15 * (sequence // 8 % 4), days_ahead=2 + sequence)
        booking = await bookings.create(
            tenant.app_id,
            NewBooking(
                guest_name="Guest",
                guest_email="g@example.com",
                scheduled_at=start,
                assigned_agent_id=tenant.agent.id,
                require_confirmation=rng.random() < 0.5,
                respect_working_hours=False,
            ),
            Actor("admin", str(tenant.admin.id)),
            now=now,
        )
        for _ in range(STEPS):
            before = await bookings.get(booking.id)
            events_before = await bookings.timeline(booking.id)
            name = rng.choice(sorted(_actions(tenant, before, rng, now)))
            try:
                await _actions(tenant, before, rng, now)[name]()
                error = None
            except BookingError as caught:
                error = caught
            after = await bookings.get(booking.id)
            events_after = await bookings.timeline(booking.id)
            context = f"sequence {sequence}, {name} on {before.status}: {error!r}"

            # The timeline only grows, keeps its past and stays in time order.
            assert [e.id for e in events_after[: len(events_before)]] == [e.id for e in events_before], (
                context
            )
            stamps = [e.created_at for e in events_after]
            assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), context
            new_events = events_after[len(events_before) :]

            if error is not None or after.version == before.version:
                # Refused or nothing to do: nothing at all changed.
                assert new_events == [], context
                assert (after.status, after.version, after.scheduled_at) == (
                    before.status,
                    before.version,
                    before.scheduled_at,
                ), context
            else:
                assert after.version == before.version + 1, context
                assert new_events, context
            if before.status in FINAL_STATUSES:
                # Absorbing: refused as final, or an idempotent repeat that changes nothing.
                assert after.status == before.status and after.version == before.version, context
                assert error is None or error.code == "final_state", context
            reached.add(after.status)
            if after.status != before.status:
                assert (before.status, after.status) in ALLOWED, context
            # Room links never change.
            assert (after.host_token, after.guest_token) == (booking.host_token, booking.guest_token), context
    # The walk must actually have explored the lifecycle for the checks above to mean anything.
    assert FINAL_STATUSES | {BookingStatus.started, BookingStatus.confirmed} <= reached
