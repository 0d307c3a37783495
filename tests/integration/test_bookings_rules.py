"""Lifecycle rules that cut across changes: planners run inside the booking's transaction, and
times stay right across DST changes and working hours kept in another zone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fixtures.scheduling import at_local, create_tenant, next_workday, tenant, workday_slot  # noqa: F401
from web.db.tables import Booking, BookingEvent, Notification, WorkingHours
from web.scheduling import bookings, hooks
from web.scheduling.bookings import NewBooking, SlotUnavailable
from web.scheduling.hooks import Actor
from web.scheduling.timeline import describe
from web.scheduling.timeutil import zone

ADMIN = Actor("admin", "1")
API = Actor("api", "client_abc")


@pytest.fixture
def planner_slot():
    """Register a planner for one test only."""
    added = []

    def register(planner):
        hooks.register_planner(planner)
        added.append(planner)
        return planner

    yield register
    for planner in added:
        hooks._planners.remove(planner)


def booking_data(tenant, start, **kwargs):
    return NewBooking(
        guest_name="Grace",
        guest_email="g@example.com",
        scheduled_at=start,
        assigned_agent_id=tenant.agent.id,
        **kwargs,
    )


async def test_a_failing_planner_rolls_the_booking_back(tenant, clock, planner_slot):
    @planner_slot
    async def write_then_fail(change):
        await Notification(recipient=tenant.agent.id, kind="test", text=f"planned {change.kind}").save()
        raise RuntimeError("planner broke")

    with pytest.raises(RuntimeError, match="planner broke"):
        await bookings.create(
            tenant.app_id, booking_data(tenant, workday_slot(clock.now())), ADMIN, now=clock.now()
        )
    # Neither the booking, its event nor the planner's own row survived: one transaction.
    assert await Booking.count() == 0
    assert await BookingEvent.count() == 0
    assert await Notification.count() == 0


async def test_a_failing_planner_rolls_a_change_back(tenant, clock, planner_slot):
    booking = await bookings.create(
        tenant.app_id, booking_data(tenant, workday_slot(clock.now())), ADMIN, now=clock.now()
    )

    @planner_slot
    async def fail_on_cancel(change):
        if change.kind == "cancelled":
            raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        await bookings.cancel(booking.id, ADMIN, now=clock.now())
    stored = await bookings.get(booking.id)
    assert (stored.status, stored.version) == ("scheduled", 1)
    assert [e.event_type for e in await bookings.timeline(booking.id)] == ["created"]


async def test_planners_see_each_change_and_callbacks_run_after_commit(tenant, clock, planner_slot):
    seen = []
    committed = []

    @planner_slot
    async def watch(change):
        seen.append((change.kind, change.actor.type, dict(change.before), change.preset is not None))

        async def after():
            # Runs after the commit: the change is visible to a fresh query.
            row = await Booking.select(Booking.version).where(Booking.id == change.booking.id).first()
            committed.append(row["version"])

        return [after]

    start = workday_slot(clock.now(), 10)
    booking = await bookings.create(tenant.app_id, booking_data(tenant, start), ADMIN, now=clock.now())
    await bookings.reschedule(booking.id, start + timedelta(hours=2), ADMIN, now=clock.now())
    await bookings.reassign(booking.id, tenant.other_agent.id, ADMIN, now=clock.now())
    await bookings.cancel(booking.id, ADMIN, now=clock.now())
    assert [s[0] for s in seen] == ["created", "rescheduled", "reassigned", "cancelled"]
    assert seen[1][2] == {"scheduled_at": start}
    assert seen[2][2] == {"assigned_agent": tenant.agent.id}
    assert seen[3][2] == {"status": "scheduled"}
    assert all(s[3] for s in seen)
    assert committed == [1, 2, 3, 4]


def _next_dst_change(now, tz_name):
    """The first local date after `now` whose UTC offset differs from the day before."""
    tz = zone(tz_name)
    day = now.astimezone(tz).date() + timedelta(days=2)
    while True:
        before = at_local(day - timedelta(days=1), 12, tz=tz_name).astimezone(tz).utcoffset()
        if at_local(day, 12, tz=tz_name).astimezone(tz).utcoffset() != before:
            return day
        day += timedelta(days=1)


async def test_bookings_across_a_dst_change_keep_their_local_time(app, clock):
    tenant = await create_tenant(timezone="America/New_York")
    change_day = _next_dst_change(clock.now(), "America/New_York")
    before_day = change_day - timedelta(days=3)
    while before_day.weekday() >= 5:
        before_day -= timedelta(days=1)
    after_day = next_workday(
        at_local(change_day, 12, tz="America/New_York"), days_ahead=1, tz="America/New_York"
    )
    created = []
    for day in (before_day, after_day):
        start = at_local(day, 9, tz="America/New_York")
        created.append(
            await bookings.create(tenant.app_id, booking_data(tenant, start), ADMIN, now=clock.now())
        )
    utc_hours = {b.scheduled_at.hour for b in created}
    assert len(utc_hours) == 2  # the UTC hour moved with the offset ...
    for booking in created:  # ... and the local time did not
        assert booking.scheduled_at.astimezone(zone("America/New_York")).hour == 9
        [event] = await bookings.timeline(booking.id)
        assert ", 09:00 (America/New_York)" in describe(event, "America/New_York")
    # Working hours (08:00-18:00 local) follow the local clock on both sides of the change.
    for day in (before_day, after_day):
        with pytest.raises(SlotUnavailable):
            await bookings.create(
                tenant.app_id,
                booking_data(tenant, at_local(day, 7, 30, tz="America/New_York")),
                ADMIN,
                now=clock.now(),
            )
        late = await bookings.create(
            tenant.app_id,
            booking_data(tenant, at_local(day, 17, 30, tz="America/New_York")),
            ADMIN,
            now=clock.now(),
        )
        assert late.scheduled_at.astimezone(zone("America/New_York")).hour == 17


async def test_working_hours_in_another_zone_than_the_app(tenant, clock):
    # Ana works 09:00-17:00 Madrid time while the app and its bookings speak Bogota time.
    await WorkingHours.update(
        {WorkingHours.timezone: "Europe/Madrid", WorkingHours.start: "09:00", WorkingHours.end: "17:00"}
    ).where(WorkingHours.user == tenant.agent.id)
    day = next_workday(clock.now(), days_ahead=2)
    madrid = zone("Europe/Madrid")
    early = at_local(day, 5)  # 05:00 Bogota
    assert 9 <= early.astimezone(madrid).hour < 17
    booking = await bookings.create(tenant.app_id, booking_data(tenant, early), ADMIN, now=clock.now())
    assert booking.scheduled_at == early
    late = at_local(day, 12)  # 12:00 Bogota is evening in Madrid
    assert late.astimezone(madrid).hour >= 17
    with pytest.raises(SlotUnavailable, match="working hours"):
        await bookings.create(tenant.app_id, booking_data(tenant, late), ADMIN, now=clock.now())


async def test_free_slots_leave_out_booked_time_with_buffers_and_dnd(tenant, clock):
    from web.db.tables import DndWindow
    from web.scheduling import availability_data

    day_start = workday_slot(clock.now(), 8)
    await bookings.create(
        tenant.app_id,
        booking_data(tenant, workday_slot(clock.now(), 9), buffer_after_minutes=15),
        ADMIN,
        now=clock.now(),
    )
    await DndWindow(
        app=tenant.app_id,
        user=tenant.other_agent.id,
        starts_at=workday_slot(clock.now(), 8),
        ends_at=workday_slot(clock.now(), 9),
    ).save()
    slots = await availability_data.find_slots(
        tenant.app_id, from_utc=day_start, to_utc=day_start + timedelta(hours=3), duration_minutes=30
    )
    by_agent = {}
    for slot in slots:
        by_agent.setdefault(int(slot.agent_id), []).append(slot.start_utc)
    half_hours = [day_start + timedelta(minutes=30 * i) for i in range(6)]
    # Ana: 09:00-09:30 booked, and its 15 min buffer after also rules out 09:30.
    assert by_agent[tenant.agent.id] == [half_hours[0], half_hours[1], half_hours[4], half_hours[5]]
    # Ben: DND from 08:00 to 09:00.
    assert by_agent[tenant.other_agent.id] == half_hours[2:]


async def test_timeline_sentences_name_the_actor_and_local_times(tenant, clock):
    start = workday_slot(clock.now(), 10)
    booking = await bookings.create(tenant.app_id, booking_data(tenant, start), API, now=clock.now())
    await bookings.reschedule(
        booking.id, workday_slot(clock.now(), 11), ADMIN, now=clock.now(), reason="moved"
    )
    await bookings.cancel(booking.id, Actor("customer"), now=clock.now())
    created, moved, cancelled = [describe(e, "America/Bogota") for e in await bookings.timeline(booking.id)]
    assert (
        created.startswith("API client client_abc booked the meeting for")
        and "10:00 (America/Bogota)" in created
    )
    assert "from" in moved and "10:00" in moved and "11:00" in moved and moved.endswith("Reason: moved")
    assert cancelled == "The customer cancelled the meeting."
