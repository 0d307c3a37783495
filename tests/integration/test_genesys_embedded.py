"""The embedded My schedules and the agent's sign-in through Genesys (the simulator's login host)."""
# Fixtures are imported by name and then requested as parameters (pytest), which ruff reads as redefinitions.

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import parse_qs, urlsplit

from simulators.genesys.fixture import ANA_ID, CLEO_ID, OTHER_ORG_USER_ID
from tests.conftest import csrf_token
from tests.fixtures.console import insert_booking, text_of
from tests.fixtures.genesys_app import (  # noqa: F401
    APPS_ORIGIN,
    embedded_tenant,
    embedded_url,
    genesys_sign_in,
    genesys_sim,
    genesys_tenant,
    pick_user,
    tenant,
    widget_url,
)
from tests.fixtures.scheduling import create_tenant, workday_slot
from web.db.tables import Booking, Dispatch, DispatchStatus, DndWindow, GenesysSettings, Membership, Preset
from web.genesys.provisioning import my_schedules_properties


def frame_ancestors(response) -> str:
    csp = response.headers["content-security-policy"]
    return next(part.strip() for part in csp.split(";") if part.strip().startswith("frame-ancestors"))


async def test_agent_signs_in_and_sees_own_bookings_in_compact_chrome(
    client, embedded_tenant, genesys_sim, clock
):
    tenant = embedded_tenant
    start = workday_slot(clock.now())
    await insert_booking(tenant.app_id, tenant.agent.id, start, guest_name="Gloria Own")
    await insert_booking(
        tenant.app_id, tenant.other_agent.id, start.replace(hour=start.hour + 1), guest_name="Boris Else"
    )
    week = start.date().isoformat()

    page = await genesys_sign_in(client, genesys_sim, embedded_url(tenant, week=week), ANA_ID)

    assert page.status_code == 200, page.text
    assert "Gloria Own" in page.text
    assert "Boris Else" not in page.text
    assert "chrome-compact" in page.text
    assert frame_ancestors(page) == f"frame-ancestors {APPS_ORIGIN}"
    assert "x-frame-options" not in page.headers
    # Signed in now: opening it again shows the agenda straight away.
    again = await client.get(embedded_url(tenant, week=week))
    assert again.status_code == 200 and "Gloria Own" in again.text


async def test_session_cookie_is_partitioned_for_the_iframe(client, embedded_tenant, genesys_sim):
    start = await client.get(embedded_url(embedded_tenant))
    callback = await pick_user(genesys_sim, start.headers["location"], ANA_ID)
    parts = urlsplit(callback)
    landed = await client.get(f"{parts.path}?{parts.query}")
    assert landed.status_code == 302
    cookie = next(v for k, v in landed.headers.multi_items() if k == "set-cookie" and "punctual_session" in v)
    assert "SameSite=None" in cookie and "Secure" in cookie and "Partitioned" in cookie


