"""The booking lifecycle against the real database: creation rules, every change with its
timeline event, and the refusals of final states."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fixtures.scheduling import tenant, workday_slot  # noqa: F401
from web.db.tables import Booking, BookingStatus, Membership, Preset, WorkingHours
from web.scheduling import bookings
from web.scheduling.bookings import (
    BookingNotFound,
    FinalStateError,
    InvalidBooking,
    InvalidTransition,
    NewBooking,
    NotAllowed,
    SchedulingDisabled,
    SlotUnavailable,
)
from web.scheduling.hooks import Actor
from web.scheduling.timeutil import to_iso_z

ADMIN = Actor("admin", "1")
API = Actor("api", "client_abc")
CUSTOMER = Actor("customer", None)


def new(start, agent_id=None, **kwargs) -> NewBooking:
    fields = {"guest_name": "Grace Guest", "guest_phone": "+57 300 123 4567", "scheduled_at": start}
    return NewBooking(**{**fields, "assigned_agent_id": agent_id, **kwargs})


async def make(tenant, clock, hour=10, agent=None, **kwargs):
    agent_id = (agent or tenant.agent).id
    return await bookings.create(
        tenant.app_id, new(workday_slot(clock.now(), hour), agent_id, **kwargs), ADMIN, now=clock.now()
    )


async def test_tenant_fixture_builds_a_working_app(tenant, clock):
    assert await Membership.count().where(Membership.app == tenant.app_id) == 3
    assert await WorkingHours.count().where(WorkingHours.user == tenant.agent.id) == 5
    assert await Preset.exists().where(Preset.app == tenant.app_id)
    assert workday_slot(clock.now()) > clock.now()


# --- create ---


async def test_create_stores_the_booking_with_room_tokens_and_a_created_event(tenant, clock):
    start = workday_slot(clock.now(), 10)
    booking = await bookings.create(
        tenant.app_id,
        new(start, tenant.agent.id, guest_email="grace@example.com", intake_notes="<b>VIP</b> & co"),
        Actor("agent", str(tenant.agent.id)),
        now=clock.now(),
    )
    stored = await bookings.get(booking.id)
    assert stored.status == BookingStatus.scheduled
    assert stored.scheduled_at == start
    assert stored.assigned_agent == tenant.agent.id
    assert stored.duration_minutes == 30 and stored.app_timezone == "America/Bogota"
    assert stored.guest_phone == "+573001234567"
    assert stored.intake_notes == "<b>VIP</b> & co"  # stored as given; templates escape
    assert len({stored.host_token, stored.guest_token, stored.confirm_token}) == 3
    assert len(stored.host_token) >= 32
    assert stored.version == 1
    [event] = await bookings.timeline(booking.id)
    assert (event.event_type, event.actor_type, event.actor_id) == ("created", "agent", str(tenant.agent.id))
    assert event.payload["scheduled_at"] == to_iso_z(start)
    assert event.payload["assigned_agent_id"] == tenant.agent.id


async def test_create_reports_every_invalid_field(tenant, clock):
    data = NewBooking(
        guest_name="  ",
        scheduled_at=clock.now() - timedelta(minutes=1),
        app_timezone="Mars/Olympus",
        guest_timezone="Nowhere",
        duration_minutes=481,
        intake_notes="x" * 5001,
        assigned_agent_id=tenant.admin.id,  # a member, but not an agent
    )
    with pytest.raises(InvalidBooking) as caught:
        await bookings.create(tenant.app_id, data, ADMIN, now=clock.now())
    assert set(caught.value.errors) == {
        "guest_name",
        "guest_phone",
        "guest_email",
        "scheduled_at",
        "app_timezone",
        "guest_timezone",
        "duration_minutes",
        "intake_notes",
        "assigned_agent_id",
    }
    assert await Booking.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("guest_phone", "3001234567"),
        ("guest_phone", "+12"),
        ("guest_email", "not-an-email"),
        ("guest_name", "n" * 201),
        ("duration_minutes", 4),
    ],
)
async def test_create_refuses_a_bad_value(tenant, clock, field, value):
    data = new(workday_slot(clock.now()), tenant.agent.id, **{"guest_email": "ok@example.com", field: value})
    with pytest.raises(InvalidBooking) as caught:
        await bookings.create(tenant.app_id, data, ADMIN, now=clock.now())
    assert field in caught.value.errors


async def test_email_alone_is_enough_contact(tenant, clock):
    data = new(workday_slot(clock.now()), tenant.agent.id, guest_phone=None, guest_email="g@example.com")
    booking = await bookings.create(tenant.app_id, data, ADMIN, now=clock.now())
    assert booking.guest_phone is None and booking.guest_email == "g@example.com"


async def test_scheduling_disabled_refuses_creation(tenant, clock):
    await Preset.update({Preset.scheduling_enabled: False}).where(Preset.app == tenant.app_id)
    with pytest.raises(SchedulingDisabled):
        await make(tenant, clock)


async def test_preset_requiring_confirmation_starts_pending(tenant, clock):
    await Preset.update({Preset.require_confirmation: True}).where(Preset.app == tenant.app_id)
    booking = await make(tenant, clock)
    assert booking.status == BookingStatus.pending_confirmation
    forced = await make(tenant, clock, hour=12, require_confirmation=False)
    assert forced.status == BookingStatus.scheduled


async def test_preset_defaults_fill_duration_and_buffers(tenant, clock):
    await Preset.update(
        {
            Preset.default_duration_minutes: 45,
            Preset.buffer_before_minutes: 5,
            Preset.buffer_after_minutes: 10,
        }
    ).where(Preset.app == tenant.app_id)
    booking = await make(tenant, clock)
    assert (booking.duration_minutes, booking.buffer_before_minutes, booking.buffer_after_minutes) == (
        45,
        5,
        10,
    )


# --- availability on create ---


async def test_overlapping_booking_for_the_same_agent_is_refused(tenant, clock):
    await make(tenant, clock, hour=10)
    with pytest.raises(SlotUnavailable):
        await bookings.create(
            tenant.app_id,
            new(workday_slot(clock.now(), 10, 15), tenant.agent.id),
            ADMIN,
            now=clock.now(),
        )
    # The other agent is free at the same time.
    other = await make(tenant, clock, hour=10, agent=tenant.other_agent)
    assert other.assigned_agent == tenant.other_agent.id


async def test_buffers_keep_bookings_apart_in_both_directions(tenant, clock):
    # 10:00-10:30 with 15 min after: 10:40 is inside its trailing buffer.
    await make(tenant, clock, hour=10, buffer_after_minutes=15)
    with pytest.raises(SlotUnavailable):
        await bookings.create(
            tenant.app_id, new(workday_slot(clock.now(), 10, 40), tenant.agent.id), ADMIN, now=clock.now()
        )
    # A later booking's leading buffer may not reach back into an earlier meeting either.
    with pytest.raises(SlotUnavailable):
        await bookings.create(
            tenant.app_id,
            new(workday_slot(clock.now(), 10, 45), tenant.agent.id, buffer_before_minutes=20),
            ADMIN,
            now=clock.now(),
        )
    ok = await bookings.create(
        tenant.app_id, new(workday_slot(clock.now(), 10, 45), tenant.agent.id), ADMIN, now=clock.now()
    )
    assert ok.status == BookingStatus.scheduled


async def test_outside_working_hours_is_refused_unless_the_console_says_otherwise(tenant, clock):
    with pytest.raises(SlotUnavailable) as caught:
        await make(tenant, clock, hour=19)
    assert "working hours" in caught.value.message
    booking = await make(tenant, clock, hour=19, respect_working_hours=False)
    assert booking.status == BookingStatus.scheduled


async def test_a_cancelled_booking_frees_its_slot(tenant, clock):
    first = await make(tenant, clock, hour=10)
    await bookings.cancel(first.id, ADMIN, now=clock.now())
    second = await make(tenant, clock, hour=10)
    assert second.id != first.id


# --- assignment ---


async def test_round_robin_spreads_bookings_fairly_and_deterministically(tenant, clock):
    picked = []
    for hour in (9, 11, 13, 15):
        booking = await bookings.create(
            tenant.app_id,
            new(
                workday_slot(clock.now(), hour),
                None,
                assignment_method="round_robin",
                source="public_booking",
            ),
            CUSTOMER,
            now=clock.now() + timedelta(seconds=hour),
        )
        assert booking.assignment_method == "round_robin"
        picked.append(booking.assigned_agent)
    first, second = sorted([tenant.agent.id, tenant.other_agent.id], key=str)
    assert picked == [first, second, first, second]


async def test_round_robin_skips_a_busy_agent_and_fails_when_nobody_is_free(tenant, clock):
    await make(tenant, clock, hour=10, agent=tenant.agent)
    booking = await bookings.create(
        tenant.app_id,
        new(workday_slot(clock.now(), 10), None, assignment_method="round_robin"),
        ADMIN,
        now=clock.now(),
    )
    assert booking.assigned_agent == tenant.other_agent.id
    with pytest.raises(SlotUnavailable):
        await bookings.create(
            tenant.app_id,
            new(workday_slot(clock.now(), 10), None, assignment_method="round_robin"),
            ADMIN,
            now=clock.now(),
        )


async def test_pool_booking_goes_to_the_first_agent_who_claims_it(tenant, clock):
    booking = await bookings.create(
        tenant.app_id, new(workday_slot(clock.now()), None, assignment_method="pool"), ADMIN, now=clock.now()
    )
    assert booking.assigned_agent is None and booking.assignment_method == "pool"
    claimed = await bookings.claim(
        booking.id, tenant.agent.id, Actor("agent", str(tenant.agent.id)), now=clock.now()
    )
    assert claimed.assigned_agent == tenant.agent.id
    with pytest.raises(SlotUnavailable):
        await bookings.claim(
            booking.id, tenant.other_agent.id, Actor("agent", str(tenant.other_agent.id)), now=clock.now()
        )
    events = await bookings.timeline(booking.id)
    assert [e.event_type for e in events] == ["created", "assigned"]
    assert events[1].payload == {"from": None, "to": tenant.agent.id, "claimed": True}
    assert (await bookings.get(booking.id)).assigned_agent == tenant.agent.id


async def test_claim_refuses_an_agent_who_is_busy_then(tenant, clock):
    await make(tenant, clock, hour=10, agent=tenant.agent)
    pooled = await bookings.create(
        tenant.app_id,
        new(workday_slot(clock.now(), 10), None, assignment_method="pool"),
        ADMIN,
        now=clock.now(),
    )
    with pytest.raises(SlotUnavailable):
        await bookings.claim(
            pooled.id, tenant.agent.id, Actor("agent", str(tenant.agent.id)), now=clock.now()
        )


# --- rate limit ---


async def test_booking_rate_limit_per_guest_over_a_rolling_day(tenant, clock):
    await Preset.update({Preset.booking_rate_limit: 2}).where(Preset.app == tenant.app_id)
    first_at = clock.now()

    async def book(hour, phone="+57 300 123 4567", source="public_booking"):
        data = new(workday_slot(first_at, hour, days_ahead=3), None, guest_phone=phone, source=source)
        data.assignment_method = "round_robin"
        return await bookings.create(tenant.app_id, data, CUSTOMER, now=clock.now())

    await book(9)
    clock.advance(hours=1)
    await book(10, phone="+573001234567")  # same number, other formatting
    clock.advance(hours=1)
    with pytest.raises(bookings.BookingRateLimited) as caught:
        await book(11)
    assert caught.value.code == "rate_limited"
    assert abs(caught.value.next_allowed_at - (first_at + timedelta(hours=24))) < timedelta(seconds=1)
    await book(11, phone="+573009999999")  # another guest is not affected
    await book(12, source="admin")  # console bookings are not limited
    clock.advance(hours=22, seconds=5)
    await book(13)


# --- changes and their events ---


async def test_reschedule_moves_the_booking_and_keeps_its_links(tenant, clock):
    booking = await make(tenant, clock, hour=10)
    new_start = workday_slot(clock.now(), 14)
    moved = await bookings.reschedule(booking.id, new_start, ADMIN, now=clock.now(), reason="customer asked")
    stored = await bookings.get(booking.id)
    assert stored.scheduled_at == new_start and stored.version == 2
    assert (stored.host_token, stored.guest_token) == (booking.host_token, booking.guest_token)
    assert moved.id == booking.id
    event = (await bookings.timeline(booking.id))[-1]
    assert event.event_type == "rescheduled" and event.actor_type == "admin"
    assert event.payload == {
        "from": to_iso_z(booking.scheduled_at),
        "to": to_iso_z(new_start),
        "reason": "customer asked",
    }


async def test_reschedule_checks_the_new_slot_but_not_against_itself(tenant, clock):
    booking = await make(tenant, clock, hour=10)
    await make(tenant, clock, hour=14)
    with pytest.raises(SlotUnavailable):
        await bookings.reschedule(booking.id, workday_slot(clock.now(), 14, 15), ADMIN, now=clock.now())
    # Shifting by 15 minutes overlaps its own old time, which must not count.
    await bookings.reschedule(booking.id, workday_slot(clock.now(), 10, 15), ADMIN, now=clock.now())
    with pytest.raises(InvalidBooking):
        await bookings.reschedule(booking.id, clock.now() - timedelta(hours=1), ADMIN, now=clock.now())


async def test_reassign_moves_the_booking_to_a_free_agent(tenant, clock):
    booking = await make(tenant, clock, hour=10)
    moved = await bookings.reassign(
        booking.id, tenant.other_agent.id, ADMIN, now=clock.now(), reason="holiday"
    )
    assert moved.assigned_agent == tenant.other_agent.id
    event = (await bookings.timeline(booking.id))[-1]
    assert event.event_type == "assigned"
    assert event.payload == {
        "from": tenant.agent.id,
        "to": tenant.other_agent.id,
        "to_name": "Ben Agent",
        "reason": "holiday",
    }
    # Back to the first agent while they are busy with another booking: refused.
    await make(tenant, clock, hour=10, agent=tenant.agent)
    with pytest.raises(SlotUnavailable):
        await bookings.reassign(booking.id, tenant.agent.id, ADMIN, now=clock.now())
    with pytest.raises(InvalidBooking):
        await bookings.reassign(booking.id, tenant.admin.id, ADMIN, now=clock.now())


async def test_update_guest_records_which_fields_changed(tenant, clock):
    booking = await make(tenant, clock)
    changed = await bookings.update_guest(
        booking.id,
        {"guest_name": "Grace Hopper", "guest_email": "grace@example.com", "intake_notes": "new notes"},
        API,
        now=clock.now(),
        reason="typo",
    )
    assert changed.guest_name == "Grace Hopper" and changed.version == 2
    event = (await bookings.timeline(booking.id))[-1]
    assert (event.event_type, event.actor_type, event.actor_id) == ("updated", "api", "client_abc")
    assert event.payload == {"fields": ["guest_email", "guest_name", "intake_notes"], "reason": "typo"}
    with pytest.raises(InvalidBooking) as caught:
        await bookings.update_guest(
            booking.id, {"guest_phone": None, "guest_email": None}, API, now=clock.now()
        )
    assert "guest_phone" in caught.value.errors
    with pytest.raises(InvalidBooking):
        await bookings.update_guest(booking.id, {"status": "completed"}, API, now=clock.now())


async def test_confirm_moves_pending_to_confirmed_once(tenant, clock):
    booking = await make(tenant, clock, require_confirmation=True)
    confirmed = await bookings.confirm(booking.id, CUSTOMER, now=clock.now())
    assert confirmed.status == BookingStatus.confirmed
    again = await bookings.confirm(booking.id, CUSTOMER, now=clock.now())
    assert again.status == BookingStatus.confirmed
    types = [e.event_type for e in await bookings.timeline(booking.id)]
    assert types == ["created", "confirmed"]


async def test_cancel_is_idempotent(tenant, clock):
    booking = await make(tenant, clock)
    cancelled = await bookings.cancel(booking.id, API, now=clock.now(), reason="no longer needed")
    assert cancelled.status == BookingStatus.cancelled
    assert cancelled.cancelled_at == clock.now() or cancelled.cancelled_at is not None
    assert cancelled.cancellation_reason == "no longer needed"
    again = await bookings.cancel(booking.id, ADMIN, now=clock.now() + timedelta(minutes=5), reason="other")
    assert again.version == cancelled.version and again.cancellation_reason == "no longer needed"
    events = await bookings.timeline(booking.id)
    assert [e.event_type for e in events] == ["created", "cancelled"]
    assert (events[1].actor_type, events[1].payload) == ("api", {"reason": "no longer needed"})


async def test_join_starts_the_meeting_and_the_host_ends_it(tenant, clock):
    booking = await make(tenant, clock)
    clock.advance(seconds=(booking.scheduled_at - clock.now()).total_seconds() - 60)
    started = await bookings.record_join(booking.id, "guest", now=clock.now())
    assert started.status == BookingStatus.started and started.guest_joined_at is not None
    again = await bookings.record_join(booking.id, "guest", now=clock.now())
    assert again.version == started.version
    await bookings.record_join(booking.id, "host", now=clock.now())
    done = await bookings.complete(booking.id, Actor("agent", str(tenant.agent.id)), now=clock.now())
    assert done.status == BookingStatus.completed and done.ended_at is not None
    events = await bookings.timeline(booking.id)
    assert [(e.event_type, e.actor_type) for e in events] == [
        ("created", "admin"),
        ("joined", "customer"),
        ("started", "customer"),
        ("joined", "agent"),
        ("completed", "agent"),
    ]
    assert events[1].payload == {"role": "guest"}


async def test_mark_no_show_after_the_start_only(tenant, clock):
    booking = await make(tenant, clock)
    agent = Actor("agent", str(tenant.agent.id))
    with pytest.raises(InvalidTransition):
        await bookings.mark_no_show(booking.id, agent, now=clock.now())
    after_start = booking.scheduled_at + timedelta(minutes=3)
    with pytest.raises(NotAllowed):
        await bookings.mark_no_show(booking.id, API, now=after_start)
    marked = await bookings.mark_no_show(booking.id, agent, now=after_start)
    assert marked.status == BookingStatus.no_show
    assert [e.event_type for e in await bookings.timeline(booking.id)][-1] == "no_show"


async def test_complete_requires_a_started_meeting(tenant, clock):
    booking = await make(tenant, clock)
    with pytest.raises(InvalidTransition):
        await bookings.complete(booking.id, ADMIN, now=clock.now())


# --- final states refuse every change ---


async def _in_final_state(tenant, clock, status):
    booking = await make(tenant, clock)
    if status == BookingStatus.cancelled:
        return await bookings.cancel(booking.id, ADMIN, now=clock.now())
    if status == BookingStatus.no_show:
        return await bookings.mark_no_show(
            booking.id, ADMIN, now=booking.scheduled_at + timedelta(minutes=11)
        )
    await bookings.record_join(booking.id, "host", now=clock.now())
    return await bookings.complete(booking.id, ADMIN, now=clock.now())


@pytest.mark.parametrize("status", [BookingStatus.cancelled, BookingStatus.completed, BookingStatus.no_show])
async def test_final_states_refuse_changes(tenant, clock, status):
    booking = await _in_final_state(tenant, clock, status)
    assert booking.status == status
    version = (await bookings.get(booking.id)).version
    later = workday_slot(clock.now(), 15)
    attempts = [
        bookings.reschedule(booking.id, later, ADMIN, now=clock.now()),
        bookings.reassign(booking.id, tenant.other_agent.id, ADMIN, now=clock.now()),
        bookings.update_guest(booking.id, {"guest_name": "X"}, ADMIN, now=clock.now()),
        bookings.confirm(booking.id, ADMIN, now=clock.now()),
        bookings.record_join(booking.id, "guest", now=clock.now()),
        bookings.claim(booking.id, tenant.other_agent.id, ADMIN, now=clock.now()),
    ]
    if status != BookingStatus.cancelled:
        attempts.append(bookings.cancel(booking.id, ADMIN, now=clock.now()))
    if status != BookingStatus.no_show:
        attempts.append(
            bookings.mark_no_show(booking.id, ADMIN, now=booking.scheduled_at + timedelta(hours=1))
        )
    if status != BookingStatus.completed:
        attempts.append(bookings.complete(booking.id, ADMIN, now=clock.now()))
    for attempt in attempts:
        with pytest.raises(FinalStateError) as caught:
            await attempt
        assert caught.value.code == "final_state"
    stored = await bookings.get(booking.id)
    assert (stored.status, stored.version) == (status, version)


# --- who may do what ---


async def test_customer_toggles_and_agent_ownership(tenant, clock):
    booking = await make(tenant, clock)
    await Preset.update({Preset.customer_may_reschedule: False, Preset.customer_may_cancel: False}).where(
        Preset.app == tenant.app_id
    )
    with pytest.raises(NotAllowed):
        await bookings.reschedule(booking.id, workday_slot(clock.now(), 15), CUSTOMER, now=clock.now())
    with pytest.raises(NotAllowed):
        await bookings.cancel(booking.id, CUSTOMER, now=clock.now())
    with pytest.raises(NotAllowed):
        await bookings.reassign(booking.id, tenant.other_agent.id, CUSTOMER, now=clock.now())
    with pytest.raises(NotAllowed):
        await bookings.cancel(booking.id, Actor("agent", str(tenant.other_agent.id)), now=clock.now())
    own = await bookings.cancel(booking.id, Actor("agent", str(tenant.agent.id)), now=clock.now())
    assert own.status == BookingStatus.cancelled


async def test_unknown_booking_is_not_found(tenant, clock):
    with pytest.raises(BookingNotFound):
        await bookings.cancel("00000000-0000-4000-8000-000000000000", ADMIN, now=clock.now())
    with pytest.raises(BookingNotFound):
        await bookings.cancel("not-a-uuid", ADMIN, now=clock.now())
    assert await bookings.get("not-a-uuid") is None


async def test_events_written_at_one_instant_keep_their_order(tenant, clock):
    from web.scheduling import timeline

    booking = await make(tenant, clock, hour=10)
    at = clock.now()  # the `created` event was written at an earlier instant of the same clock
    for reason in ("first", "second", "third"):
        await timeline.record(booking.id, "updated", ADMIN, {"fields": ["guest_name"], "reason": reason}, at)

    events = await bookings.timeline(booking.id)
    assert [e.payload.get("reason") for e in events[-3:]] == ["first", "second", "third"]
    times = [e.created_at for e in events]
    assert times == sorted(times) and len(set(times)) == len(times)
