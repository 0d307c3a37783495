"""Rows named by id in a URL belong to someone: a known id of another agent's or another tenant's
row, put into one's own path, finds nothing (404) and changes nothing. Bookings are swept in
test_console_access.py; these are the other rows addressed by id."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

from datetime import timedelta

from tests.conftest import form_post
from tests.fixtures.api import make_api, tenant  # noqa: F401
from tests.fixtures.console import login_as
from tests.fixtures.scheduling import create_tenant, workday_slot
from web.db.tables import ApiClient, DndWindow, Membership


async def test_an_agent_cannot_remove_another_agents_do_not_disturb_window(client, tenant, clock):
    start = workday_slot(clock.now(), 12)
    bens = DndWindow(
        app=tenant.app_id, user=tenant.other_agent.id, starts_at=start, ends_at=start + timedelta(hours=1)
    )
    await bens.save()
    await login_as(client, tenant.agent, tenant.agent_password)
    for headers in ({}, {"HX-Request": "true"}):
        response = await form_post(
            client, f"/my-schedules/{tenant.public_id}/dnd/{bens.id}/delete", headers=headers
        )
        assert response.status_code == 404
    assert await DndWindow.count().where(DndWindow.id == bens.id) == 1


async def test_another_tenants_admin_cannot_touch_this_tenants_rows_from_their_own_app(client, tenant, clock):
    other = await create_tenant("Other Co")
    api = await make_api(client, tenant)  # this tenant's integration, with a working token
    row = await ApiClient.objects().get(ApiClient.client_id == api.client_id)
    await login_as(client, other.admin, other.admin_password)

    revoked = await form_post(client, f"/apps/{other.public_id}/api-clients/{row.id}/revoke")
    assert revoked.status_code == 404
    for form in ({"role": "admin"}, {"remove": "1"}):
        changed = await form_post(client, f"/apps/{other.public_id}/members/{tenant.agent.id}", form)
        assert changed.status_code == 404, form
    hours = await client.get(f"/apps/{other.public_id}/agents/{tenant.agent.id}/availability")
    assert hours.status_code == 404

    assert (await api.get("/scheduled-calls")).status_code == 200  # the token still works
    roles = await Membership.select(Membership.role).where(
        (Membership.app == tenant.app_id) & (Membership.user == tenant.agent.id)
    )
    assert roles == [{"role": "agent"}]


async def test_an_api_client_lists_and_finds_only_its_own_apps_calls(client, tenant, clock):
    other = await create_tenant("Other clinic")
    ours, theirs = await make_api(client, tenant), await make_api(client, other, client_id="their-client")
    for api, name in ((ours, "Olga Ours"), (theirs, "Olga Theirs")):
        created = await api.post(
            "/scheduled-calls",
            json={
                "guestName": name,
                "guestEmail": "olga@example.com",
                "scheduledAtUtc": workday_slot(clock.now()).isoformat(),
                "appTimezone": api.tenant.timezone,
            },
        )
        assert created.status_code == 201, created.text
    for params in ({}, {"search": "Olga"}, {"search": "olga@example.com"}, {"limit": 200}):
        listed = (await ours.get("/scheduled-calls", params=params)).json()
        assert [c["guest_name"] for c in listed["data"]["calls"]] == ["Olga Ours"], params
        assert listed["pagination"]["total"] == 1
