"""The booking detail page: what it shows, the actions it offers, errors in place, and who may see it."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import form_post
from tests.fixtures.console import insert_booking, login_as, text_of
from tests.fixtures.scheduling import at_local, next_workday, tenant, workday_slot  # noqa: F401
from web.db.tables import Booking, BookingEvent
from web.scheduling.bookings import NewBooking, create
from web.scheduling.hooks import Actor
from web.scheduling.timeutil import zone


async def book(tenant, clock, *, agent=None, hour=10, **kwargs):
    return await create(
        tenant.app_id,
        NewBooking(
            guest_name=kwargs.pop("guest_name", "Grace Guest"),
            guest_phone="+573001112233",
            scheduled_at=workday_slot(clock.now(), hour),
            assigned_agent_id=(agent or tenant.agent).id,
            intake_notes=kwargs.pop("intake_notes", "Asked about the premium plan"),
            **kwargs,
        ),
        Actor("admin", str(tenant.admin.id)),
        now=clock.now(),
    )


def local(dt) -> str:
    return dt.astimezone(zone("America/Bogota")).strftime("%Y-%m-%dT%H:%M")


async def test_agent_sees_the_detail_with_timeline_and_links(client, tenant, clock):
    booking = await book(tenant, clock)
    await login_as(client, tenant.agent, tenant.agent_password)
    page = await client.get(f"/bookings/{booking.id}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Meeting with Grace Guest" in words
    assert "Asked about the premium plan" in words and "+573001112233" in words
    assert "An admin booked the meeting for" in words  # the timeline in plain words
    assert f"/rooms/{booking.host_token}" in page.text and f"/rooms/{booking.guest_token}" in page.text
    assert f'id="dispatch-{booking.id}"' in page.text
    for action in ("reschedule", "reassign", "cancel"):
        assert f'action="/bookings/{booking.id}/{action}"' in page.text
    assert f'action="/bookings/{booking.id}/no-show"' not in page.text  # not started yet


async def test_reschedule_writes_the_timeline(client, tenant, clock):
    booking = await book(tenant, clock)
    await login_as(client, tenant.agent, tenant.agent_password)
    new_start = booking.scheduled_at + timedelta(hours=2)
    response = await form_post(
        client,
        f"/bookings/{booking.id}/reschedule",
        {"scheduled_at": local(new_start), "reason": "Customer asked"},
    )
    assert response.status_code == 303 and response.headers["location"] == f"/bookings/{booking.id}"
    assert (await Booking.objects().get(Booking.id == booking.id)).scheduled_at == new_start
    words = text_of((await client.get(f"/bookings/{booking.id}")).text)
    assert "The agent moved the meeting from" in words and "Reason: Customer asked" in words


async def test_lifecycle_errors_are_shown_in_place(client, tenant, clock):
    first = await book(tenant, clock, hour=10)
    second = await book(tenant, clock, hour=14, guest_name="Second Guest")
    await login_as(client, tenant.agent, tenant.agent_password)
    clash = await form_post(
        client, f"/bookings/{second.id}/reschedule", {"scheduled_at": local(first.scheduled_at)}
    )
    assert clash.status_code == 409
    assert "The agent is not available at that time" in text_of(clash.text)
    assert 'aria-describedby="scheduled_at-error"' in clash.text
    assert (await Booking.objects().get(Booking.id == second.id)).scheduled_at == second.scheduled_at

    # the same refusal through htmx comes back as 200 so the page region is swapped
    headers = {"HX-Request": "true", "x-csrftoken": client.cookies["punctual_csrf"]}
    again = await client.post(
        f"/bookings/{second.id}/reschedule", data={"scheduled_at": local(first.scheduled_at)}, headers=headers
    )
    assert again.status_code == 200 and 'role="alert"' in again.text

    garbage = await form_post(client, f"/bookings/{second.id}/reschedule", {"scheduled_at": "next tuesday"})
    assert garbage.status_code == 400 and "Choose a date and time." in garbage.text


async def test_cancel_with_reason_then_no_more_actions(client, tenant, clock):
    booking = await book(tenant, clock)
    await login_as(client, tenant.admin, tenant.admin_password)
    response = await form_post(client, f"/bookings/{booking.id}/cancel", {"reason": "Duplicate"})
    assert response.status_code == 303
    row = await Booking.objects().get(Booking.id == booking.id)
    assert row.status == "cancelled" and row.cancellation_reason == "Duplicate"
    page = await client.get(f"/bookings/{booking.id}")
    words = text_of(page.text)
    assert "An admin cancelled the meeting. Reason: Duplicate" in words
    assert f'action="/bookings/{booking.id}/reschedule"' not in page.text
    late = await form_post(
        client,
        f"/bookings/{booking.id}/reschedule",
        {"scheduled_at": local(booking.scheduled_at + timedelta(hours=1))},
    )
    assert late.status_code == 409 and "cancelled" in text_of(late.text)


async def test_confirm_and_no_show(client, tenant, clock):
    booking = await book(tenant, clock, require_confirmation=True)
    await login_as(client, tenant.agent, tenant.agent_password)
    assert "Confirm the meeting" in (await client.get(f"/bookings/{booking.id}")).text
    assert (await form_post(client, f"/bookings/{booking.id}/confirm")).status_code == 303
    assert (await Booking.objects().get(Booking.id == booking.id)).status == "confirmed"

    clock.advance(seconds=(booking.scheduled_at - clock.now()).total_seconds() + 600)
    page = await client.get(f"/bookings/{booking.id}")
    assert f'action="/bookings/{booking.id}/no-show"' in page.text
    assert (await form_post(client, f"/bookings/{booking.id}/no-show")).status_code == 303
    assert (await Booking.objects().get(Booking.id == booking.id)).status == "no_show"


async def test_agent_reassigning_away_goes_back_to_the_agenda(client, tenant, clock):
    booking = await book(tenant, clock)
    await login_as(client, tenant.agent, tenant.agent_password)
    response = await form_post(
        client, f"/bookings/{booking.id}/reassign", {"assigned_agent_id": str(tenant.other_agent.id)}
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/my-schedules?app=")
    assert (await Booking.objects().get(Booking.id == booking.id)).assigned_agent == tenant.other_agent.id
    assert (await client.get(f"/bookings/{booking.id}")).status_code == 404  # no longer hers


async def test_other_agents_get_404_and_cannot_act(client, tenant, clock, make_user):
    booking = await book(tenant, clock, agent=tenant.other_agent)
    await login_as(client, tenant.agent, tenant.agent_password)
    page = await client.get(f"/bookings/{booking.id}")
    assert page.status_code == 404 and "Grace Guest" not in page.text
    cancel = await form_post(client, f"/bookings/{booking.id}/cancel", {"reason": "sneaky"})
    assert cancel.status_code == 404
    assert (await Booking.objects().get(Booking.id == booking.id)).status == "scheduled"
    assert (await client.get("/bookings/not-a-uuid")).status_code == 404
    assert (await client.get("/bookings/00000000-0000-4000-8000-000000000000")).status_code == 404

    stranger = await make_user("stranger@example.com", "stranger password")
    await login_as(client, stranger, "stranger password")
    assert (await client.get(f"/bookings/{booking.id}")).status_code == 404


async def test_embedded_detail_uses_compact_chrome_and_keeps_the_flag(client, tenant, clock):
    booking = await book(tenant, clock)
    await login_as(client, tenant.agent, tenant.agent_password)
    page = await client.get(f"/bookings/{booking.id}?embedded=1")
    assert "chrome-compact" in page.text
    assert '<input type="hidden" name="embedded" value="1">' in page.text
    done = await form_post(client, f"/bookings/{booking.id}/cancel", {"reason": "x", "embedded": "1"})
    assert done.headers["location"] == f"/bookings/{booking.id}?embedded=1"


async def test_pool_booking_can_be_claimed_by_an_agent(client, tenant, clock):
    day = next_workday(clock.now())
    pooled = await insert_booking(tenant.app_id, None, at_local(day, 11), guest_name="Pool Guest")
    await login_as(client, tenant.agent, tenant.agent_password)
    page = await client.get(f"/bookings/{pooled.id}")
    assert page.status_code == 200 and "Take this meeting" in page.text
    assert (await form_post(client, f"/bookings/{pooled.id}/claim")).status_code == 303
    assert (await Booking.objects().get(Booking.id == pooled.id)).assigned_agent == tenant.agent.id
    assert await BookingEvent.count().where(BookingEvent.booking == pooled.id) == 1


async def test_reassign_refusals_are_shown_next_to_the_agent_field(client, tenant, clock, make_user):
    booking = await book(tenant, clock, hour=10)
    await book(tenant, clock, agent=tenant.other_agent, hour=10, guest_name="Ben's Guest")
    outsider = await make_user("outsider@example.com", "outsider password")
    await login_as(client, tenant.admin, tenant.admin_password)

    busy = await form_post(
        client, f"/bookings/{booking.id}/reassign", {"assigned_agent_id": str(tenant.other_agent.id)}
    )
    assert busy.status_code == 409
    assert 'aria-describedby="assigned_agent_id-error"' in busy.text
    error = busy.text.split('id="assigned_agent_id-error">')[1].split("</p>")[0]
    assert "That agent is not available at that time" in error

    stranger = await form_post(
        client, f"/bookings/{booking.id}/reassign", {"assigned_agent_id": str(outsider.id)}
    )
    assert stranger.status_code == 400 and "Choose an agent of this app." in stranger.text
    assert (await Booking.objects().get(Booking.id == booking.id)).assigned_agent == tenant.agent.id
    assert (await form_post(client, f"/bookings/{booking.id}/teleport")).status_code == 404


async def test_detail_shows_the_guest_and_what_the_timeline_recorded(client, tenant, clock):
    booking = await create(
        tenant.app_id,
        NewBooking(
            guest_name="Grace Guest",
            guest_phone="+573001112233",
            guest_email="grace@example.com",
            guest_timezone="Europe/Madrid",
            scheduled_at=workday_slot(clock.now(), 10),
            assigned_agent_id=tenant.agent.id,
            intake_notes="Asked about <b>premium</b>",
        ),
        Actor("agent", str(tenant.agent.id)),
        now=clock.now(),
    )
    await login_as(client, tenant.admin, tenant.admin_password)
    await form_post(
        client, f"/bookings/{booking.id}/reassign", {"assigned_agent_id": str(tenant.other_agent.id)}
    )
    page = await client.get(f"/bookings/{booking.id}")
    words = text_of(page.text)
    for shown in ("+573001112233", "grace@example.com", "Europe/Madrid", "Ben Agent"):
        assert shown in words, shown
    assert "Asked about &lt;b&gt;premium&lt;/b&gt;" in page.text  # notes are text, never markup
    assert f"/rooms/{booking.guest_token}" in page.text and f"/rooms/{booking.host_token}" in page.text
    timeline = text_of(page.text.split('class="timeline"')[1].split("</ol>")[0])
    assert "The agent booked the meeting" in timeline
    assert "An admin assigned the meeting to Ben Agent." in timeline
