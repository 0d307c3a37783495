"""Customer reminders over WhatsApp, against the simulator over HTTP: every kind planned with the
booking and sent at its time (the test clock moves), disabled kinds, past kinds, reschedule and
cancel, what the message says, and on-demand reminders."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

import tasks.reminders as sending
from tests.fixtures.whatsapp_sim import reminder_deps, tenant, whatsapp_sim, whatsapp_tenant  # noqa: F401
from web.db.tables import Reminder, ReminderStatus
from web.scheduling import bookings, presets, reminders
from web.scheduling.hooks import Actor
from web.scheduling.timeutil import local_to_utc, zone

ADMIN = Actor("admin", "1")
PHONE = "+573001234567"
ALL_PLANNED = ("invitation", "reminder_24h", "reminder_1h", "reminder_15m")


async def enable(tenant, clock, *kinds: str, channels=("whatsapp",)) -> None:
    values = {"reminders": {kind: list(channels) for kind in kinds}}
    await presets.save_preset(tenant.app_id, values, ADMIN, clock.now())


async def book(tenant, clock, *, hours_ahead: float = 48, start=None, **guest):
    data = bookings.NewBooking(
        guest_name=guest.pop("guest_name", "Jane Doe"),
        guest_phone=guest.pop("guest_phone", PHONE),
        scheduled_at=start or clock.now().replace(microsecond=0) + timedelta(hours=hours_ahead),
        assigned_agent_id=tenant.agent.id,
        respect_working_hours=False,
        **guest,
    )
    return await bookings.create(tenant.app_id, data, ADMIN, now=clock.now())


async def rows(booking, kind: str | None = None) -> list[Reminder]:
    found = await reminders.reminders_of(booking.id)
    return [r for r in found if kind is None or r.kind == kind]


async def the_row(booking, kind: str, status: str = ReminderStatus.pending) -> Reminder:
    [row] = [r for r in await rows(booking, kind) if r.status == status]
    return row


async def fire(deps, clock, row: Reminder) -> str:
    """Move the clock to the row's time and run its trigger, as the worker would."""
    if row.fire_at > clock.now():
        clock.advance(seconds=(row.fire_at - clock.now()).total_seconds())
    return await sending.attempt(deps, row.id, row.version)


async def events(booking, event_type: str):
    return [e for e in await bookings.timeline(booking.id) if e.event_type == event_type]


# --- planning -------------------------------------------------------------------------------------------


async def test_every_enabled_kind_gets_a_pending_row_at_its_time(whatsapp_tenant, clock):
    await enable(whatsapp_tenant, clock, *ALL_PLANNED)
    booked_from = clock.now()
    booking = await book(whatsapp_tenant, clock, hours_ahead=48)
    booked_by = clock.now()

    found = {r.kind: r for r in await rows(booking)}
    assert set(found) == set(ALL_PLANNED)
    assert all(r.status == ReminderStatus.pending and r.channel == "whatsapp" for r in found.values())
    assert all(r.recipient == PHONE for r in found.values())
    assert booked_from <= found["invitation"].fire_at <= booked_by
    start = booking.scheduled_at
    assert found["reminder_24h"].fire_at == start - timedelta(hours=24)
    assert found["reminder_1h"].fire_at == start - timedelta(hours=1)
    assert found["reminder_15m"].fire_at == start - timedelta(minutes=15)


