"""The dispatch as people see it in the consoles: each card of /my-schedules (full and compact
chrome) says planned / sent / failed, the booking page carries the red banner with Retry now, a
failure reaches an open page live, and the admin overview counts the app's dispatches."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

import re

import pytest

from tests.conftest import form_post
from tests.fixtures.console import AsgiStream, login_as, text_of
from tests.fixtures.dispatch import (
    INBOUND,
    book,
    dispatch_deps,  # noqa: F401
    enable_dispatch,
    events,
    run_due,
)
from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant, tenant  # noqa: F401
from web.db.tables import Dispatch, DispatchStatus, Notification
from web.scheduling import dispatch, dispatch_send
from web.scheduling.timeutil import zone

Outcome = dispatch_send.Outcome


async def three_states(tenant, sim, deps, clock):
    """Bookings whose dispatch is sent, failed and planned (in the order the clock reaches them)."""
    await enable_dispatch(tenant, clock)
    sent = await book(tenant, clock, minutes_ahead=120, guest="Sam Sent")
    failed = await book(tenant, clock, minutes_ahead=180, guest="Fay Failed")
    planned = await book(tenant, clock, minutes_ahead=240, guest="Pat Planned")
    assert await run_due(deps, clock, sent) == Outcome.DISPATCHED
    sim.add_fault(match={"path_regex": INBOUND}, action="forbidden")
    assert await run_due(deps, clock, failed) == Outcome.FAILED
    sim.clear_faults()
    return sent, failed, planned


def card_of(html: str, booking) -> str:
    found = re.search(rf'<article[^>]*id="booking-{booking.id}".*?</article>', html, flags=re.S)
    assert found, f"no card for {booking.guest_name}"
    return found.group(0)


def local_hm(moment, tz) -> str:
    return moment.astimezone(zone(tz)).strftime("%H:%M")


@pytest.mark.parametrize("embedded", [False, True], ids=["full-chrome", "compact-chrome"])
async def test_each_card_shows_its_dispatch_state(
    client, genesys_tenant, genesys_sim, dispatch_deps, clock, embedded
):
    tenant = genesys_tenant
    sent, failed, planned = await three_states(tenant, genesys_sim, dispatch_deps, clock)
    await login_as(client, tenant.agent, tenant.agent_password)

    cards = {}
    for booking in (sent, failed, planned):
        week = booking.scheduled_at.astimezone(zone(tenant.timezone)).date().isoformat()
        query = f"app={tenant.public_id}&week={week}" + ("&embedded=1" if embedded else "")
        page = await client.get(f"/my-schedules?{query}")
        assert page.status_code == 200
        assert ("chrome-compact" in page.text) is embedded
        cards[booking.guest_name] = card_of(page.text, booking)

    planned_row = await dispatch.live_row(planned.id)
    planned_card = cards["Pat Planned"]
    assert 'data-dispatch-state="planned"' in planned_card
    assert f"message planned for {local_hm(planned_row.next_attempt_at, tenant.timezone)}" in text_of(
        planned_card
    )
    assert "could not be sent" not in planned_card

    sent_row = await dispatch.live_row(sent.id)
    sent_card = cards["Sam Sent"]
    assert 'data-dispatch-state="sent"' in sent_card
    assert f"message sent at {local_hm(sent_row.dispatched_at, tenant.timezone)}" in text_of(sent_card)
    assert "could not be sent" not in sent_card

    failed_card = cards["Fay Failed"]
    assert 'data-dispatch-state="failed"' in failed_card
    assert 'role="alert"' in failed_card and "could not be sent" in failed_card
    assert "join it manually" in text_of(failed_card)
    assert f'href="/rooms/{failed.host_token}"' in failed_card
    assert f'action="/bookings/{failed.id}/dispatch/retry"' in failed_card
    assert "Retry now" in failed_card and 'name="_csrf_token"' in failed_card  # works without htmx too


async def test_the_booking_page_banner_and_an_admins_retry_now(
    client, genesys_tenant, genesys_sim, dispatch_deps, clock
):
    tenant = genesys_tenant
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="forbidden")
    await enable_dispatch(tenant, clock)
    booking = await book(tenant, clock)
    row = await dispatch.live_row(booking.id)
    assert await run_due(dispatch_deps, clock, booking) == Outcome.FAILED
    [notice] = await Notification.objects().where(Notification.recipient == tenant.agent.id)
    assert f"at {local_hm(booking.scheduled_at, tenant.timezone)} ({tenant.timezone})" in notice.text

    await login_as(client, tenant.agent, tenant.agent_password)
    page = await client.get(f"/bookings/{booking.id}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "The Genesys pre-meeting message could not be sent" in words
    assert "lack of permissions" in words and "(1 attempt)" in words
    form = re.search(r"<form[^>]*dispatch/retry.*?</form>", page.text, flags=re.S).group(0)
    assert 'name="_csrf_token"' in form

    genesys_sim.clear_faults()
    await login_as(client, tenant.admin, tenant.admin_password)
    response = await form_post(client, f"/bookings/{booking.id}/dispatch/retry")

    assert response.status_code == 303 and response.headers["location"] == f"/bookings/{booking.id}"
    page = await client.get(f"/bookings/{booking.id}")
    assert "could not be sent" not in page.text
    words = text_of(page.text)
    assert "Genesys pre-meeting message sent" in words
    # The timeline tells the story in plain words.
    assert "Genesys pre-meeting message failed after 1 attempt: Genesys refused the request" in words
    assert "Genesys pre-meeting message sent again on request (Retry now)." in words
    assert "Genesys pre-meeting message delivered to the agent&#39;s queue." in words
    [retried] = [e for e in await events(booking, "pre_meeting_scheduled") if e.payload.get("retry")]
    assert retried.actor_type == "admin"
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1
    # The retry is the same message as the failed attempt, never a new one.
    assert {r["body"]["channel"]["messageId"] for r in genesys_sim.inbound_messages()} == {row.message_id}
    assert len(genesys_sim.inbound_messages()) == 2


async def test_a_failure_and_its_retry_reach_the_agents_open_page_live(
    app, client, genesys_tenant, genesys_sim, dispatch_deps, clock
):
    tenant = genesys_tenant
    await enable_dispatch(tenant, clock)
    booking = await book(tenant, clock)
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="not_found")
    await login_as(client, tenant.agent, tenant.agent_password)

    async with AsgiStream(app, "/notifications/stream", client.cookies) as stream:
        assert (await stream.next_text()).startswith(": connected")
        assert await run_due(dispatch_deps, clock, booking) == Outcome.FAILED
        received = ""
        while received.count("event: ") < 2:
            received += await stream.next_text()
        assert "event: notification" in received and "could not be sent" in received
        assert "event: dispatch" in received
        assert f'<div id="dispatch-{booking.id}" hx-swap-oob="true">' in received
        assert f"/rooms/{booking.host_token}" in received

        genesys_sim.clear_faults()
        await form_post(client, f"/bookings/{booking.id}/dispatch/retry", headers={"HX-Request": "true"})
        cleared = ""
        while "event: dispatch" not in cleared:
            cleared += await stream.next_text()
    assert f'<div id="dispatch-{booking.id}" hx-swap-oob="true">' in cleared
    assert "could not be sent" not in cleared and "message sent" in cleared


async def test_the_admin_overview_counts_the_apps_dispatches(
    client, genesys_tenant, genesys_sim, dispatch_deps, clock
):
    tenant = genesys_tenant
    await three_states(tenant, genesys_sim, dispatch_deps, clock)
    await login_as(client, tenant.admin, tenant.admin_password)

    overview = await client.get(f"/apps/{tenant.public_id}")
    assert overview.status_code == 200 and f"/apps/{tenant.public_id}/dispatch-overview" in overview.text
    counts = await client.get(f"/apps/{tenant.public_id}/dispatch-overview")
    assert counts.status_code == 200
    words = text_of(counts.text)
    assert "1 planned 0 sending 1 sent 1 failed 0 overdue" in words

    # A trigger lost past its time shows up as overdue once it is more than a minute late.
    row = await dispatch.live_row((await _planned_booking(tenant)).id)
    clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds() + 61)
    assert "1 planned 0 sending 1 sent 1 failed 1 overdue" in text_of(
        (await client.get(f"/apps/{tenant.public_id}/dispatch-overview")).text
    )
    # So does one whose runner died mid-send a minute ago.
    await Dispatch.update(
        {Dispatch.status: DispatchStatus.sending, Dispatch.updated_at: row.next_attempt_at}
    ).where(Dispatch.id == row.id)
    assert "0 planned 1 sending 1 sent 1 failed 1 overdue" in text_of(
        (await client.get(f"/apps/{tenant.public_id}/dispatch-overview")).text
    )

    await login_as(client, tenant.agent, tenant.agent_password)
    refused = await client.get(f"/apps/{tenant.public_id}/dispatch-overview")
    assert refused.status_code in (403, 404)


async def _planned_booking(tenant):
    from web.db.tables import Booking

    return await Booking.objects().get((Booking.app == tenant.app_id) & (Booking.guest_name == "Pat Planned"))
