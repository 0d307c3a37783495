"""Pre-meeting dispatch against the Genesys simulator over HTTP: planning with the booking, the
exact open message, routing to the agent, and reschedule / reassign / cancel."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from simulators.genesys.fixture import ANA_ID, BEN_ID
from tests.fixtures.dispatch import (
    ADMIN,
    book,
    dispatch_deps,  # noqa: F401
    enable_dispatch,
    events,
    run_due,
)
from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant, tenant  # noqa: F401
from web.db.tables import BookingEvent, Dispatch, DispatchStatus, Membership
from web.scheduling import bookings, dispatch, dispatch_send, presets
from web.scheduling.timeutil import to_iso_z


async def the_live_row(booking) -> Dispatch:
    row = await dispatch.live_row(booking.id)
    assert row is not None
    return row


def inbound_bodies(sim, booking):
    """The bodies of every inbound open message sent for this booking (each attempt)."""
    sender = f"booking-{booking.id}"
    bodies = [r["body"] for r in sim.inbound_messages() if isinstance(r.get("body"), dict)]
    return [b for b in bodies if b.get("channel", {}).get("from", {}).get("id") == sender]


# --- planning ---------------------------------------------------------------------------------------


async def test_a_booking_plans_one_dispatch_at_start_minus_minutes_before(genesys_tenant, clock):
    await enable_dispatch(genesys_tenant, clock, dispatch_minutes_before=7)
    booking = await book(genesys_tenant, clock)

    row = await the_live_row(booking)
    assert row.status == DispatchStatus.scheduled
    assert row.due_at == booking.scheduled_at - timedelta(minutes=7)
    assert row.due_at - timedelta(seconds=1) < row.next_attempt_at <= row.due_at
    assert row.agent_user_id == ANA_ID
    [planned] = await events(booking, "pre_meeting_scheduled")
    assert planned.payload["due_at"] == to_iso_z(row.due_at)


async def test_no_dispatch_when_the_preset_has_it_off(genesys_tenant, clock):
    booking = await book(genesys_tenant, clock)
    assert await dispatch.live_row(booking.id) is None
    assert (await dispatch.dispatch_state(booking.id)).state == "none"


async def test_no_dispatch_when_genesys_is_not_provisioned(tenant, clock):
    await enable_dispatch(tenant, clock)
    booking = await book(tenant, clock)
    assert await dispatch.live_row(booking.id) is None


async def test_an_agent_without_genesys_id_is_shown_as_not_dispatched(genesys_tenant, clock):
    await Membership.update({Membership.genesys_user_id: None}).where(
        Membership.user == genesys_tenant.agent.id
    )
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)

    assert await dispatch.live_row(booking.id) is None
    state = await dispatch.dispatch_state(booking.id)
    assert state.state == "not_dispatched"
    assert "agent has no Genesys user id" in dispatch.render_banner(booking, state)
    assert await events(booking, "pre_meeting_scheduled") == []


# --- the happy path -----------------------------------------------------------------------------------


async def test_the_dispatch_reaches_the_agent_with_the_exact_payload(
    genesys_tenant,
    genesys_sim,
    dispatch_deps,
    clock,
    settings,
):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock, notes="Wants to talk about <b>the loan</b>")
    row = await the_live_row(booking)

    assert await run_due(dispatch_deps, clock, booking) == dispatch_send.Outcome.DISPATCHED

    [body] = inbound_bodies(genesys_sim, booking)
    channel = body["channel"]
    assert channel["messageId"] == row.message_id
    assert channel["from"] == {"id": f"booking-{booking.id}", "idType": "Opaque", "nickname": "Jane Doe"}
    assert channel["time"].endswith("Z") and len(channel["time"]) == len("2026-01-01T10:00:00.000Z")
    assert channel["metadata"]["customAttributes"] == {
        "bookingId": str(booking.id),
        "agentUserId": ANA_ID,
        "agentEmail": genesys_tenant.agent.email,
        "guestName": "Jane Doe",
        "meetingStartsAt": to_iso_z(booking.scheduled_at),
        "joinUrl": f"{settings.public_url}/rooms/{booking.host_token}",
    }  # intake notes stay out: the preset does not include them
    assert body["text"] == f"Video meeting with Jane Doe at {booking.scheduled_at:%H:%M} UTC — accept to join"

    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
    agent = [p for p in conversation["participants"] if p.get("purpose") == "agent"]
    assert [p.get("userId") for p in agent] == [ANA_ID]

    row = await Dispatch.objects().get(Dispatch.id == row.id)
    assert row.status == DispatchStatus.dispatched
    assert row.conversation_id == conversation["id"]
    [sent] = await events(booking, "pre_meeting_dispatched")
    assert sent.payload["conversation_id"] == conversation["id"]
    assert (await dispatch.booking_for_conversation(conversation["id"])).id == booking.id
    assert (await dispatch.dispatch_state(booking.id)).state == "sent"


async def test_intake_notes_go_as_plain_text_when_the_preset_says_so(
    genesys_tenant,
    genesys_sim,
    dispatch_deps,
    clock,
):
    await enable_dispatch(genesys_tenant, clock, dispatch_include_intake_notes=True)
    notes = 'Ask about <b>the loan</b> & "fees"'
    booking = await book(genesys_tenant, clock, notes=notes, guest="Ana <i>Lucía</i>")

    assert await run_due(dispatch_deps, clock, booking) == dispatch_send.Outcome.DISPATCHED

    [body] = inbound_bodies(genesys_sim, booking)
    attributes = body["channel"]["metadata"]["customAttributes"]
    assert attributes["intakeNotes"] == notes
    assert attributes["guestName"] == "Ana <i>Lucía</i>"
    assert body["channel"]["from"]["nickname"] == "Ana <i>Lucía</i>"


async def test_a_booking_made_inside_the_window_is_sent_at_once(
    genesys_tenant,
    genesys_sim,
    dispatch_deps,
    clock,
):
    await enable_dispatch(genesys_tenant, clock, dispatch_minutes_before=10)
    booking = await book(genesys_tenant, clock, minutes_ahead=4)

    row = await the_live_row(booking)
    assert row.next_attempt_at <= clock.now() + timedelta(seconds=1)
    [planned] = await events(booking, "pre_meeting_scheduled")
    assert planned.payload["late"] is True
    assert await dispatch_send.attempt(dispatch_deps, row.id, row.version) == dispatch_send.Outcome.DISPATCHED
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1


async def test_a_trigger_for_an_old_version_does_nothing(genesys_tenant, genesys_sim, dispatch_deps, clock):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)
    row = await the_live_row(booking)
    assert await run_due(dispatch_deps, clock, booking) == dispatch_send.Outcome.DISPATCHED

    assert await dispatch_send.attempt(dispatch_deps, row.id, row.version) == dispatch_send.Outcome.STALE
    assert len(inbound_bodies(genesys_sim, booking)) == 1


# --- reschedule, reassign, cancel ----------------------------------------------------------------------


async def test_reschedule_gives_one_interaction_for_the_new_time_only(
    genesys_tenant,
    genesys_sim,
    dispatch_deps,
    clock,
):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)
    old = await the_live_row(booking)
    new_start = booking.scheduled_at + timedelta(hours=2)

    await bookings.reschedule(booking.id, new_start, ADMIN, now=clock.now(), respect_working_hours=False)

    new = await the_live_row(booking)
    assert new.id != old.id and new.due_at == new_start - timedelta(minutes=5)
    [cleared] = await events(booking, "pre_meeting_cleared")
    assert cleared.payload["dispatch_id"] == str(old.id)
    # The old trigger fires at the old time: nothing goes out.
    clock.advance(seconds=(old.next_attempt_at - clock.now()).total_seconds())
    assert await dispatch_send.attempt(dispatch_deps, old.id, old.version) == dispatch_send.Outcome.STALE
    assert inbound_bodies(genesys_sim, booking) == []

    assert await run_due(dispatch_deps, clock, booking) == dispatch_send.Outcome.DISPATCHED
    [body] = inbound_bodies(genesys_sim, booking)
    assert body["channel"]["metadata"]["customAttributes"]["meetingStartsAt"] == to_iso_z(new_start)
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1


async def test_concurrent_reschedules_leave_exactly_one_live_row(genesys_tenant, clock):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)
    starts = [booking.scheduled_at + timedelta(hours=h) for h in (1, 2, 3, 4)]

    # Working hours are not the point here (and would make the test depend on the time of day).
    moves = [
        bookings.reschedule(booking.id, s, ADMIN, now=clock.now(), respect_working_hours=False)
        for s in starts
    ]
    results = await asyncio.gather(*moves, return_exceptions=True)

    assert not [r for r in results if isinstance(r, Exception)], results
    final = await bookings.get(booking.id)
    live = await Dispatch.objects().where(
        (Dispatch.booking == booking.id) & (Dispatch.status != DispatchStatus.cleared)
    )
    assert len(live) == 1
    assert live[0].live_key == str(booking.id)
    assert live[0].due_at == final.scheduled_at - timedelta(minutes=5)


async def test_reassign_replans_for_the_new_agent(genesys_tenant, genesys_sim, dispatch_deps, clock):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)

    await bookings.reassign(
        booking.id, genesys_tenant.other_agent.id, ADMIN, now=clock.now(), respect_working_hours=False
    )

    row = await the_live_row(booking)
    assert row.agent_user_id == BEN_ID
    assert await run_due(dispatch_deps, clock, booking) == dispatch_send.Outcome.DISPATCHED
    [body] = inbound_bodies(genesys_sim, booking)
    assert body["channel"]["metadata"]["customAttributes"]["agentUserId"] == BEN_ID
    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
    assert [p.get("userId") for p in conversation["participants"] if p.get("purpose") == "agent"] == [BEN_ID]


async def test_cancel_before_delivery_clears_the_dispatch(genesys_tenant, genesys_sim, dispatch_deps, clock):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)
    row = await the_live_row(booking)

    await bookings.cancel(booking.id, ADMIN, now=clock.now(), reason="customer asked")

    assert await dispatch.live_row(booking.id) is None
    [cleared] = await events(booking, "pre_meeting_cleared")
    assert not cleared.payload.get("follow_up")
    clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
    assert await dispatch_send.attempt(dispatch_deps, row.id, row.version) == dispatch_send.Outcome.STALE
    assert genesys_sim.inbound_messages() == []


async def test_cancel_after_delivery_follows_up_in_the_same_conversation(
    genesys_tenant,
    genesys_sim,
    dispatch_deps,
    clock,
):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)
    row = await the_live_row(booking)
    assert await run_due(dispatch_deps, clock, booking) == dispatch_send.Outcome.DISPATCHED

    await bookings.cancel(booking.id, ADMIN, now=clock.now())
    [cleared] = await events(booking, "pre_meeting_cleared")
    assert cleared.payload["follow_up"] == "cancelled"
    assert await dispatch_send.send_follow_up(dispatch_deps, row.id) is True

    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
    texts = [m.get("text", "") for m in conversation["messages"]]
    assert len(texts) == 2
    assert "was cancelled" in texts[-1]


async def test_preset_change_replans_pending_rows(genesys_tenant, clock):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)
    first = await the_live_row(booking)

    await presets.save_preset(genesys_tenant.app_id, {"dispatch_minutes_before": 15}, ADMIN, clock.now())
    second = await the_live_row(booking)
    assert second.id != first.id
    assert second.due_at == booking.scheduled_at - timedelta(minutes=15)

    await presets.save_preset(genesys_tenant.app_id, {"genesys_dispatch_enabled": False}, ADMIN, clock.now())
    assert await dispatch.live_row(booking.id) is None


async def test_the_timeline_reads_in_plain_words(genesys_tenant, dispatch_deps, clock):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)
    await run_due(dispatch_deps, clock, booking)
    kinds = [e.event_type for e in await BookingEvent.objects().where(BookingEvent.booking == booking.id)]
    assert "pre_meeting_scheduled" in kinds and "pre_meeting_dispatched" in kinds


@pytest.mark.parametrize("count", [1])
async def test_booking_for_an_unknown_conversation_is_none(app, count):
    assert await dispatch.booking_for_conversation("no-such-conversation") is None