async def test_sign_in_uses_pkce_and_the_tenants_login_host(client, embedded_tenant, genesys_sim):
    start = await client.get(embedded_url(embedded_tenant))
    location = urlsplit(start.headers["location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}" == genesys_sim.url
    assert location.path == "/oauth/authorize"
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://localhost:8000/genesys/auth/callback"]
    # The state is an opaque id: none of the query values travel through Genesys.
    assert embedded_tenant.public_id not in query["state"][0]


async def test_user_of_another_org_is_refused(client, embedded_tenant, genesys_sim):
    page = await genesys_sign_in(client, genesys_sim, embedded_url(embedded_tenant), OTHER_ORG_USER_ID)
    assert page.status_code == 403
    assert "This Genesys user belongs to another organization" in text_of(page.text)
    assert "punctual_session" not in page.headers.get("set-cookie", "")
    assert (await client.get(embedded_url(embedded_tenant))).status_code == 302  # still not signed in


async def test_genesys_user_who_is_not_an_agent_of_the_app_is_refused(client, embedded_tenant, genesys_sim):
    page = await genesys_sign_in(client, genesys_sim, embedded_url(embedded_tenant), CLEO_ID)
    assert page.status_code == 403
    assert "Your Genesys user is not an agent of Acme Video" in text_of(page.text)
    assert frame_ancestors(page) == f"frame-ancestors {APPS_ORIGIN}"


async def test_forged_or_missing_query_values_get_the_refusal_page(client, embedded_tenant):
    tenant = embedded_tenant
    for url in (
        embedded_url(tenant, host_origin="https://evil.example.com"),
        embedded_url(tenant, host_origin="https://apps.mypurecloud.com/path"),
        embedded_url(tenant, host_origin="javascript:alert(1)"),
        embedded_url(tenant).replace(tenant.public_id, "not-a-uuid"),
        embedded_url(tenant).replace("gcHostOrigin", "otherParam"),
        embedded_url(tenant, gcUsePopupAuth="maybe"),
    ):
        page = await client.get(url)
        assert page.status_code == 400, url
        assert "This link is not valid" in text_of(page.text), url
        assert "x-frame-options" not in page.headers


async def test_app_not_provisioned_shows_why(client, embedded_tenant):
    await GenesysSettings.update({GenesysSettings.last_test_ok: False}).where(
        GenesysSettings.app == embedded_tenant.app_id
    )
    page = await client.get(embedded_url(embedded_tenant))
    assert page.status_code == 403
    assert "Genesys is not set up for this video app" in text_of(page.text)


async def test_sign_in_state_is_single_use(client, embedded_tenant, genesys_sim):
    start = await client.get(embedded_url(embedded_tenant))
    callback = urlsplit(await pick_user(genesys_sim, start.headers["location"], ANA_ID))
    first = await client.get(f"{callback.path}?{callback.query}")
    assert first.status_code == 302
    client.cookies.clear()
    replay = await client.get(f"{callback.path}?{callback.query}")
    assert replay.status_code == 400
    assert "expired or was already used" in text_of(replay.text)


async def test_popup_sign_in_hands_a_one_time_ticket_to_the_iframe(client, embedded_tenant, genesys_sim):
    url = embedded_url(embedded_tenant, popup=True)
    page = await client.get(url)
    assert page.status_code == 200
    assert "Sign in with Genesys" in page.text
    authorize_url = html.unescape(re.search(r'href="([^"]+/oauth/authorize[^"]+)"', page.text).group(1))
    assert authorize_url.startswith(genesys_sim.url)
    callback = urlsplit(await pick_user(genesys_sim, authorize_url, ANA_ID))
    # The popup is another cookie partition: it gets a ticket, not a session.
    popup = await client.get(f"{callback.path}?{callback.query}")
    assert popup.status_code == 200
    assert "punctual_session" not in popup.headers.get("set-cookie", "")
    ticket = popup.text.split('data-genesys-ticket="')[1].split('"')[0]

    redeemed = await client.get(f"/genesys/auth/redeem?ticket={ticket}")
    assert redeemed.status_code == 302
    agenda = await client.get(redeemed.headers["location"])
    assert agenda.status_code == 200 and "My schedules" in agenda.text

    client.cookies.clear()
    again = await client.get(f"/genesys/auth/redeem?ticket={ticket}")
    assert again.status_code == 400


async def test_htmx_post_with_csrf_works_in_the_embedded_session(client, embedded_tenant, genesys_sim, clock):
    tenant = embedded_tenant
    await genesys_sign_in(client, genesys_sim, embedded_url(tenant), ANA_ID)
    day = workday_slot(clock.now()).date().isoformat()
    response = await client.post(
        f"/my-schedules/{tenant.public_id}/dnd",
        data={"starts_at": f"{day}T12:00", "ends_at": f"{day}T13:00", "reason": "Lunch", "embedded": "1"},
        headers={"x-csrftoken": csrf_token(client), "hx-request": "true"},
    )
    assert response.status_code == 200, response.text
    assert await DndWindow.count().where(DndWindow.user == tenant.agent.id) == 1


# --- the interaction widget -------------------------------------------------------------------------


async def dispatched_booking(tenant, clock, *, agent=None, notes: str = "Wants to talk about the loan"):
    """A booking whose pre-meeting message opened a Genesys conversation (rows as dispatch leaves them)."""
    start = workday_slot(clock.now())
    booking = await insert_booking(
        tenant.app_id, (agent or tenant.agent).id, start, guest_name="Wanda Widget"
    )
    await Booking.update({Booking.intake_notes: notes}).where(Booking.id == booking.id)
    conversation_id = str(uuid.uuid4())
    await Dispatch.insert(
        Dispatch(
            booking=booking.id,
            live_key=str(booking.id),
            due_at=start,
            status=DispatchStatus.dispatched,
            message_id=f"m-{booking.id}",
            conversation_id=conversation_id,
        )
    )
    return booking, conversation_id


async def test_widget_shows_the_meeting_and_joins_the_host_room(client, embedded_tenant, genesys_sim, clock):
    tenant = embedded_tenant
    booking, conversation_id = await dispatched_booking(tenant, clock)
    await Preset.update({Preset.dispatch_include_intake_notes: True}).where(Preset.app == tenant.app_id)

    page = await genesys_sign_in(client, genesys_sim, widget_url(tenant, conversation_id), ANA_ID)

    assert page.status_code == 200, page.text
    words = text_of(page.text)
    assert "Video meeting with Wanda Widget" in words
    assert "Wants to talk about the loan" in words
    join = re.search(r'<a[^>]*id="join-meeting"[^>]*>', page.text).group(0)
    assert f'href="http://localhost:8000/rooms/{booking.host_token}"' in join
    assert f'data-host-origin="{APPS_ORIGIN}"' in join
    assert frame_ancestors(page) == f"frame-ancestors {APPS_ORIGIN}"


async def test_widget_hides_intake_notes_unless_the_preset_includes_them(
    client, embedded_tenant, genesys_sim, clock
):
    _, conversation_id = await dispatched_booking(embedded_tenant, clock)
    page = await genesys_sign_in(client, genesys_sim, widget_url(embedded_tenant, conversation_id), ANA_ID)
    assert page.status_code == 200
    assert "Wanda Widget" in page.text
    assert "Wants to talk about the loan" not in page.text


async def test_widget_refuses_another_agents_meeting(client, embedded_tenant, genesys_sim, clock):
    _, conversation_id = await dispatched_booking(embedded_tenant, clock, agent=embedded_tenant.other_agent)
    page = await genesys_sign_in(client, genesys_sim, widget_url(embedded_tenant, conversation_id), ANA_ID)
    assert page.status_code == 403
    assert "This video meeting is booked with another agent" in text_of(page.text)
    assert "Wanda Widget" not in page.text


async def test_widget_says_so_for_an_unknown_conversation(client, embedded_tenant, genesys_sim):
    page = await genesys_sign_in(client, genesys_sim, widget_url(embedded_tenant, str(uuid.uuid4())), ANA_ID)
    assert page.status_code == 404
    assert "We could not find a video meeting for this interaction" in text_of(page.text)


async def test_widget_refuses_a_conversation_of_another_app(client, embedded_tenant, genesys_sim, clock):
    other = await create_tenant("Other Video")
    _, conversation_id = await dispatched_booking(other, clock)
    page = await genesys_sign_in(client, genesys_sim, widget_url(embedded_tenant, conversation_id), ANA_ID)
    assert page.status_code == 404
    assert "Wanda Widget" not in page.text


async def test_console_pages_reached_from_genesys_stay_framable_by_genesys_only(
    client, embedded_tenant, genesys_sim, clock
):
    tenant = embedded_tenant
    booking = await insert_booking(tenant.app_id, tenant.agent.id, workday_slot(clock.now()))
    await genesys_sign_in(client, genesys_sim, embedded_url(tenant), ANA_ID)
    for path in (f"/bookings/{booking.id}?embedded=1", f"/my-schedules?app={tenant.public_id}&embedded=1"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert "chrome-compact" in page.text
        assert frame_ancestors(page) == f"frame-ancestors {APPS_ORIGIN}", path
        assert "x-frame-options" not in page.headers


async def test_the_url_provisioned_in_genesys_opens_the_genesys_sign_in(client, embedded_tenant, genesys_sim):
    tenant = embedded_tenant
    url = my_schedules_properties("http://localhost:8000", tenant.public_id)["url"]
    filled = (
        url.replace("{{gcHostOrigin}}", APPS_ORIGIN)
        .replace("{{gcTargetEnv}}", "prod")
        .replace("{{gcLangTag}}", "en-us")
        .replace("{{gcUsePopupAuth}}", "false")
    )
    parts = urlsplit(filled)
    start = await client.get(f"{parts.path}?{parts.query}")
    assert start.status_code == 302, start.text
    assert start.headers["location"].startswith(f"{genesys_sim.url}/oauth/authorize")
    assert frame_ancestors(start) == f"frame-ancestors {APPS_ORIGIN}"


async def test_widget_opens_for_an_admin_of_the_app_too(client, embedded_tenant, genesys_sim, clock):
    tenant = embedded_tenant
    _, conversation_id = await dispatched_booking(tenant, clock)
    await Membership.update({Membership.genesys_user_id: CLEO_ID}).where(
        (Membership.app == tenant.app_id) & (Membership.user == tenant.admin.id)
    )
    page = await genesys_sign_in(client, genesys_sim, widget_url(tenant, conversation_id), CLEO_ID)
    assert page.status_code == 200, page.text
    assert "Video meeting with Wanda Widget" in text_of(page.text)
    assert 'id="join-meeting"' in page.text
