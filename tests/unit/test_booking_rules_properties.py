"""Booking rules under random sequences of lifecycle operations, found by hypothesis and shrunk to
the shortest failing sequence. Each example gets a tenant of its own (fresh agents, so no other
example's bookings can clash) in the test's real database, with Genesys dispatch turned on so the
dispatch planner runs inside every change.

After every operation:
- no agent holds two open bookings whose times (buffers included) overlap;
- a booking in a final state never changes again;
- an effective change bumps the version by one and writes exactly its own timeline event (a first
  join also writes `started`); a refused or idle call changes nothing and writes nothing;
- a booking never has more than one live dispatch row, an open one has exactly one at the right
  time, an ended one has none left to send;
- cancel is idempotent: cancelling again returns the booking unchanged and writes no event.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from web import clock
from web.db.tables import (
    FINAL_STATUSES,
    Booking,
    BookingStatus,
    Dispatch,
    DispatchStatus,
    GenesysSettings,
    Membership,
    Preset,
    Role,
    User,
    VideoApp,
)
from web.genesys import settings_store
from web.scheduling import bookings
from web.scheduling.bookings import BookingError, NewBooking
from web.scheduling.hooks import Actor

DISPATCH_MINUTES_BEFORE = 5
SLOTS = 12  # quarter hours: dense enough that most creates and moves collide with something
LATE = timedelta(days=3)  # "now" for joins, no-shows and completions: after every slot
PENDING = (DispatchStatus.scheduled, DispatchStatus.sending, DispatchStatus.failed)
DISPATCH_EVENTS = {"pre_meeting_scheduled", "pre_meeting_cleared", "pre_meeting_dispatched"}


@dataclass
class World:
    app_id: int
    admin: int
    agents: list[int]
    base: datetime  # the first slot
    now: datetime


async def new_world(secret_key: str) -> World:
    """A tenant of this example's own: an admin, two agents with Genesys ids, dispatch on."""
    suffix = uuid.uuid4().hex[:8]
    app = VideoApp(public_id=uuid.uuid4(), name=f"Props {suffix}", timezone="UTC")
    await app.save()
    people = []
    for who in ("admin", "ana", "ben"):
        # No sign-in here, so no real password hash: keeps each example fast.
        user = User(email=f"{who}-{suffix}@example.com", name=who, password_hash="!")
        await user.save()
        people.append(user.id)
    admin, ana, ben = people
    await Membership.insert(
        Membership(app=app.id, user=admin, role=Role.admin, timezone="UTC"),
        Membership(app=app.id, user=ana, role=Role.agent, genesys_user_id=f"g-ana-{suffix}", timezone="UTC"),
        Membership(app=app.id, user=ben, role=Role.agent, genesys_user_id=f"g-ben-{suffix}", timezone="UTC"),
    )
    await Preset(
        app=app.id, genesys_dispatch_enabled=True, dispatch_minutes_before=DISPATCH_MINUTES_BEFORE
    ).save()
    row = await settings_store.save_settings(
        app.id,
        {
            "region": "mypurecloud.com",
            "login_base_url": "http://127.0.0.1:9",
            "api_base_url": "http://127.0.0.1:9",
            "client_id": "client",
            "client_secret": "secret",
            "organization_id": "org",
            "open_messaging_integration_id": "integration",
        },
        secret_key,
    )
    await GenesysSettings.update({GenesysSettings.last_test_ok: True}).where(GenesysSettings.id == row.id)
    now = clock.now()
    base = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    return World(app.id, admin, [ana, ben], base, now)


# --- operations -------------------------------------------------------------------------------------

actors = st.sampled_from(["admin", "agent0", "agent1"])
slots = st.integers(0, SLOTS - 1)
targets = st.integers(0, 5)  # which booking made so far (modulo their number)

operations = st.one_of(
    st.tuples(
        st.just("create"),
        st.sampled_from([0, 1, None]),  # None: the engine picks any free agent
        slots,
        st.sampled_from([15, 30, 45]),
        st.sampled_from([0, 5, 15]),
        st.booleans(),
    ),
    st.tuples(st.just("reschedule"), targets, slots, actors),
    st.tuples(st.just("reassign"), targets, st.integers(0, 1), actors),
    st.tuples(st.just("cancel"), targets, actors),
    st.tuples(st.just("confirm"), targets),
    st.tuples(st.just("update"), targets, st.sampled_from(["Ada", "Grace", "Ada"])),
    st.tuples(st.just("join"), targets, st.sampled_from(["host", "guest"])),
    st.tuples(st.just("no_show"), targets, actors),
    st.tuples(st.just("complete"), targets),
)