async def test_each_kind_goes_out_at_its_time_and_not_before(
    whatsapp_tenant, whatsapp_sim, reminder_deps, clock
):
    await enable(whatsapp_tenant, clock, *ALL_PLANNED)
    booking = await book(whatsapp_tenant, clock, hours_ahead=48)

    assert await fire(reminder_deps, clock, await the_row(booking, "invitation")) == sending.Outcome.SENT
    assert whatsapp_sim.templates_sent(PHONE) == ["meeting_invitation"]

    for kind in ("reminder_24h", "reminder_1h", "reminder_15m"):
        row = await the_row(booking, kind)
        clock.advance(seconds=(row.fire_at - clock.now()).total_seconds() - 60)
        # A trigger a minute early sends nothing and leaves the row for its time.
        assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.EARLY
        assert len(whatsapp_sim.messages()) == ALL_PLANNED.index(kind)
        assert await fire(reminder_deps, clock, await the_row(booking, kind)) == sending.Outcome.SENT

    assert whatsapp_sim.templates_sent(PHONE) == [
        "meeting_invitation",
        "meeting_reminder_24h",
        "meeting_reminder_1h",
        "meeting_reminder_15m",
    ]
    sent = await rows(booking)
    assert all(r.status == ReminderStatus.sent and r.provider_message_id.startswith("wamid.") for r in sent)
    logged = await events(booking, "reminder_sent")
    assert [e.payload["kind"] for e in logged] == list(ALL_PLANNED)
    assert {e.payload["message_id"] for e in logged} == {m["id"] for m in whatsapp_sim.messages()}


async def test_a_stale_trigger_sends_nothing(whatsapp_tenant, whatsapp_sim, reminder_deps, clock):
    await enable(whatsapp_tenant, clock, "invitation")
    booking = await book(whatsapp_tenant, clock)
    row = await the_row(booking, "invitation")

    assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.SENT
    # The same trigger again (a duplicate delivery), and one for an old version: nothing more.
    assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.STALE
    assert await sending.attempt(reminder_deps, row.id, row.version + 1) == sending.Outcome.STALE
    assert len(whatsapp_sim.messages()) == 1


async def test_kinds_not_enabled_never_create_rows(whatsapp_tenant, whatsapp_sim, reminder_deps, clock):
    await enable(whatsapp_tenant, clock, "reminder_1h")
    booking = await book(whatsapp_tenant, clock, hours_ahead=30)
    later = booking.scheduled_at + timedelta(hours=2)
    await bookings.reschedule(booking.id, later, ADMIN, now=clock.now(), respect_working_hours=False)
    await bookings.cancel(booking.id, ADMIN, now=clock.now())

    found = await rows(booking)
    assert [r.kind for r in found] == ["reminder_1h", "reminder_1h"]
    assert {r.status for r in found} == {ReminderStatus.cancelled}
    assert await events(booking, "reminder_skipped") == []
    assert whatsapp_sim.messages() == []


async def test_a_genesys_tick_is_not_a_whatsapp_reminder(whatsapp_tenant, clock):
    await enable(whatsapp_tenant, clock, "reminder_1h", channels=("genesys",))
    booking = await book(whatsapp_tenant, clock)
    assert await rows(booking) == []


async def test_kinds_already_past_are_skipped_with_an_event(whatsapp_tenant, clock):
    await enable(whatsapp_tenant, clock, "reminder_24h", "reminder_1h", "reminder_15m")
    booking = await book(whatsapp_tenant, clock, hours_ahead=2)

    skipped = await the_row(booking, "reminder_24h", ReminderStatus.skipped)
    assert (await the_row(booking, "reminder_1h")).status == ReminderStatus.pending
    assert (await the_row(booking, "reminder_15m")).status == ReminderStatus.pending
    [event] = await events(booking, "reminder_skipped")
    assert event.payload["kind"] == "reminder_24h"
    assert event.payload["reminder_id"] == str(skipped.id)
    assert "already passed" in event.payload["reason"]
    sentences = [bookings_describe(e) for e in await bookings.timeline(booking.id)]
    assert any("Reminder 'reminder 24h' skipped" in s for s in sentences)


def bookings_describe(event) -> str:
    from web.scheduling.timeline import describe

    return describe(event)


