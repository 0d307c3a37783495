"""The no-show sweep: overdue meetings without a guest become no-shows once the grace has passed."""

from __future__ import annotations

from datetime import timedelta

from tasks.lifecycle import mark_no_shows, no_show_sweep
from tasks.worker import cron_jobs
from tests.fixtures.scheduling import tenant, workday_slot  # noqa: F401
from web.db.tables import BookingStatus, Preset
from web.scheduling import bookings
from web.scheduling.bookings import NewBooking
from web.scheduling.hooks import Actor

ADMIN = Actor("admin", "1")


async def book(tenant, clock, hour, **kwargs):
    data = NewBooking(
        guest_name="Grace",
        guest_email="g@example.com",
        scheduled_at=workday_slot(clock.now(), hour),
        assigned_agent_id=tenant.agent.id,
        **kwargs,
    )
    return await bookings.create(tenant.app_id, data, ADMIN, now=clock.now())


def move_to(clock, when):
    clock.advance(seconds=(when - clock.now()).total_seconds())


async def test_no_show_after_the_grace_window_only(tenant, clock):
    waiting = await book(tenant, clock, 10)
    pending = await book(tenant, clock, 11, require_confirmation=True)
    joined = await book(tenant, clock, 12, duration_minutes=30)
    host_only = await book(tenant, clock, 13)

    move_to(clock, joined.scheduled_at)
    await bookings.record_join(joined.id, "guest", now=clock.now())
    move_to(clock, host_only.scheduled_at)
    await bookings.record_join(host_only.id, "host", now=clock.now())

    # 10 minutes of grace (the default): at exactly start + 10 min nothing happens yet.
    move_to(clock, waiting.scheduled_at + timedelta(hours=3, minutes=10))
    assert await mark_no_shows(waiting.scheduled_at + timedelta(minutes=10)) == []
    changed = await mark_no_shows(clock.now())
    assert set(changed) == {str(waiting.id), str(pending.id)}
    for booking in (waiting, pending):
        stored = await bookings.get(booking.id)
        assert stored.status == BookingStatus.no_show
        event = (await bookings.timeline(booking.id))[-1]
        assert (event.event_type, event.actor_type, event.actor_id) == ("no_show", "system", None)
    assert (await bookings.get(joined.id)).status == BookingStatus.started
    assert (await bookings.get(host_only.id)).status == BookingStatus.started
    # Running again changes nothing and writes no second event.
    assert await mark_no_shows(clock.now()) == []
    assert [e.event_type for e in await bookings.timeline(waiting.id)].count("no_show") == 1


async def test_grace_comes_from_the_app_preset(tenant, clock):
    await Preset.update({Preset.no_show_grace_minutes: 30}).where(Preset.app == tenant.app_id)
    booking = await book(tenant, clock, 10)
    assert await mark_no_shows(booking.scheduled_at + timedelta(minutes=20)) == []
    move_to(clock, booking.scheduled_at + timedelta(minutes=31))
    assert await no_show_sweep({}) == 1
    assert (await bookings.get(booking.id)).status == BookingStatus.no_show


async def test_cancelled_and_future_bookings_are_left_alone(tenant, clock):
    cancelled = await book(tenant, clock, 10)
    await bookings.cancel(cancelled.id, ADMIN, now=clock.now())
    future = await book(tenant, clock, 16)
    assert await mark_no_shows(cancelled.scheduled_at + timedelta(hours=1)) == []
    assert (await bookings.get(cancelled.id)).status == BookingStatus.cancelled
    assert (await bookings.get(future.id)).status == BookingStatus.scheduled


def test_the_sweep_runs_every_minute():
    [job] = [c for c in cron_jobs() if c.function is no_show_sweep]
    assert job.cron == "* * * * *" and job.timeout
