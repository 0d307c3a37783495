"""What every reliability case needs: a Genesys-provisioned tenant with enough agents for meetings
at the same minute, bookings whose pre-meeting message falls due within seconds of real time (the
worker subprocess runs on the real clock), and the checks for "delivered exactly once" and "failed
visibly exactly once"."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from simulators.genesys.fixture import ANA_ID, BEN_ID, CLEO_ID
from tests.fixtures.genesys_sim import GenesysSim
from tests.fixtures.scheduling import new_user
from tests.fixtures.whatsapp_sim import WhatsAppSim
from web import clock
from web.db.tables import (
    Booking,
    BookingEvent,
    Dispatch,
    DispatchStatus,
    Membership,
    Notification,
    Reminder,
    ReminderStatus,
    Role,
)
from web.scheduling import bookings, presets
from web.scheduling.hooks import Actor

ADMIN = Actor("admin", "1")
INBOUND = r"/inbound/open/message"
# Long enough that a fresh worker process is up and the trigger is in Redis before anything is due.
DEFAULT_DUE_IN_SECONDS = 6.0
REMINDER_MINUTES_BEFORE = 15


async def eventually(condition: Callable[[], Awaitable[object]], timeout: float, what: str):
    """Await `condition()` until it is truthy (the event loop keeps running meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)


async def add_agents(tenant, count: int) -> list[int]:
    """`count` more agents of the app, routed to the simulator's three Genesys users in turn (one
    agent cannot hold two meetings at once, so same-minute meetings need as many agents)."""
    genesys_ids = [ANA_ID, BEN_ID, CLEO_ID]
    ids = []
    for index in range(count):
        user = await new_user(f"agent{index}-{uuid.uuid4().hex[:6]}@example.com", "agent password 1")
        await Membership(
            app=tenant.app_id,
            user=user.id,
            role=Role.agent,
            genesys_user_id=genesys_ids[index % 3],
            timezone=tenant.timezone,
        ).save()
        ids.append(user.id)
    return ids


async def enable_dispatch(tenant, minutes_before: int = 5, *, remind: bool = False) -> None:
    """Dispatch on; with `remind`, also the WhatsApp reminder that fires at the same moment (the
    15-minute one: `minutes_before` must then be 15) and no other."""
    values = {"genesys_dispatch_enabled": True, "dispatch_minutes_before": minutes_before}
    if remind:
        assert minutes_before == REMINDER_MINUTES_BEFORE
        values["reminders"] = {"reminder_15m": ["whatsapp"]}
    await presets.save_preset(tenant.app_id, values, ADMIN, clock.now())


async def book_due_soon(
    tenant,
    count: int,
    *,
    due_in: float = DEFAULT_DUE_IN_SECONDS,
    minutes_before: int = 5,
    spread: float = 0.5,
    remind: bool = False,
) -> list[Booking]:
    """`count` meetings (one agent each) whose dispatch falls due `due_in` seconds from now, then
    every `spread` seconds; with `remind`, each meeting's WhatsApp reminder falls due with it."""
    if remind:
        minutes_before = REMINDER_MINUTES_BEFORE
    await enable_dispatch(tenant, minutes_before, remind=remind)
    agents = await add_agents(tenant, count)
    now = clock.now()
    made = []
    for index, agent in enumerate(agents):
        start = now + timedelta(minutes=minutes_before, seconds=due_in + index * spread)
        data = bookings.NewBooking(
            guest_name=f"Guest {index}",
            guest_phone=f"+57300{uuid.uuid4().int % 10**7:07d}",  # distinct: messages are counted per number
            scheduled_at=start,
            assigned_agent_id=agent,
            duration_minutes=15,
            buffer_before_minutes=0,
            buffer_after_minutes=0,
            respect_working_hours=False,
        )
        made.append(await bookings.create(tenant.app_id, data, ADMIN, now=clock.now()))
    return made


def sender(booking: Booking) -> str:
    return f"booking-{booking.id}"


def conversations_by_booking(sim: GenesysSim) -> dict[str, int]:
    counts: dict[str, int] = {}
    for conversation in sim.conversations():
        counts[conversation["from_id"]] = counts.get(conversation["from_id"], 0) + 1
    return counts


async def dispatch_rows(made: list[Booking]) -> list[Dispatch]:
    return await Dispatch.objects().where(Dispatch.booking.is_in([b.id for b in made]))


async def events_of(made: list[Booking], event_type: str) -> list[BookingEvent]:
    return await BookingEvent.objects().where(
        BookingEvent.booking.is_in([b.id for b in made]) & (BookingEvent.event_type == event_type)
    )


async def all_settled(made: list[Booking]) -> bool:
    rows = await dispatch_rows(made)
    done = (DispatchStatus.dispatched, DispatchStatus.failed)
    return len(rows) == len(made) and all(r.status in done for r in rows)


async def assert_delivered_exactly_once(sim: GenesysSim, made: list[Booking]) -> None:
    """What Genesys and the agent see: one interaction per meeting, one 'dispatched' line in each
    timeline, no failure anywhere."""
    counts = conversations_by_booking(sim)
    assert {sender(b): counts.get(sender(b), 0) for b in made} == {sender(b): 1 for b in made}
    rows = await dispatch_rows(made)
    assert sorted(r.status for r in rows) == [DispatchStatus.dispatched] * len(made)
    assert all(r.conversation_id for r in rows)
    dispatched = await events_of(made, "pre_meeting_dispatched")
    assert sorted(str(e.booking) for e in dispatched) == sorted(str(b.id) for b in made)
    assert await events_of(made, "pre_meeting_failed") == []


async def assert_failed_visibly_exactly_once(tenant, made: list[Booking]) -> None:
    """The failure path, once per meeting: failed row, one timeline event, one notification to the
    booked agent."""
    rows = await dispatch_rows(made)
    assert sorted(r.status for r in rows) == [DispatchStatus.failed] * len(made)
    failed = await events_of(made, "pre_meeting_failed")
    assert sorted(str(e.booking) for e in failed) == sorted(str(b.id) for b in made)
    assert await events_of(made, "pre_meeting_dispatched") == []
    notices = await Notification.objects().where(Notification.kind == "dispatch_failed")
    assert sorted(n.recipient for n in notices) == sorted(b.assigned_agent for b in made)


async def reminder_rows(made: list[Booking]) -> list[Reminder]:
    return await Reminder.objects().where(Reminder.booking.is_in([b.id for b in made]))


async def all_reminders_settled(made: list[Booking]) -> bool:
    rows = await reminder_rows(made)
    done = (ReminderStatus.sent, ReminderStatus.failed)
    return len(rows) == len(made) and all(r.status in done for r in rows)


async def assert_reminded_exactly_once(sim: WhatsAppSim, made: list[Booking]) -> None:
    """What the customers and the timeline see: one WhatsApp message per meeting, one
    'reminder_sent' line each, no failure."""
    assert {b.guest_phone: len(sim.messages(to=b.guest_phone)) for b in made} == {
        b.guest_phone: 1 for b in made
    }
    rows = await reminder_rows(made)
    assert sorted(r.status for r in rows) == [ReminderStatus.sent] * len(made)
    sent = await events_of(made, "reminder_sent")
    assert sorted(str(e.booking) for e in sent) == sorted(str(b.id) for b in made)
    assert await events_of(made, "reminder_failed") == []
