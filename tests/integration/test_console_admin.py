"""The admin console: apps, overview, the scheduling preset form, and who may open them."""

from __future__ import annotations

import re

from tests.conftest import form_post
from tests.fixtures.console import insert_booking, login_as, text_of
from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant  # noqa: F401
from tests.fixtures.scheduling import at_local, next_workday, tenant  # noqa: F401
from web.db.tables import Preset
from web.scheduling.presets import PRESET_FIELDS, get_preset, preset_values


def preset_form(**changes) -> dict:
    data = {
        "scheduling_enabled": "on",
        "assignment_mode": "round_robin",
        "default_duration_minutes": "45",
        "buffer_before_minutes": "5",
        "buffer_after_minutes": "10",
        "no_show_grace_minutes": "10",
        "booking_rate_limit": "3",
        "customer_may_cancel": "on",
        "genesys_dispatch_enabled": "on",
        "dispatch_minutes_before": "7",
        "dispatch_include_intake_notes": "on",
        "reminder_invitation": ["whatsapp"],
        "reminder_reminder_1h": ["whatsapp", "genesys"],
    }
    data.update(changes)
    return data


def checked(html: str, input_id: str) -> bool:
    tag = re.search(rf'<input[^>]*id="{input_id}"[^>]*>', html)
    assert tag, input_id
    return " checked" in tag.group(0)


async def test_admin_sees_apps_and_the_overview_counts(client, tenant, clock):
    day = next_workday(clock.now())
    await insert_booking(tenant.app_id, tenant.agent.id, at_local(day, 9), guest_name="Up Next")
    await insert_booking(tenant.app_id, tenant.agent.id, at_local(day, 10), status="cancelled")
    await login_as(client, tenant.admin, tenant.admin_password)
    apps = await client.get("/apps")
    assert apps.status_code == 200 and "Acme Video" in text_of(apps.text)
    assert f'href="/apps/{tenant.public_id}"' in apps.text

    overview = await client.get(f"/apps/{tenant.public_id}")
    assert overview.status_code == 200
    words = text_of(overview.text)
    assert "1 scheduled" in words and "1 cancelled" in words and "0 completed" in words
    assert "Up Next" in words


async def test_preset_form_shows_every_setting(client, genesys_tenant):
    tenant = genesys_tenant  # the dispatch settings show once Genesys is provisioned
    await login_as(client, tenant.admin, tenant.admin_password)
    page = await client.get(f"/apps/{tenant.public_id}/preset")
    assert page.status_code == 200
    for name in PRESET_FIELDS:
        if name != "reminders":
            assert f'name="{name}"' in page.text, name
    assert "Pre-meeting Genesys dispatch" in page.text and "Minutes before" in page.text
    assert "Include intake notes" in page.text
    assert 'id="reminder-conflict_notice-genesys"' in page.text
    # zero is shown, not blank
    assert re.search(r'<input id="buffer_before_minutes"[^>]* value="0"', page.text)
    # every input has a label
    for input_id in re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', page.text):
        assert f'for="{input_id}"' in page.text, input_id


async def test_preset_is_saved_and_shown_back(client, tenant):
    await login_as(client, tenant.admin, tenant.admin_password)
    response = await form_post(client, f"/apps/{tenant.public_id}/preset", preset_form())
    assert response.status_code == 200
    assert "Preset saved." in response.text
    values = preset_values(await get_preset(tenant.app_id))
    assert values["assignment_mode"] == "round_robin"
    assert values["default_duration_minutes"] == 45 and values["buffer_after_minutes"] == 10
    assert values["genesys_dispatch_enabled"] is True and values["dispatch_minutes_before"] == 7
    assert values["dispatch_include_intake_notes"] is True
    assert values["require_confirmation"] is False  # unticked
    assert values["reminders"] == {"invitation": ["whatsapp"], "reminder_1h": ["whatsapp", "genesys"]}
    page = await client.get(f"/apps/{tenant.public_id}/preset")
    assert checked(page.text, "reminder-reminder_1h-genesys")
    assert not checked(page.text, "reminder-reminder_24h-whatsapp")


async def test_preset_errors_are_shown_next_to_the_field(client, genesys_tenant):
    tenant = genesys_tenant
    await login_as(client, tenant.admin, tenant.admin_password)
    before = preset_values(await get_preset(tenant.app_id))
    bad = preset_form(dispatch_minutes_before="500", default_duration_minutes="soon")
    full = await form_post(client, f"/apps/{tenant.public_id}/preset", bad)
    assert full.status_code == 400
    assert 'aria-describedby="dispatch_minutes_before-error"' in full.text
    assert "Dispatch minutes before must be between 1 and 120." in full.text
    assert 'id="default_duration_minutes-error"' in full.text
    assert 'value="500"' in full.text and 'value="soon"' in full.text  # what was typed stays
    assert preset_values(await get_preset(tenant.app_id)) == before

    headers = {"HX-Request": "true", "x-csrftoken": client.cookies["punctual_csrf"]}
    partial = await client.post(f"/apps/{tenant.public_id}/preset", data=bad, headers=headers)
    assert partial.status_code == 200
    assert partial.text.lstrip().startswith("<form") and "<html" not in partial.text
    assert 'aria-invalid="true"' in partial.text
    assert await Preset.count() == 1


async def test_agents_and_strangers_are_kept_out(client, tenant, make_user):
    await login_as(client, tenant.agent, tenant.agent_password)
    for path in ("", "/preset", "/members", "/bookings", "/bookings/new", "/api-clients"):
        response = await client.get(f"/apps/{tenant.public_id}{path}")
        assert response.status_code == 403, path
        assert "You do not have access to this page" in response.text
    refused = await form_post(client, f"/apps/{tenant.public_id}/preset", preset_form())
    assert refused.status_code == 403
    assert preset_values(await get_preset(tenant.app_id))["assignment_mode"] == "manual"

    stranger = await make_user("stranger@example.com", "stranger password")
    await login_as(client, stranger, "stranger password")
    response = await client.get(f"/apps/{tenant.public_id}/preset")
    assert response.status_code == 404 and "Page not found" in response.text
    assert (await client.get("/apps/00000000-0000-4000-8000-000000000000")).status_code == 404


async def test_superusers_manage_every_app(client, tenant, make_user):
    root = await make_user("root@example.com", "root password 1", superuser=True)
    await login_as(client, root, "root password 1")
    assert "Acme Video" in text_of((await client.get("/apps")).text)
    assert (await client.get(f"/apps/{tenant.public_id}/preset")).status_code == 200
