"""The agent's console: /my-schedules agenda, creating a booking for a customer, DND with the
conflict prompt, and never seeing another agent's bookings."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.conftest import form_post
from tests.fixtures.console import insert_booking, login_as, text_of
from tests.fixtures.scheduling import at_local, next_workday, tenant, workday_slot  # noqa: F401
from web.db.tables import Booking, BookingEvent, DndWindow, Membership, Preset, Reminder, VideoApp
from web.scheduling.bookings import NewBooking, create
from web.scheduling.hooks import Actor


def local_input(dt, tz="America/Bogota") -> str:
    from web.scheduling.timeutil import zone

    return dt.astimezone(zone(tz)).strftime("%Y-%m-%dT%H:%M")


async def test_agenda_shows_only_my_bookings_of_the_week(client, tenant, clock):
    day = next_workday(clock.now(), days_ahead=1)
    mine = await insert_booking(tenant.app_id, tenant.agent.id, at_local(day, 9), guest_name="Grace Hopper")
    await insert_booking(tenant.app_id, tenant.other_agent.id, at_local(day, 11), guest_name="Ben's Guest")
    await insert_booking(
        tenant.app_id, tenant.agent.id, at_local(day + timedelta(days=14), 9), guest_name="Later"
    )
    await login_as(client, tenant.agent, tenant.agent_password)

    page = await client.get(f"/my-schedules?app={tenant.public_id}&week={day.isoformat()}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Grace Hopper" in words and "09:00" in words
    assert "Ben's Guest" not in words and "Later" not in words
    assert "Times in your time zone, America/Bogota" in words
    assert f'href="/rooms/{mine.host_token}"' in page.text
    assert f'href="/bookings/{mine.id}"' in page.text
    assert f'id="dispatch-{mine.id}"' in page.text
    assert day.strftime("%A %d %B") in words

    # the app parameter may be left out for an agent of exactly one app
    assert "Grace Hopper" in text_of((await client.get(f"/my-schedules?week={day.isoformat()}")).text)

    later = await client.get(
        f"/my-schedules?app={tenant.public_id}&week={(day + timedelta(days=14)).isoformat()}"
    )
    assert "Later" in text_of(later.text) and "Grace Hopper" not in text_of(later.text)


async def test_embedded_agenda_keeps_the_flag_in_links(client, tenant, clock):
    day = next_workday(clock.now())
    booking = await insert_booking(tenant.app_id, tenant.agent.id, at_local(day, 9))
    await login_as(client, tenant.agent, tenant.agent_password)
    page = await client.get(f"/my-schedules?app={tenant.public_id}&week={day.isoformat()}&embedded=1")
    assert "chrome-compact" in page.text
    assert f'href="/bookings/{booking.id}?embedded=1"' in page.text
    assert "embedded=1" in page.text.split('rel="next"')[0].rsplit("<a", 1)[1]
    assert '<input type="hidden" name="embedded" value="1">' in page.text


async def test_agent_creates_a_booking_for_a_customer(client, tenant, clock):
    await login_as(client, tenant.agent, tenant.agent_password)
    start = workday_slot(clock.now(), 14)
    response = await form_post(
        client,
        f"/my-schedules/{tenant.public_id}/bookings",
        {
            "guest_name": "Carla Customer",
            "guest_phone": "+57 300 555 0101",
            "scheduled_at": local_input(start),
            "duration_minutes": "45",
            "intake_notes": "Wants to talk about the renewal",
        },
    )
    assert response.status_code == 303
    booking = await Booking.objects().get(Booking.guest_name == "Carla Customer")
    assert response.headers["location"] == f"/bookings/{booking.id}"
    assert booking.assigned_agent == tenant.agent.id
    assert booking.booking_source == "agent"
    assert booking.scheduled_at == start and booking.duration_minutes == 45
    assert booking.guest_phone == "+573005550101"


async def test_create_form_shows_errors_next_to_fields_and_keeps_input(client, tenant, clock):
    await login_as(client, tenant.agent, tenant.agent_password)
    past = clock.now() - timedelta(days=1)
    response = await form_post(
        client,
        f"/my-schedules/{tenant.public_id}/bookings",
        {"guest_name": "Dan Delay", "guest_phone": "not a phone", "scheduled_at": local_input(past)},
    )
    assert response.status_code == 400
    assert (
        'id="guest_phone-error"' in response.text and 'aria-describedby="guest_phone-error"' in response.text
    )
    assert "The start time must be in the future." in text_of(response.text)
    assert 'value="Dan Delay"' in response.text
    assert await Booking.count() == 0

    # with htmx only the form comes back, still 200 so htmx swaps it
    headers = {"HX-Request": "true", "x-csrftoken": client.cookies["punctual_csrf"]}
    partial = await client.post(
        f"/my-schedules/{tenant.public_id}/bookings",
        data={"guest_name": "", "scheduled_at": ""},
        headers=headers,
    )
    assert partial.status_code == 200
    assert partial.text.lstrip().startswith("<form")
    assert "Choose the date and time of the meeting." in partial.text


async def test_busy_slot_is_refused_in_place(client, tenant, clock):
    start = workday_slot(clock.now(), 10)
    await create(
        tenant.app_id,
        NewBooking(
            guest_name="First",
            guest_phone="+573001112233",
            scheduled_at=start,
            assigned_agent_id=tenant.agent.id,
        ),
        Actor("admin", str(tenant.admin.id)),
        now=clock.now(),
    )
    await login_as(client, tenant.agent, tenant.agent_password)
    response = await form_post(
        client,
        f"/my-schedules/{tenant.public_id}/bookings",
        {"guest_name": "Second", "guest_phone": "+573001112244", "scheduled_at": local_input(start)},
    )
    assert response.status_code == 400
    assert 'id="scheduled_at-error"' in response.text
    assert await Booking.count() == 1


async def test_dnd_over_bookings_asks_first_then_saves(client, tenant, clock):
    day = next_workday(clock.now())
    await insert_booking(tenant.app_id, tenant.agent.id, at_local(day, 10), guest_name="Eve Early")
    await insert_booking(tenant.app_id, tenant.agent.id, at_local(day, 11), guest_name="Finn Later")
    await insert_booking(tenant.app_id, tenant.other_agent.id, at_local(day, 10), guest_name="Not Mine")
    await login_as(client, tenant.agent, tenant.agent_password)
    window = {
        "starts_at": f"{day.isoformat()}T09:30",
        "ends_at": f"{day.isoformat()}T12:00",
        "reason": "Training",
    }

    prompt = await form_post(client, f"/my-schedules/{tenant.public_id}/dnd", window)
    assert prompt.status_code == 200
    words = text_of(prompt.text)
    assert "This window affects 2 bookings." in words
    assert "Eve Early" in words and "Finn Later" in words and "Not Mine" not in words
    assert await DndWindow.count() == 0  # nothing saved before the agent decides

    saved = await form_post(client, f"/my-schedules/{tenant.public_id}/dnd", {**window, "decision": "save"})
    assert saved.status_code == 200
    assert "Do-not-disturb window saved." in text_of(saved.text)
    row = await DndWindow.objects().first()
    assert row.user == tenant.agent.id and row.starts_at == at_local(day, 9, 30) and row.reason == "Training"


async def test_dnd_without_conflicts_is_saved_at_once_and_can_be_removed(client, tenant, clock):
    day = next_workday(clock.now())
    await login_as(client, tenant.agent, tenant.agent_password)
    headers = {"HX-Request": "true", "x-csrftoken": client.cookies["punctual_csrf"]}
    response = await client.post(
        f"/my-schedules/{tenant.public_id}/dnd",
        data={"starts_at": f"{day.isoformat()}T13:00", "ends_at": f"{day.isoformat()}T14:00"},
        headers=headers,
    )
    assert response.status_code == 200 and response.text.lstrip().startswith('<div id="dnd-section">')
    assert "Do-not-disturb window saved." in response.text
    window = await DndWindow.objects().first()
    removed = await form_post(client, f"/my-schedules/{tenant.public_id}/dnd/{window.id}/delete")
    assert removed.status_code == 303
    assert await DndWindow.count() == 0


async def test_dnd_errors_are_shown_next_to_fields(client, tenant, clock):
    day = next_workday(clock.now())
    await login_as(client, tenant.agent, tenant.agent_password)
    response = await form_post(
        client,
        f"/my-schedules/{tenant.public_id}/dnd",
        {"starts_at": f"{day.isoformat()}T13:00", "ends_at": f"{day.isoformat()}T12:00"},
    )
    assert response.status_code == 400
    assert 'id="ends_at-error"' in response.text and "The end must be after the start." in response.text


async def test_agents_cannot_reach_other_apps_or_admin_pages(client, tenant, clock):
    stranger = VideoApp(public_id="00000000-0000-4000-8000-000000000099", name="Other", timezone="UTC")
    await stranger.save()
    await login_as(client, tenant.agent, tenant.agent_password)
    assert (await client.get("/my-schedules?app=00000000-0000-4000-8000-000000000099")).status_code == 404
    assert (await client.get("/my-schedules?app=not-a-uuid")).status_code == 404
    assert (await client.get(f"/apps/{tenant.public_id}")).status_code == 403
    assert (await client.get(f"/apps/{tenant.public_id}/bookings")).status_code == 403
    assert await BookingEvent.count() == 0


async def test_agenda_in_the_agents_zone_shows_the_apps_zone_too_and_navigates_weeks(client, tenant, clock):
    await Membership.update({Membership.timezone: "Europe/Madrid"}).where(Membership.user == tenant.agent.id)
    monday = next_workday(clock.now(), days_ahead=14)
    monday -= timedelta(days=monday.weekday())
    tuesday = monday + timedelta(days=1)
    # 20:00 on Tuesday in Bogota is 02:00 on Wednesday in Madrid: the card sits on Wednesday.
    late = await insert_booking(tenant.app_id, tenant.agent.id, at_local(tuesday, 20), guest_name="Night Owl")
    await insert_booking(
        tenant.app_id, tenant.agent.id, at_local(monday + timedelta(days=7), 9), guest_name="Next Week"
    )
    await login_as(client, tenant.agent, tenant.agent_password)

    page = await client.get(f"/my-schedules?app={tenant.public_id}&week={tuesday.isoformat()}")
    words = text_of(page.text)
    assert "Times in your time zone, Europe/Madrid; the app's zone is America/Bogota." in words
    wednesday = (monday + timedelta(days=2)).strftime("%A %d %B")
    card = text_of(page.text.split(f'id="booking-{late.id}"')[1].split("</article>")[0])
    assert "02:00" in card and "20:00 America/Bogota" in card
    assert words.index(wednesday) < words.index("Night Owl")
    assert "Next Week" not in words and "1 meeting this week." in words

    links = {rel: re.search(rf'href="([^"]+)" rel="{rel}"', page.text).group(1) for rel in ("prev", "next")}
    assert f"week={(monday - timedelta(days=7)).isoformat()}" in links["prev"]
    following = await client.get(links["next"].replace("&amp;", "&"))
    assert "Next Week" in text_of(following.text) and "Night Owl" not in text_of(following.text)
    # a malformed week falls back to this week instead of failing
    assert (await client.get(f"/my-schedules?app={tenant.public_id}&week=someday")).status_code == 200


async def test_dnd_notify_sends_conflict_notices_when_the_preset_enables_them(client, tenant, clock):
    day = next_workday(clock.now())
    for hour, name in ((10, "Eve Early"), (11, "Finn Later")):
        await insert_booking(tenant.app_id, tenant.agent.id, at_local(day, hour), guest_name=name)
    await login_as(client, tenant.agent, tenant.agent_password)
    window = {"starts_at": f"{day.isoformat()}T09:30", "ends_at": f"{day.isoformat()}T10:30"}

    # conflict notices are off in the default preset: the agent is told to reach the customer
    off = await form_post(client, f"/my-schedules/{tenant.public_id}/dnd", {**window, "decision": "notify"})
    assert off.status_code == 200
    assert "Conflict notices are off in this app&#39;s preset: contact the 1 customer yourself." in off.text
    assert await Reminder.count() == 0

    await Preset.update({Preset.reminders: {"conflict_notice": ["whatsapp"]}}).where(
        Preset.app == tenant.app_id
    )
    window = {"starts_at": f"{day.isoformat()}T09:00", "ends_at": f"{day.isoformat()}T12:00"}
    on = await form_post(client, f"/my-schedules/{tenant.public_id}/dnd", {**window, "decision": "notify"})
    assert "2 customers will be told they can reschedule." in text_of(on.text)
    notices = await Reminder.select(Reminder.kind, Reminder.booking.guest_name.as_alias("guest"))
    assert sorted((r["kind"], r["guest"]) for r in notices) == [
        ("conflict_notice", "Eve Early"),
        ("conflict_notice", "Finn Later"),
    ]
    assert await DndWindow.count() == 2