def actor_of(world: World, name: str) -> Actor:
    if name == "admin":
        return Actor("admin", str(world.admin))
    return Actor("agent", str(world.agents[int(name[-1])]))


def slot_time(world: World, slot: int) -> datetime:
    return world.base + timedelta(minutes=15 * slot)


async def apply(world: World, op: tuple, booking: Booking | None) -> None:
    """Run one operation; BookingError (a refusal) propagates to the caller."""
    name = op[0]
    if name == "create":
        _, agent, slot, duration, buffer, confirmation = op
        await bookings.create(
            world.app_id,
            NewBooking(
                guest_name="Guest",
                guest_email="guest@example.com",
                scheduled_at=slot_time(world, slot),
                duration_minutes=duration,
                buffer_before_minutes=buffer,
                buffer_after_minutes=buffer,
                assigned_agent_id=None if agent is None else world.agents[agent],
                assignment_method="manual" if agent is not None else "round_robin",
                require_confirmation=confirmation,
                respect_working_hours=False,
            ),
            Actor("admin", str(world.admin)),
            now=world.now,
        )
        return
    assert booking is not None
    late = booking.scheduled_at + LATE
    if name == "reschedule":
        await bookings.reschedule(
            booking.id,
            slot_time(world, op[2]),
            actor_of(world, op[3]),
            now=world.now,
            respect_working_hours=False,
        )
    elif name == "reassign":
        await bookings.reassign(
            booking.id,
            world.agents[op[2]],
            actor_of(world, op[3]),
            now=world.now,
            respect_working_hours=False,
        )
    elif name == "cancel":
        await bookings.cancel(booking.id, actor_of(world, op[2]), now=world.now, reason="changed plans")
    elif name == "confirm":
        await bookings.confirm(booking.id, Actor("customer"), now=world.now)
    elif name == "update":
        await bookings.update_guest(
            booking.id, {"guest_name": op[2]}, Actor("admin", str(world.admin)), now=world.now
        )
    elif name == "join":
        await bookings.record_join(booking.id, op[2], now=late)
    elif name == "no_show":
        await bookings.mark_no_show(booking.id, actor_of(world, op[2]), now=late)
    elif name == "complete":
        await bookings.complete(booking.id, Actor("admin", str(world.admin)), now=late)


EXPECTED_EVENTS = {
    "reschedule": ["rescheduled"],
    "reassign": ["assigned"],
    "cancel": ["cancelled"],
    "confirm": ["confirmed"],
    "update": ["updated"],
    "no_show": ["no_show"],
    "complete": ["completed"],
}


# --- invariants -------------------------------------------------------------------------------------


async def all_bookings(world: World) -> dict[str, Booking]:
    rows = await Booking.objects().where(Booking.app == world.app_id)
    return {str(b.id): b for b in rows}


async def events_by_booking(world: World) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for booking_id in await all_bookings(world):
        found[booking_id] = [e.event_type for e in await bookings.timeline(booking_id)]
    return found


def snapshot(booking: Booking) -> tuple:
    return (
        booking.status,
        booking.version,
        booking.scheduled_at,
        booking.assigned_agent,
        booking.guest_name,
        booking.host_joined_at,
        booking.guest_joined_at,
    )


def assert_no_overlaps(rows: dict[str, Booking], context: str) -> None:
    by_agent: dict[int, list[tuple[datetime, datetime, str]]] = {}
    for b in rows.values():
        if b.status in FINAL_STATUSES or b.assigned_agent is None:
            continue
        start = b.scheduled_at - timedelta(minutes=b.buffer_before_minutes)
        end = b.scheduled_at + timedelta(minutes=b.duration_minutes + b.buffer_after_minutes)
        by_agent.setdefault(b.assigned_agent, []).append((start, end, str(b.id)))
    for agent, spans in by_agent.items():
        spans.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            assert start >= end, f"{context}: agent {agent} double booked by {first} and {second}"