async def test_upcoming_meetings_follow_a_preset_change(whatsapp_tenant, whatsapp_sim, reminder_deps, clock):
    await enable(whatsapp_tenant, clock, "reminder_24h", "reminder_1h")
    later = await book(whatsapp_tenant, clock, hours_ahead=48)
    soon = await book(whatsapp_tenant, clock, hours_ahead=2, guest_phone="+573005550000")
    imminent = await book(whatsapp_tenant, clock, hours_ahead=0.2, guest_phone="+573005551111")
    gone = await book(whatsapp_tenant, clock, hours_ahead=30, guest_phone="+573005552222")
    await bookings.cancel(gone.id, ADMIN, now=clock.now())
    old_24h = await the_row(later, "reminder_24h")
    old_1h = await the_row(later, "reminder_1h")

    await enable(whatsapp_tenant, clock, "reminder_1h", "reminder_15m")  # 24h off, 15m on

    assert (await the_row(later, "reminder_24h", ReminderStatus.cancelled)).id == old_24h.id
    assert (await the_row(later, "reminder_1h")).id == old_1h.id  # untouched
    new_15m = await the_row(later, "reminder_15m")
    assert new_15m.fire_at == later.scheduled_at - timedelta(minutes=15)
    assert (await the_row(soon, "reminder_15m")).fire_at == soon.scheduled_at - timedelta(minutes=15)
    assert (await the_row(soon, "reminder_24h", ReminderStatus.skipped)).kind == "reminder_24h"
    # A kind turned on after its moment, or for a finished booking, plans nothing.
    assert {r.kind for r in await rows(imminent)} == {"reminder_24h", "reminder_1h"}
    assert await rows(gone, "reminder_15m") == []

    # The cancelled row's trigger finds it cancelled; the rest go out at their times.
    clock.advance(seconds=(old_24h.fire_at - clock.now()).total_seconds())
    assert await sending.attempt(reminder_deps, old_24h.id, old_24h.version) == sending.Outcome.STALE
    assert await fire(reminder_deps, clock, await the_row(later, "reminder_1h")) == sending.Outcome.SENT
    assert await fire(reminder_deps, clock, new_15m) == sending.Outcome.SENT
    assert whatsapp_sim.templates_sent(PHONE) == ["meeting_reminder_1h", "meeting_reminder_15m"]


async def test_a_guest_without_phone_gets_skipped_rows(whatsapp_tenant, clock):
    await enable(whatsapp_tenant, clock, "invitation", "reminder_1h")
    booking = await book(whatsapp_tenant, clock, guest_phone=None, guest_email="jane@example.com")

    found = await rows(booking)
    assert {r.status for r in found} == {ReminderStatus.skipped}
    logged = await events(booking, "reminder_skipped")
    assert sorted(e.payload["kind"] for e in logged) == ["invitation", "reminder_1h"]
    assert all(e.payload["reason"] == reminders.NO_PHONE for e in logged)


async def test_a_new_phone_number_takes_the_pending_reminders(
    whatsapp_tenant, whatsapp_sim, reminder_deps, clock
):
    await enable(whatsapp_tenant, clock, "reminder_1h")
    booking = await book(whatsapp_tenant, clock)
    await bookings.update_guest(booking.id, {"guest_phone": "+573009998877"}, ADMIN, now=clock.now())

    assert await fire(reminder_deps, clock, await the_row(booking, "reminder_1h")) == sending.Outcome.SENT
    assert whatsapp_sim.templates_sent("+573009998877") == ["meeting_reminder_1h"]
    assert whatsapp_sim.messages(PHONE) == []


# --- reschedule and cancel ------------------------------------------------------------------------------


