"""The meeting room and the confirmation link, through HTTP as a browser uses them."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from tests.conftest import form_post
from tests.fixtures.scheduling import tenant, workday_slot  # noqa: F401
from web.db.tables import BookingStatus, Preset
from web.scheduling import bookings, rooms
from web.scheduling.bookings import NewBooking
from web.scheduling.hooks import Actor

ADMIN = Actor("admin", "1")


async def make_booking(tenant, clock, **kwargs):
    data = NewBooking(
        guest_name="Grace <Guest>",
        guest_email="grace@example.com",
        guest_timezone="Europe/Madrid",
        scheduled_at=workday_slot(clock.now(), 10),
        assigned_agent_id=tenant.agent.id,
        **kwargs,
    )
    return await bookings.create(tenant.app_id, data, ADMIN, now=clock.now())


async def test_room_links_are_absolute_and_survive_a_reschedule(tenant, clock):
    booking = await make_booking(tenant, clock)
    host, guest = rooms.room_links(booking, "https://punctual.example.com/")
    assert host == f"https://punctual.example.com/rooms/{booking.host_token}"
    assert guest == f"https://punctual.example.com/rooms/{booking.guest_token}"
    moved = await bookings.reschedule(booking.id, workday_slot(clock.now(), 15), ADMIN, now=clock.now())
    assert rooms.room_links(moved, "https://punctual.example.com") == (host, guest)


async def test_guest_page_shows_the_time_in_the_guest_zone_and_escapes_names(client, tenant, clock):
    booking = await make_booking(tenant, clock)
    response = await client.get(f"/rooms/{booking.guest_token}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "same-origin"
    madrid = booking.scheduled_at.astimezone(ZoneInfo("Europe/Madrid"))
    assert madrid.strftime("%H:%M") in response.text
    assert "Europe/Madrid" in response.text
    assert "Your meeting with Ana Agent" in response.text
    assert "Grace &lt;Guest&gt;" in response.text and "Grace <Guest>" not in response.text
    assert "Join meeting" in response.text
    assert "End meeting" not in response.text


async def test_host_page_shows_the_agent_zone(client, tenant, clock):
    booking = await make_booking(tenant, clock)
    response = await client.get(f"/rooms/{booking.host_token}")
    bogota = booking.scheduled_at - timedelta(hours=5)
    assert bogota.strftime("%H:%M") in response.text and "America/Bogota" in response.text
    assert "Meeting with Grace &lt;Guest&gt;" in response.text


async def test_unknown_room_token_is_a_friendly_404(client, tenant):
    response = await client.get("/rooms/not-a-real-token")
    assert response.status_code == 404
    assert "Page not found" in response.text


async def test_joining_starts_the_meeting_and_the_host_ends_it(client, tenant, clock):
    booking = await make_booking(tenant, clock)
    response = await form_post(client, f"/rooms/{booking.guest_token}/join")
    assert response.status_code == 303 and response.headers["location"] == f"/rooms/{booking.guest_token}"
    stored = await bookings.get(booking.id)
    assert stored.status == BookingStatus.started and stored.guest_joined_at is not None
    page = await client.get(f"/rooms/{booking.guest_token}")
    assert "Join meeting" not in page.text and "You are in the meeting as" in page.text
    presence = await client.get(f"/rooms/{booking.host_token}/presence")
    assert "joined at" in presence.text and "not here yet" in presence.text  # guest in, agent not yet

    # The guest cannot end the meeting; the host can.
    refused = await form_post(client, f"/rooms/{booking.guest_token}/end")
    assert refused.status_code == 404
    await form_post(client, f"/rooms/{booking.host_token}/join")
    host_page = await client.get(f"/rooms/{booking.host_token}")
    assert "End meeting" in host_page.text
    ended = await form_post(client, f"/rooms/{booking.host_token}/end")
    assert ended.status_code == 303
    assert (await bookings.get(booking.id)).status == BookingStatus.completed
    after = await client.get(f"/rooms/{booking.guest_token}")
    assert "This meeting has ended" in after.text and "Join meeting" not in after.text
    types = [e.event_type for e in await bookings.timeline(booking.id)]
    assert types == ["created", "joined", "started", "joined", "completed"]


async def test_join_needs_the_csrf_token(client, tenant, clock):
    booking = await make_booking(tenant, clock)
    response = await client.post(f"/rooms/{booking.guest_token}/join")
    assert response.status_code == 403
    assert (await bookings.get(booking.id)).status == BookingStatus.scheduled


async def test_joining_a_cancelled_meeting_is_refused(client, tenant, clock):
    booking = await make_booking(tenant, clock)
    await bookings.cancel(booking.id, ADMIN, now=clock.now())
    page = await client.get(f"/rooms/{booking.guest_token}")
    assert "This meeting was cancelled" in page.text and "Join meeting" not in page.text
    response = await form_post(client, f"/rooms/{booking.guest_token}/join")
    assert response.status_code == 409
    assert (await bookings.get(booking.id)).status == BookingStatus.cancelled


async def test_confirmation_link_confirms_a_pending_booking(client, tenant, clock):
    await Preset.update({Preset.require_confirmation: True}).where(Preset.app == tenant.app_id)
    booking = await make_booking(tenant, clock)
    page = await client.get(f"/confirm/{booking.confirm_token}")
    assert page.status_code == 200 and "Confirm meeting" in page.text
    assert (
        await bookings.get(booking.id)
    ).status == BookingStatus.pending_confirmation  # GET changes nothing
    response = await form_post(client, f"/confirm/{booking.confirm_token}")
    assert response.status_code == 200 and "Your meeting is confirmed" in response.text
    assert f"/rooms/{booking.guest_token}" in response.text
    stored = await bookings.get(booking.id)
    assert stored.status == BookingStatus.confirmed
    [_, event] = await bookings.timeline(booking.id)
    assert (event.event_type, event.actor_type) == ("confirmed", "customer")
    assert (await client.get("/confirm/wrong-token")).status_code == 404


async def test_confirming_a_cancelled_booking_is_refused(client, tenant, clock):
    booking = await make_booking(tenant, clock, require_confirmation=True)
    await bookings.cancel(booking.id, ADMIN, now=clock.now())
    response = await form_post(client, f"/confirm/{booking.confirm_token}")
    assert response.status_code == 409 and "This meeting was cancelled" in response.text
