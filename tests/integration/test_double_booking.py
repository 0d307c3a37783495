"""Concurrent creates for one agent and slot: exactly one wins, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

from tests.fixtures.scheduling import tenant, workday_slot  # noqa: F401
from web.db.tables import Booking, BookingStatus
from web.scheduling import bookings
from web.scheduling.bookings import NewBooking, SlotUnavailable
from web.scheduling.hooks import Actor

CONCURRENT = 50


async def _attempt(tenant, start, now):
    data = NewBooking(
        guest_name="Racer",
        guest_email="racer@example.com",
        scheduled_at=start,
        assigned_agent_id=tenant.agent.id,
    )
    return await bookings.create(tenant.app_id, data, Actor("api", "client_abc"), now=now)


async def test_fifty_concurrent_creates_for_one_slot_yield_one_booking(tenant, clock):
    start = workday_slot(clock.now(), 10)
    results = await asyncio.gather(
        *[_attempt(tenant, start, clock.now()) for _ in range(CONCURRENT)], return_exceptions=True
    )
    won = [r for r in results if isinstance(r, Booking)]
    lost = [r for r in results if isinstance(r, SlotUnavailable)]
    others = [r for r in results if not isinstance(r, Booking | SlotUnavailable)]
    assert others == []
    assert (len(won), len(lost)) == (1, CONCURRENT - 1)
    stored = await Booking.select().where(Booking.assigned_agent == tenant.agent.id)
    assert len(stored) == 1 and stored[0]["status"] == BookingStatus.scheduled


async def test_concurrent_creates_at_overlapping_minutes_yield_one_booking(tenant, clock):
    # Different start minutes that all overlap one another: the per-agent lock must still serialize them.
    starts = [workday_slot(clock.now(), 10, minute) for minute in range(20)]
    results = await asyncio.gather(
        *[_attempt(tenant, s, clock.now()) for s in starts], return_exceptions=True
    )
    won = [r for r in results if isinstance(r, Booking)]
    assert len(won) == 1
    assert all(isinstance(r, Booking | SlotUnavailable) for r in results)
    assert await Booking.count().where(Booking.assigned_agent == tenant.agent.id) == 1


async def test_concurrent_bookings_by_one_guest_respect_the_rate_limit(tenant, clock):
    from web.db.tables import Preset

    await Preset.update({Preset.booking_rate_limit: 1}).where(Preset.app == tenant.app_id)

    async def attempt(day):
        data = NewBooking(
            guest_name="Eager",
            guest_phone="+573001112233",
            scheduled_at=workday_slot(clock.now(), 10, days_ahead=day),
            assignment_method="round_robin",
            source="public_booking",
        )
        return await bookings.create(tenant.app_id, data, Actor("customer"), now=clock.now())

    results = await asyncio.gather(*[attempt(day) for day in range(1, 11)], return_exceptions=True)
    assert sum(isinstance(r, Booking) for r in results) == 1
    assert sum(isinstance(r, bookings.BookingRateLimited) for r in results) == 9