async def test_reschedule_cancels_pending_rows_and_plans_for_the_new_time(
    whatsapp_tenant, whatsapp_sim, reminder_deps, clock
):
    await enable(whatsapp_tenant, clock, *ALL_PLANNED)
    booking = await book(whatsapp_tenant, clock, hours_ahead=48)
    await fire(reminder_deps, clock, await the_row(booking, "invitation"))
    old_1h = await the_row(booking, "reminder_1h")
    new_start = booking.scheduled_at + timedelta(days=1, hours=3)

    await bookings.reschedule(booking.id, new_start, ADMIN, now=clock.now(), respect_working_hours=False)

    cancelled = [r for r in await rows(booking) if r.status == ReminderStatus.cancelled]
    assert sorted(r.kind for r in cancelled) == ["reminder_15m", "reminder_1h", "reminder_24h"]
    new_1h = await the_row(booking, "reminder_1h")
    assert new_1h.fire_at == new_start - timedelta(hours=1)
    assert (await the_row(booking, "reminder_24h")).fire_at == new_start - timedelta(hours=24)
    # The old trigger fires at the old time and finds its row cancelled: nothing goes out.
    clock.advance(seconds=(old_1h.fire_at - clock.now()).total_seconds())
    assert await sending.attempt(reminder_deps, old_1h.id, old_1h.version) == sending.Outcome.STALE
    # The new invitation carries the new time, the join link stays the same.
    assert await fire(reminder_deps, clock, await the_row(booking, "invitation")) == sending.Outcome.SENT
    assert await fire(reminder_deps, clock, new_1h) == sending.Outcome.SENT
    first, second, third = whatsapp_sim.messages(PHONE)
    assert [first["template"], second["template"], third["template"]] == [
        "meeting_invitation",
        "meeting_invitation",
        "meeting_reminder_1h",
    ]
    assert first["parameters"][1] != second["parameters"][1] == third["parameters"][1]
    assert first["parameters"][2] == third["parameters"][2]
    assert third["parameters"][2].endswith(f"/rooms/{booking.guest_token}")


async def test_a_move_to_a_near_time_skips_the_kinds_already_past(whatsapp_tenant, clock):
    await enable(whatsapp_tenant, clock, "reminder_24h", "reminder_1h")
    booking = await book(whatsapp_tenant, clock, hours_ahead=48)
    soon = clock.now().replace(microsecond=0) + timedelta(hours=3)
    await bookings.reschedule(booking.id, soon, ADMIN, now=clock.now(), respect_working_hours=False)

    assert (await the_row(booking, "reminder_24h", ReminderStatus.cancelled)).fire_at < booking.scheduled_at
    skipped = await the_row(booking, "reminder_24h", ReminderStatus.skipped)
    assert skipped.fire_at == soon - timedelta(hours=24)
    assert (await the_row(booking, "reminder_1h")).fire_at == soon - timedelta(hours=1)
    [event] = await events(booking, "reminder_skipped")
    assert (event.payload["kind"], event.payload["reason"]) == ("reminder_24h", reminders.TIME_PASSED)


async def test_cancel_cancels_pending_rows_and_sends_the_cancellation(
    whatsapp_tenant, whatsapp_sim, reminder_deps, clock
):
    await enable(whatsapp_tenant, clock, "reminder_24h", "reminder_1h", "cancellation")
    booking = await book(whatsapp_tenant, clock, hours_ahead=48, guest_name="Jane Doe")

    await bookings.cancel(booking.id, ADMIN, now=clock.now(), reason="Agent ill")

    assert {r.status for r in await rows(booking, "reminder_24h") + await rows(booking, "reminder_1h")} == {
        ReminderStatus.cancelled
    }
    notice = await the_row(booking, "cancellation")
    assert notice.fire_at <= clock.now()
    assert await sending.attempt(reminder_deps, notice.id, notice.version) == sending.Outcome.SENT
    [message] = whatsapp_sim.messages(PHONE)
    assert message["template"] == "meeting_cancellation"
    assert message["parameters"][0] == "Jane Doe"
    # Cancelling again changes nothing: no second cancellation.
    await bookings.cancel(booking.id, ADMIN, now=clock.now())
    assert len(await rows(booking, "cancellation")) == 1


async def test_no_cancellation_message_when_that_kind_is_off(whatsapp_tenant, clock):
    await enable(whatsapp_tenant, clock, "reminder_1h")
    booking = await book(whatsapp_tenant, clock)
    await bookings.cancel(booking.id, ADMIN, now=clock.now())
    assert await rows(booking, "cancellation") == []


