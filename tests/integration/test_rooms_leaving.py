"""When a meeting ends on its own: both sides met and everyone left (completed); the agent waited
but the customer never came (no-show after the grace window). Through the room pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tasks.lifecycle import mark_no_shows
from tests.conftest import form_post
from tests.fixtures.scheduling import tenant, workday_slot  # noqa: F401
from web.db.tables import BookingStatus
from web.scheduling import bookings
from web.scheduling.bookings import NewBooking
from web.scheduling.hooks import Actor

pytestmark = pytest.mark.timeout(60)


async def make_booking(tenant, clock):
    data = NewBooking(
        guest_name="Grace Guest",
        guest_email="grace@example.com",
        scheduled_at=workday_slot(clock.now(), 10),
        assigned_agent_id=tenant.agent.id,
    )
    return await bookings.create(tenant.app_id, data, Actor("admin", str(tenant.admin.id)), now=clock.now())


async def status_of(booking) -> str:
    return (await bookings.get(booking.id)).status


async def test_the_meeting_completes_when_everyone_has_left(client, tenant, clock):
    booking = await make_booking(tenant, clock)
    host, guest = f"/rooms/{booking.host_token}", f"/rooms/{booking.guest_token}"
    await form_post(client, f"{host}/join")
    await form_post(client, f"{guest}/join")

    left = await form_post(client, f"{guest}/leave")
    assert left.status_code == 303 and left.headers["location"] == guest
    assert await status_of(booking) == BookingStatus.started  # the agent is still there
    page = await client.get(guest)
    assert "You left the meeting." in page.text and "Rejoin meeting" in page.text

    # Back in, and out again: still one meeting.
    await form_post(client, f"{guest}/join")
    assert "Leave meeting" in (await client.get(guest)).text
    await form_post(client, f"{guest}/leave")
    assert await status_of(booking) == BookingStatus.started

    await form_post(client, f"{host}/leave")
    stored = await bookings.get(booking.id)
    assert stored.status == BookingStatus.completed and stored.ended_at is not None
    assert "This meeting has ended" in (await client.get(host)).text
    events = [(e.event_type, e.payload.get("role")) for e in await bookings.timeline(booking.id)]
    assert events == [
        ("created", None),
        ("joined", "host"),
        ("started", None),
        ("joined", "guest"),
        ("left", "guest"),
        ("joined", "guest"),
        ("left", "guest"),
        ("left", "host"),
        ("completed", None),
    ]
    # Leaving a finished meeting again changes nothing.
    await form_post(client, f"{host}/leave")
    assert len(await bookings.timeline(booking.id)) == len(events)


async def test_leaving_without_having_joined_records_nothing(client, tenant, clock):
    booking = await make_booking(tenant, clock)
    response = await form_post(client, f"/rooms/{booking.guest_token}/leave")
    assert response.status_code == 303
    assert [e.event_type for e in await bookings.timeline(booking.id)] == ["created"]
    assert (await client.post(f"/rooms/{booking.guest_token}/leave")).status_code == 403  # CSRF


async def test_an_agent_left_alone_gives_a_no_show_not_a_completed_meeting(client, tenant, clock):
    booking = await make_booking(tenant, clock)
    host = f"/rooms/{booking.host_token}"
    await form_post(client, f"{host}/join")
    await form_post(client, f"{host}/leave")
    assert await status_of(booking) == BookingStatus.started

    grace_over = booking.scheduled_at + timedelta(minutes=11)
    assert await mark_no_shows(booking.scheduled_at + timedelta(minutes=9)) == []
    assert await mark_no_shows(grace_over) == [str(booking.id)]
    assert await status_of(booking) == BookingStatus.no_show