async def assert_dispatch_rows(world: World, rows: dict[str, Booking], context: str) -> None:
    dispatches = await Dispatch.objects().where(
        Dispatch.booking.is_in([b.id for b in rows.values()] or [None])
    )
    live: dict[str, list[Dispatch]] = {}
    for d in dispatches:
        assert (d.live_key is None) == (d.status == DispatchStatus.cleared), (
            f"{context}: {d.status} {d.live_key}"
        )
        if d.live_key is not None:
            assert d.live_key == str(d.booking), context
            live.setdefault(str(d.booking), []).append(d)
    for booking_id, booking in rows.items():
        mine = live.get(booking_id, [])
        assert len(mine) <= 1, f"{context}: {len(mine)} live dispatch rows for {booking_id}"
        if booking.status == BookingStatus.cancelled:
            assert not mine, f"{context}: a cancelled booking keeps a live dispatch"
        elif booking.status in FINAL_STATUSES:
            assert not [d for d in mine if d.status in PENDING], (
                f"{context}: an ended booking would still send"
            )
        elif booking.status != BookingStatus.started:
            # Open, in the future, with an agent who has a Genesys id: exactly one row, on time.
            assert len(mine) == 1, f"{context}: open booking {booking_id} has no dispatch planned"
            due = booking.scheduled_at - timedelta(minutes=DISPATCH_MINUTES_BEFORE)
            assert mine[0].due_at == due, (
                f"{context}: dispatch due {mine[0].due_at}, meeting at {booking.scheduled_at}"
            )


@settings(
    max_examples=35,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=1, max_size=14))
async def test_random_operations_keep_the_booking_rules(app, ops):
    world = await new_world(app.state.settings.secret_key)
    for step, op in enumerate(ops):
        rows_before = await all_bookings(world)
        events_before = await events_by_booking(world)
        ids = sorted(rows_before)  # a stable order: uuid strings
        target = rows_before[ids[op[1] % len(ids)]] if op[0] != "create" and ids else None
        if op[0] != "create" and target is None:
            continue
        context = f"step {step} {op} on {target.status if target else '-'}"
        try:
            await apply(world, op, target)
            error = None
        except BookingError as caught:
            error = caught
        rows_after = await all_bookings(world)
        events_after = await events_by_booking(world)
        context += f" -> {error!r}"

        assert_no_overlaps(rows_after, context)
        await assert_dispatch_rows(world, rows_after, context)

        # Nothing but the target (or the new booking) changed, and no history was rewritten.
        for booking_id, before in rows_before.items():
            assert events_after[booking_id][: len(events_before[booking_id])] == events_before[booking_id]
            if target is None or booking_id != str(target.id):
                assert snapshot(rows_after[booking_id]) == snapshot(before), context
                assert events_after[booking_id] == events_before[booking_id], context

        if op[0] == "create":
            created = set(rows_after) - set(rows_before)
            assert len(created) == (0 if error else 1), context
            for booking_id in created:
                booking = rows_after[booking_id]
                assert booking.version == 1, context
                lifecycle = [e for e in events_after[booking_id] if e not in DISPATCH_EVENTS]
                assert lifecycle == ["created"], context
            continue

        before, after = target, rows_after[str(target.id)]
        new = events_after[str(target.id)][len(events_before[str(target.id)]) :]
        lifecycle = [e for e in new if e not in DISPATCH_EVENTS]
        if before.status in FINAL_STATUSES:
            assert snapshot(after) == snapshot(before), f"{context}: a final booking changed"
            assert new == [], context
            assert error is None or error.code == "final_state", context
        if error is not None or after.version == before.version:
            assert snapshot(after) == snapshot(before), context
            assert new == [], context
        else:
            assert after.version == before.version + 1, context
            if op[0] == "join":
                first = before.status != BookingStatus.started
                assert lifecycle == (["joined", "started"] if first else ["joined"]), context
            else:
                assert lifecycle == EXPECTED_EVENTS[op[0]], context

        if after.status == BookingStatus.cancelled:
            # Idempotent: a second cancel, by anyone, returns the booking as it is.
            again = await bookings.cancel(after.id, Actor("admin", str(world.admin)), now=world.now)
            assert snapshot(again) == snapshot(after), context
            assert [e.event_type for e in await bookings.timeline(after.id)] == events_after[str(after.id)]