async def test_a_meeting_that_starts_early_drops_its_timed_reminders(whatsapp_tenant, reminder_deps, clock):
    await enable(whatsapp_tenant, clock, "reminder_15m")
    booking = await book(whatsapp_tenant, clock, hours_ahead=1)
    row = await the_row(booking, "reminder_15m")
    await bookings.record_join(booking.id, "host", now=clock.now())
    assert (await rows(booking))[0].status == ReminderStatus.cancelled
    assert await fire(reminder_deps, clock, row) == sending.Outcome.STALE


# --- what the message says --------------------------------------------------------------------------------


def next_dst_change(now: datetime, tz: str) -> date:
    """The first local date after `now` whose UTC offset differs from the day before."""
    day = now.astimezone(zone(tz)).date() + timedelta(days=2)
    for _ in range(400):
        before = local_to_utc(day, time(12), tz).astimezone(zone(tz)).utcoffset()
        after = local_to_utc(day + timedelta(days=1), time(12), tz).astimezone(zone(tz)).utcoffset()
        if before != after:
            return day + timedelta(days=1)
        day += timedelta(days=1)
    raise AssertionError("no DST change within a year")


async def test_meeting_time_in_the_guest_zone_across_dst(whatsapp_tenant, whatsapp_sim, reminder_deps, clock):
    await enable(whatsapp_tenant, clock, "invitation")
    tz = "Europe/Madrid"
    change = next_dst_change(clock.now(), tz)
    before = local_to_utc(change - timedelta(days=1), time(10), tz).astimezone(UTC)
    after = local_to_utc(change + timedelta(days=1), time(10), tz).astimezone(UTC)
    assert before.hour != after.hour  # the same wall time is another UTC hour across the change

    for start in (before, after):
        booking = await book(whatsapp_tenant, clock, start=start, guest_timezone=tz)
        await fire(reminder_deps, clock, await the_row(booking, "invitation"))

    labels = [m["parameters"][1] for m in whatsapp_sim.messages(PHONE)]
    day_before, day_after = change - timedelta(days=1), change + timedelta(days=1)
    assert labels == [
        f"{day_before:%a} {day_before.day} {day_before:%b %Y}, 10:00 (Europe/Madrid)",
        f"{day_after:%a} {day_after.day} {day_after:%b %Y}, 10:00 (Europe/Madrid)",
    ]


async def test_meeting_time_falls_back_to_the_app_zone(whatsapp_tenant, whatsapp_sim, reminder_deps, clock):
    await enable(whatsapp_tenant, clock, "invitation")
    day = clock.now().date() + timedelta(days=3)
    start = local_to_utc(day, time(9, 30), "America/Bogota").astimezone(UTC)
    booking = await book(whatsapp_tenant, clock, start=start, guest_name="Luis Pérez")
    await fire(reminder_deps, clock, await the_row(booking, "invitation"))

    [message] = whatsapp_sim.messages(PHONE)
    name, when, link = message["parameters"]
    assert name == "Luis Pérez"
    assert when == f"{day:%a} {day.day} {day:%b %Y}, 09:30 (America/Bogota)"
    assert link == f"http://localhost:8000/rooms/{booking.guest_token}"


async def test_a_pending_confirmation_invitation_carries_the_confirm_link(
    whatsapp_tenant, whatsapp_sim, reminder_deps, clock
):
    await enable(whatsapp_tenant, clock, "invitation", "reminder_1h")
    booking = await book(whatsapp_tenant, clock, require_confirmation=True)
    assert booking.status == "pending_confirmation"
    await fire(reminder_deps, clock, await the_row(booking, "invitation"))
    await fire(reminder_deps, clock, await the_row(booking, "reminder_1h"))
    invitation, hour_before = whatsapp_sim.messages(PHONE)
    assert invitation["parameters"][2] == f"http://localhost:8000/confirm/{booking.confirm_token}"
    # The nudge before the start carries the way into the room, confirmed or not.
    assert hour_before["parameters"][2] == f"http://localhost:8000/rooms/{booking.guest_token}"


# --- on demand ----------------------------------------------------------------------------------------------


