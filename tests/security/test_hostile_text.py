"""Markup and script typed into a guest's name and intake notes stay text wherever they travel: the
booking page, the agent's card, the admin's list, the failure notification (listed, and pushed live
to open pages), the message Genesys receives and the interaction widget. The booking goes the whole
real way: created with the admin form, its pre-meeting message refused once by Genesys (so the agent
is notified), then retried from the console and delivered."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

import html
import json
from datetime import timedelta

import httpx

from simulators.genesys.fixture import ANA_ID
from tests.conftest import form_post
from tests.fixtures.console import AsgiStream, login_as, text_of
from tests.fixtures.genesys_app import (  # noqa: F401
    embedded_tenant,
    embedded_url,
    genesys_sign_in,
    genesys_sim,
    genesys_tenant,
    tenant,
    widget_url,
)
from web.db.tables import Booking
from web.genesys.client import GenesysClient
from web.scheduling import dispatch, dispatch_send, presets
from web.scheduling.hooks import Actor
from web.scheduling.timeutil import zone

NAME = "Eve <script>alert('name')</script> \"quoted\" <img src=x onerror=alert(1)>"
NOTES = "</textarea><script>alert(\"notes\")</script><b onmouseover='alert(2)'>bold</b> & {{ 7*7 }}"
RAW_MARKUP = ("<script>alert", "<img src=x", "<b onmouseover", "</textarea><script")
INBOUND = r"/inbound/open/message"


def assert_shown_as_text(page: httpx.Response, *texts: str) -> None:
    """The page shows each text word for word, and none of its markup reached the page as markup."""
    where = page.request.url
    assert page.status_code == 200, (where, page.status_code)
    for raw in RAW_MARKUP:
        assert raw not in page.text, f"{where}: {raw!r} arrived as markup"
    visible = html.unescape(text_of(page.text))
    for text in texts:
        assert " ".join(text.split()) in visible, f"{where}: {text!r} is not shown"


async def _attempt_due(settings, clock, booking_id) -> str:
    """Fire the dispatch trigger at its planned time, as the worker would."""
    row = await dispatch.live_row(booking_id)
    clock.advance(seconds=max(0.0, (row.next_attempt_at - clock.now()).total_seconds()))
    async with GenesysClient() as genesys:
        deps = dispatch_send.Deps(genesys=genesys, settings=settings)
        return await dispatch_send.attempt(deps, row.id, row.version)


async def test_hostile_guest_text_renders_as_text_everywhere(
    app, client, embedded_tenant, genesys_sim, settings, clock
):
    tenant = embedded_tenant
    admin = Actor("admin", str(tenant.admin.id))
    await presets.save_preset(
        tenant.app_id,
        {
            "genesys_dispatch_enabled": True,
            "dispatch_minutes_before": 5,
            "dispatch_include_intake_notes": True,
        },
        admin,
        clock.now(),
    )
    start = (clock.now() + timedelta(minutes=40)).astimezone(zone(tenant.timezone))

    # The admin books it through the real form.
    await login_as(client, tenant.admin, tenant.admin_password)
    created = await form_post(
        client,
        f"/apps/{tenant.public_id}/bookings/new",
        {
            "assigned_agent_id": str(tenant.agent.id),
            "guest_name": NAME,
            "scheduled_at": start.strftime("%Y-%m-%dT%H:%M"),
            "guest_phone": "+573001112233",
            "intake_notes": NOTES,
            "outside_hours": "on",
        },
    )
    assert created.status_code == 303, text_of(created.text)
    booking = await Booking.objects().get(Booking.guest_name == NAME)
    assert booking.intake_notes == NOTES  # stored as typed, escaped only when shown

    admin_pages = [f"/bookings/{booking.id}", f"/apps/{tenant.public_id}/bookings"]
    for path in admin_pages:
        assert_shown_as_text(await client.get(path), NAME)
    assert_shown_as_text(await client.get(f"/bookings/{booking.id}"), NOTES)

    # Genesys refuses the first send: the agent's open pages get the notification naming the guest
    # (and the failure banner) live, over the event stream.
    await login_as(client, tenant.agent, tenant.agent_password)
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="forbidden")
    async with AsgiStream(app, "/notifications/stream", client.cookies) as stream:
        assert (await stream.next_text()).startswith(": connected")
        assert await _attempt_due(settings, clock, booking.id) == dispatch_send.Outcome.FAILED
        received = ""
        while received.count("event: ") < 2:
            received += await stream.next_text()
    genesys_sim.clear_faults()
    for raw in RAW_MARKUP:
        assert raw not in received, f"live event: {raw!r} arrived as markup"
    assert NAME in html.unescape(received)

    for path in (
        f"/bookings/{booking.id}",
        f"/my-schedules?app={tenant.public_id}&week={start.date().isoformat()}",
        "/notifications",
    ):
        assert_shown_as_text(await client.get(path), NAME)

    # Ana retries from the console; the message Genesys receives carries the text as typed.
    retry = f"/bookings/{booking.id}/dispatch/retry"
    retried = await form_post(client, retry, headers={"HX-Request": "true"})
    assert retried.status_code == 200 and "pre-meeting message sent" in retried.text
    delivered = [r["body"] for r in genesys_sim.inbound_messages() if isinstance(r.get("body"), dict)]
    assert len(delivered) == 2  # the refused attempt, then the delivered one
    body = delivered[-1]
    attributes = body["channel"]["metadata"]["customAttributes"]
    assert body["channel"]["from"]["nickname"] == NAME
    assert attributes["guestName"] == NAME and attributes["intakeNotes"] == NOTES
    assert NAME in body["text"]
    assert "&lt;" not in json.dumps(body) and "&#" not in json.dumps(body)  # plain text, not HTML

    # The widget beside the interaction, signed in through Genesys in a fresh browser.
    conversation_id = (await dispatch.live_row(booking.id)).conversation_id
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver.local") as frame:
        widget = await genesys_sign_in(frame, genesys_sim, widget_url(tenant, conversation_id), ANA_ID)
        assert_shown_as_text(widget, NAME, NOTES)
        agenda = await frame.get(embedded_url(tenant, week=start.date().isoformat()))
        assert_shown_as_text(agenda, NAME)
