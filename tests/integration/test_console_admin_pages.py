"""Admin pages beyond the preset: members, an agent's availability, the master bookings view and
booking on behalf of an agent."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.conftest import form_post
from tests.fixtures.console import insert_booking, login_as, text_of
from tests.fixtures.scheduling import at_local, next_workday, tenant, workday_slot  # noqa: F401
from web.db.tables import AvailabilityException, Booking, DndWindow, Membership, User, WorkingHours
from web.scheduling.timeutil import zone


async def test_admin_adds_and_edits_members(client, tenant):
    await login_as(client, tenant.admin, tenant.admin_password)
    page = await client.get(f"/apps/{tenant.public_id}/members")
    assert page.status_code == 200 and "Ana Agent" in text_of(page.text)

    added = await form_post(
        client,
        f"/apps/{tenant.public_id}/members",
        {
            "email": "Zoe@Example.com",
            "name": "Zoe New",
            "role": "agent",
            "genesys_user_id": "g-123",
            "timezone": "Europe/Madrid",
            "password": "zoe password 1",
        },
    )
    assert added.status_code == 200 and "zoe@example.com added." in added.text
    zoe = await User.objects().get(User.email == "zoe@example.com")
    member = await Membership.objects().get((Membership.user == zoe.id) & (Membership.app == tenant.app_id))
    assert (member.role, member.genesys_user_id, member.timezone) == ("agent", "g-123", "Europe/Madrid")
    await login_as(client, zoe, "zoe password 1")  # the new agent can sign in
    await login_as(client, tenant.admin, tenant.admin_password)

    twice = await form_post(
        client, f"/apps/{tenant.public_id}/members", {"email": "zoe@example.com", "timezone": "UTC"}
    )
    assert twice.status_code == 400 and "already a member" in twice.text

    bad = await form_post(
        client,
        f"/apps/{tenant.public_id}/members",
        {"email": "nope", "timezone": "Mars/Olympus", "role": "agent"},
    )
    assert bad.status_code == 400
    assert 'id="email-error"' in bad.text and 'id="timezone-error"' in bad.text
    assert 'value="Mars/Olympus"' in bad.text

    updated = await form_post(
        client,
        f"/apps/{tenant.public_id}/members/{zoe.id}",
        {"role": "admin", "genesys_user_id": "", "timezone": "America/Bogota"},
    )
    assert updated.status_code == 200 and "Member updated." in updated.text
    member = await Membership.objects().get(Membership.id == member.id)
    assert (member.role, member.genesys_user_id, member.timezone) == ("admin", None, "America/Bogota")


async def test_the_last_admin_cannot_be_demoted(client, tenant):
    await login_as(client, tenant.admin, tenant.admin_password)
    response = await form_post(
        client, f"/apps/{tenant.public_id}/members/{tenant.admin.id}", {"role": "agent", "timezone": "UTC"}
    )
    assert response.status_code == 400 and "at least one admin" in response.text
    member = await Membership.objects().get(Membership.user == tenant.admin.id)
    assert member.role == "admin"


async def test_admin_edits_an_agents_working_hours_exceptions_and_dnd(client, tenant, clock):
    await login_as(client, tenant.admin, tenant.admin_password)
    base = f"/apps/{tenant.public_id}/agents/{tenant.agent.id}/availability"
    page = await client.get(base)
    assert page.status_code == 200 and 'value="08:00"' in page.text

    hours = {"start_0": "09:00", "end_0": "17:00", "start_2": "10:00", "end_2": "14:30"}
    saved = await form_post(client, f"{base}/hours", hours)
    assert saved.status_code == 200 and "Working hours saved." in saved.text
    rows = (
        await WorkingHours.select().where(WorkingHours.user == tenant.agent.id).order_by(WorkingHours.weekday)
    )
    assert [(r["weekday"], r["start"], r["end"], r["timezone"]) for r in rows] == [
        (0, "09:00", "17:00", "America/Bogota"),
        (2, "10:00", "14:30", "America/Bogota"),
    ]

    wrong = await form_post(client, f"{base}/hours", {"start_1": "18:00", "end_1": "09:00", "start_3": "9am"})
    assert wrong.status_code == 400
    assert 'id="end_1-error"' in wrong.text and 'id="start_3-error"' in wrong.text
    assert await WorkingHours.count().where(WorkingHours.user == tenant.agent.id) == 2  # unchanged

    day = next_workday(clock.now())
    exc = await form_post(
        client,
        f"{base}/exceptions",
        {"kind": "blocked", "starts_at": f"{day}T12:00", "ends_at": f"{day}T13:00", "note": "Dentist"},
    )
    assert exc.status_code == 200 and "Dentist" in text_of(exc.text)
    row = await AvailabilityException.objects().first()
    assert row.starts_at == at_local(day, 12) and row.user == tenant.agent.id

    dnd = await form_post(client, f"{base}/dnd", {"starts_at": f"{day}T15:00", "ends_at": f"{day}T16:00"})
    assert dnd.status_code == 200
    window = await DndWindow.objects().first()
    assert window.user == tenant.agent.id and window.ends_at == at_local(day, 16)

    removed = await form_post(client, f"{base}/delete-exception-{row.id}")
    assert removed.status_code == 200 and await AvailabilityException.count() == 0
    assert (await form_post(client, f"{base}/delete-dnd-999")).status_code == 404


async def test_an_agent_cannot_edit_availability_through_the_admin_pages(client, tenant):
    await login_as(client, tenant.agent, tenant.agent_password)
    base = f"/apps/{tenant.public_id}/agents/{tenant.agent.id}/availability"
    assert (await client.get(base)).status_code == 403
    assert (
        await form_post(client, f"{base}/hours", {"start_0": "00:00", "end_0": "23:00"})
    ).status_code == 403
    assert await WorkingHours.count().where(WorkingHours.user == tenant.agent.id) == 5


async def test_master_view_filters_searches_counts_and_pages(client, tenant, clock):
    day = next_workday(clock.now())
    for i in range(55):
        await insert_booking(
            tenant.app_id,
            tenant.agent.id,
            at_local(day, 8) + timedelta(minutes=30 * i),
            guest_name=f"Guest {i:02d}",
        )
    await insert_booking(
        tenant.app_id,
        tenant.other_agent.id,
        at_local(day, 9),
        guest_name="Maria Lopez",
        guest_email="maria@example.com",
        source="api",
        status="cancelled",
    )
    await insert_booking(
        tenant.app_id, None, at_local(day, 10), guest_name="Pool Person", source="public_booking"
    )
    await login_as(client, tenant.admin, tenant.admin_password)
    base = f"/apps/{tenant.public_id}/bookings"

    page = await client.get(base)
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Showing 1–50 of 57 bookings." in words
    assert "56 scheduled" in words and "1 cancelled" in words
    assert page.text.count("<tr>") == 51  # header + 50 rows
    second = await client.get(f"{base}?page=2")
    assert "Showing 51–57 of 57 bookings." in text_of(second.text)

    found = text_of((await client.get(f"{base}?q=MARIA@example")).text)
    assert "Maria Lopez" in found and "Guest 01" not in found and "of 1 bookings" in found

    by_status = text_of((await client.get(f"{base}?status=cancelled")).text)
    assert "Maria Lopez" in by_status and "Guest 00" not in by_status
    assert "56 scheduled" in by_status  # counts keep showing the other statuses

    by_source = text_of((await client.get(f"{base}?source=public_booking")).text)
    assert "Pool Person" in by_source and "Showing 1–1 of 1" in by_source
    pool = text_of((await client.get(f"{base}?agent=pool")).text)
    assert "Pool Person" in pool and "Maria Lopez" not in pool
    ben = text_of((await client.get(f"{base}?agent={tenant.other_agent.id}")).text)
    assert "Maria Lopez" in ben and "Guest 00" not in ben

    later = (day + timedelta(days=2)).isoformat()
    assert "No bookings match." in text_of((await client.get(f"{base}?from={later}")).text)
    assert "of 34 bookings" in text_of((await client.get(f"{base}?from={day}&to={day}")).text)

    # bad input never breaks the page
    odd = await client.get(f"{base}?status=bogus&from=yesterday&page=-3&agent=x")
    assert odd.status_code == 200 and "Use a date like" in odd.text

    # htmx asks for the results region only
    partial = await client.get(
        f"{base}?q=Pool", headers={"HX-Request": "true", "HX-Target": "booking-results"}
    )
    assert partial.text.lstrip().startswith('<div id="booking-results"') and "Pool Person" in partial.text


async def test_admin_books_on_behalf_of_an_agent(client, tenant, clock):
    await login_as(client, tenant.admin, tenant.admin_password)
    page = await client.get(f"/apps/{tenant.public_id}/bookings/new")
    assert page.status_code == 200 and "Ben Agent" in page.text
    start = workday_slot(clock.now(), 15)
    local = start.astimezone(zone("America/Bogota")).strftime("%Y-%m-%dT%H:%M")
    response = await form_post(
        client,
        f"/apps/{tenant.public_id}/bookings/new",
        {
            "assigned_agent_id": str(tenant.other_agent.id),
            "guest_name": "Olga Phone",
            "guest_email": "olga@example.com",
            "scheduled_at": local,
        },
    )
    assert response.status_code == 303
    booking = await Booking.objects().get(Booking.guest_name == "Olga Phone")
    assert response.headers["location"] == f"/bookings/{booking.id}"
    assert booking.assigned_agent == tenant.other_agent.id and booking.booking_source == "admin"
    assert booking.scheduled_at == start

    missing = await form_post(
        client,
        f"/apps/{tenant.public_id}/bookings/new",
        {"assigned_agent_id": "any", "guest_name": "No Contact", "scheduled_at": local},
    )
    assert missing.status_code == 400
    assert "Give a phone number or an email address." in missing.text
    assert 'value="No Contact"' in missing.text


async def test_master_view_searches_phone_numbers_and_keeps_the_filters_in_the_pager(client, tenant, clock):
    day = next_workday(clock.now())
    await insert_booking(
        tenant.app_id,
        tenant.agent.id,
        at_local(day, 9),
        guest_name="Phone Match",
        guest_phone="+573009998877",
    )
    for i in range(51):
        await insert_booking(
            tenant.app_id,
            tenant.agent.id,
            at_local(day, 10),
            guest_name=f"Busy {i:02d}",
            status="cancelled",
            guest_phone="+573001112233",
        )
    await login_as(client, tenant.admin, tenant.admin_password)
    base = f"/apps/{tenant.public_id}/bookings"

    found = text_of((await client.get(f"{base}?q=9998877")).text)
    assert "Phone Match" in found and "Busy 00" not in found

    page = await client.get(f"{base}?status=cancelled&agent={tenant.agent.id}")
    assert "Showing 1–50 of 51 bookings." in text_of(page.text)
    following = re.search(r'href="(\?[^"]*page=2[^"]*)"', page.text).group(1).replace("&amp;", "&")
    assert "status=cancelled" in following and f"agent={tenant.agent.id}" in following
    assert "Showing 51–51 of 51 bookings." in text_of((await client.get(base + following)).text)


async def test_availability_errors_are_shown_next_to_their_fields(client, tenant, clock):
    await login_as(client, tenant.admin, tenant.admin_password)
    base = f"/apps/{tenant.public_id}/agents/{tenant.agent.id}/availability"
    day = next_workday(clock.now())

    exc = await form_post(
        client, f"{base}/exceptions", {"kind": "holiday", "starts_at": f"{day}T12:00", "ends_at": "later"}
    )
    assert exc.status_code == 400
    assert 'aria-describedby="kind-error"' in exc.text and 'id="ends_at-error"' in exc.text
    assert f'value="{day}T12:00"' in exc.text  # what was typed stays

    dnd = await form_post(client, f"{base}/dnd", {"starts_at": f"{day}T15:00", "ends_at": f"{day}T14:00"})
    assert dnd.status_code == 400 and "The end must be after the start." in dnd.text
    assert await AvailabilityException.count() == 0 and await DndWindow.count() == 0

    # another app's member is not reachable through this app
    assert (await client.get(f"/apps/{tenant.public_id}/agents/999999/availability")).status_code == 404


async def test_admin_cannot_book_for_someone_outside_the_app(client, tenant, clock, make_user):
    outsider = await make_user("outsider@example.com", "outsider password")
    await login_as(client, tenant.admin, tenant.admin_password)
    local = workday_slot(clock.now(), 15).astimezone(zone("America/Bogota")).strftime("%Y-%m-%dT%H:%M")
    response = await form_post(
        client,
        f"/apps/{tenant.public_id}/bookings/new",
        {
            "assigned_agent_id": str(outsider.id),
            "guest_name": "Nobody's Guest",
            "guest_email": "guest@example.com",
            "scheduled_at": local,
        },
    )
    assert response.status_code == 400 and 'id="assigned_agent_id-error"' in response.text
    assert await Booking.count() == 0


async def test_admin_removes_an_agent_who_then_loses_access(client, tenant):
    await login_as(client, tenant.admin, tenant.admin_password)
    removed = await form_post(
        client, f"/apps/{tenant.public_id}/members/{tenant.other_agent.id}", {"remove": "1"}
    )
    assert removed.status_code == 200 and "Member removed." in removed.text
    assert "Ben Agent" not in text_of(removed.text)
    assert await Membership.count().where(Membership.user == tenant.other_agent.id) == 0
    assert await WorkingHours.count().where(WorkingHours.user == tenant.other_agent.id) == 0
    gone = await form_post(
        client, f"/apps/{tenant.public_id}/members/{tenant.other_agent.id}", {"remove": "1"}
    )
    assert gone.status_code == 404

    await login_as(client, tenant.other_agent, tenant.agent_password)
    assert (await client.get(f"/my-schedules?app={tenant.public_id}")).status_code == 404


async def test_admin_is_told_which_bookings_a_dnd_window_affects(client, tenant, clock):
    day = next_workday(clock.now())
    await insert_booking(tenant.app_id, tenant.agent.id, at_local(day, 10), guest_name="Eve Early")
    await insert_booking(tenant.app_id, tenant.other_agent.id, at_local(day, 10), guest_name="Not Ana's")
    await login_as(client, tenant.admin, tenant.admin_password)
    base = f"/apps/{tenant.public_id}/agents/{tenant.agent.id}/availability"
    saved = await form_post(client, f"{base}/dnd", {"starts_at": f"{day}T09:00", "ends_at": f"{day}T11:00"})
    assert saved.status_code == 200
    assert "It affects 1 booking of this agent" in text_of(saved.text)
    quiet = await form_post(client, f"{base}/dnd", {"starts_at": f"{day}T14:00", "ends_at": f"{day}T15:00"})
    assert "Do-not-disturb window added." in text_of(quiet.text) and "It affects" not in quiet.text