async def test_a_custom_reminder_goes_out_at_once(whatsapp_tenant, whatsapp_sim, reminder_deps, clock):
    booking = await book(whatsapp_tenant, clock)
    now = clock.now()
    row = await reminders.create_custom_reminder(booking.id, kind="reminder_custom", actor=ADMIN, now=now)
    assert (row.kind, row.status, row.channel, row.fire_at) == ("custom", "pending", "whatsapp", now)

    assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.SENT
    [message] = whatsapp_sim.messages(PHONE)
    assert message["template"] == "meeting_custom"
    assert message["parameters"] == [f"http://localhost:8000/rooms/{booking.guest_token}"]
    [event] = await events(booking, "reminder_sent")
    assert event.payload["kind"] == "custom"


async def test_a_custom_reminder_to_another_recipient(whatsapp_tenant, whatsapp_sim, reminder_deps, clock):
    booking = await book(whatsapp_tenant, clock)
    row = await reminders.create_custom_reminder(
        booking.id, recipient="+1 555 010 9999", actor=ADMIN, now=clock.now()
    )
    await sending.attempt(reminder_deps, row.id, row.version)
    assert whatsapp_sim.templates_sent("+15550109999") == ["meeting_custom"]


async def test_custom_reminder_refusals(whatsapp_tenant, clock):
    booking = await book(whatsapp_tenant, clock)
    with pytest.raises(bookings.InvalidBooking) as bad:
        await reminders.create_custom_reminder(
            booking.id, kind="birthday", channel="fax", actor=ADMIN, now=clock.now()
        )
    assert set(bad.value.errors) == {"kind", "channel"}
    with pytest.raises(bookings.InvalidBooking) as bad:
        await reminders.create_custom_reminder(
            booking.id, recipient="not a phone", actor=ADMIN, now=clock.now()
        )
    assert set(bad.value.errors) == {"recipient"}
    with pytest.raises(bookings.BookingNotFound):
        await reminders.create_custom_reminder(
            "00000000-0000-4000-8000-000000000000", actor=ADMIN, now=clock.now()
        )
    await bookings.cancel(booking.id, ADMIN, now=clock.now())
    with pytest.raises(bookings.FinalStateError):
        await reminders.create_custom_reminder(booking.id, actor=ADMIN, now=clock.now())
    assert await rows(booking, "custom") == []


async def test_a_custom_reminder_on_another_channel_is_recorded_not_sent(
    whatsapp_tenant, whatsapp_sim, clock
):
    booking = await book(whatsapp_tenant, clock)
    row = await reminders.create_custom_reminder(booking.id, channel="genesys", actor=ADMIN, now=clock.now())
    assert row.status == ReminderStatus.skipped
    [event] = await events(booking, "reminder_skipped")
    assert event.payload["channel"] == "genesys"
    assert whatsapp_sim.messages() == []


async def test_conflict_notices_for_the_dnd_prompt(whatsapp_tenant, whatsapp_sim, reminder_deps, clock):
    first = await book(whatsapp_tenant, clock, hours_ahead=30)
    second = await book(whatsapp_tenant, clock, hours_ahead=33, guest_phone="+573005550000")
    # Not enabled in the preset: nothing.
    assert await reminders.create_conflict_notices([first.id, second.id], ADMIN, clock.now()) == 0
    assert await rows(first) == []

    await enable(whatsapp_tenant, clock, "conflict_notice")
    await bookings.cancel(second.id, ADMIN, now=clock.now())
    third = await book(whatsapp_tenant, clock, hours_ahead=36, guest_phone="+573005551111")
    assert await reminders.create_conflict_notices([first.id, second.id, third.id], ADMIN, clock.now()) == 2
    for booking in (first, third):
        row = await the_row(booking, "conflict_notice")
        assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.SENT
    assert whatsapp_sim.templates_sent(PHONE) == ["meeting_conflict_notice"]
    assert whatsapp_sim.templates_sent("+573005551111") == ["meeting_conflict_notice"]
    assert await rows(second, "conflict_notice") == []
