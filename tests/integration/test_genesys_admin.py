"""The Genesys tab of a video app, as an admin uses it against the simulator: the settings form,
Test connection, turning My schedules (and the interaction widget) on and off in Genesys, and the
Genesys features of the console staying out of sight until the connection test has passed."""
# Fixtures are imported by name and then requested as parameters (pytest), which ruff reads as redefinitions.

from __future__ import annotations

import logging
import re

from simulators.genesys.fixture import (
    CLIENT_ID,
    CLIENT_SECRET,
    OPEN_INTEGRATION_ID,
    ORG_ID,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    QUEUE_ID,
)
from tests.conftest import csrf_token, form_post
from tests.fixtures.console import login_as, text_of
from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant, tenant  # noqa: F401
from web import seeding
from web.db.tables import GenesysSettings, Preset
from web.genesys import settings_store

MY_SCHEDULES = "My schedules (Acme Video)"
WIDGET = "Video meeting (Acme Video)"


def htmx(client) -> dict[str, str]:
    return {"hx-request": "true", "x-csrftoken": csrf_token(client)}


def settings_form(sim, **changes) -> dict[str, str]:
    return {
        "region": "mypurecloud.com",
        "organization_id": ORG_ID,
        "open_messaging_integration_id": OPEN_INTEGRATION_ID,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "browser_client_id": "",
        "login_base_url": sim.url,
        "api_base_url": sim.url,
        **changes,
    }


def integrations(sim, name: str) -> list[dict]:
    return [i for i in sim.state()["integrations"] if i["name"] == name and not i["deleted"]]


def checks(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-check="(\w+)" data-ok="(true|false)"', html))


async def setup_post(client, tenant, **form) -> str:
    response = await client.post(f"/apps/{tenant.public_id}/genesys/setup", data=form, headers=htmx(client))
    assert response.status_code == 200, response.text
    return response.text


async def test_settings_errors_sit_next_to_their_fields_and_the_secret_is_never_shown(
    client, tenant, genesys_sim, settings, caplog
):
    # Our own loggers at their most talkative; libraries at the production level.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="punctual")
    caplog.set_level(logging.DEBUG, logger="web")
    await login_as(client, tenant.admin, tenant.admin_password)
    url = f"/apps/{tenant.public_id}/genesys"
    bad = settings_form(genesys_sim, organization_id="not-an-org", client_secret="", api_base_url="ftp://x")

    full = await form_post(client, url, bad)
    assert full.status_code == 400
    assert 'aria-describedby="organization_id-error"' in full.text
    assert "The organization id looks like 8-4-4-4-12 hexadecimal digits." in full.text
    assert "Give the client secret of that OAuth client." in full.text
    assert 'id="api_base_url-error"' in full.text
    partial = await client.post(url, data=bad, headers=htmx(client))
    assert partial.status_code == 200 and "<html" not in partial.text
    assert 'aria-invalid="true"' in partial.text
    assert await GenesysSettings.count() == 0

    saved = await client.post(url, data=settings_form(genesys_sim), headers=htmx(client))
    assert saved.status_code == 200 and "Settings saved." in saved.text
    assert "A secret is set" in saved.text
    # An empty secret on a later save keeps the stored one.
    await client.post(url, data=settings_form(genesys_sim, client_secret=""), headers=htmx(client))
    stored = await settings_store.load(tenant.app_id, settings.secret_key)
    assert stored.credentials.client_secret == CLIENT_SECRET
    page = await client.get(url)
    assert page.status_code == 200 and "A secret is set" in page.text
    row = await settings_store.get_row(tenant.app_id)
    for text in (full.text, partial.text, saved.text, page.text, caplog.text):
        assert CLIENT_SECRET not in text and row.client_secret_encrypted not in text


async def test_connection_test_passes_and_only_then_the_genesys_features_appear(client, tenant, genesys_sim):
    await login_as(client, tenant.admin, tenant.admin_password)
    base = f"/apps/{tenant.public_id}"
    await client.post(f"{base}/genesys", data=settings_form(genesys_sim), headers=htmx(client))

    # Saved but not tested: nothing of Genesys shows elsewhere, and setup is refused.
    page = await client.get(f"{base}/genesys")
    assert "Turn on My schedules" not in page.text
    assert "Available once all settings are saved and the connection test has passed." in page.text
    assert "Pre-meeting Genesys dispatch" not in (await client.get(f"{base}/preset")).text
    assert "dispatch-overview" not in (await client.get(base)).text
    refused = await setup_post(client, tenant, action="enable")
    assert "Turn on My schedules" not in refused
    assert genesys_sim.state()["integrations"] == []

    tested = await client.post(f"{base}/genesys/test", headers=htmx(client))
    assert tested.status_code == 200
    assert checks(tested.text) == {"token": "true", "organization": "true", "integration": "true"}
    assert "Connected" in text_of(tested.text)
    assert "Turn on My schedules" in tested.text  # the setup arrives with the passing test

    assert "Pre-meeting Genesys dispatch" in (await client.get(f"{base}/preset")).text
    assert f"{base}/dispatch-overview" in (await client.get(base)).text


async def test_connection_test_says_what_is_wrong_in_plain_words(client, tenant, genesys_sim):
    await login_as(client, tenant.admin, tenant.admin_password)
    base = f"/apps/{tenant.public_id}"
    other_org = settings_form(genesys_sim, client_id=OTHER_CLIENT_ID, client_secret=OTHER_CLIENT_SECRET)
    await client.post(f"{base}/genesys", data=other_org, headers=htmx(client))
    tested = await client.post(f"{base}/genesys/test", headers=htmx(client))
    assert checks(tested.text) == {"token": "true", "organization": "false"}
    assert "The OAuth client belongs to another organization: Other Org" in text_of(tested.text)

    await client.post(
        f"{base}/genesys", data=settings_form(genesys_sim, client_secret="wrong"), headers=htmx(client)
    )
    tested = await client.post(f"{base}/genesys/test", headers=htmx(client))
    assert checks(tested.text) == {"token": "false"}
    assert "Not connected" in text_of(tested.text)
    assert "Turn on My schedules" not in tested.text
    assert not settings_store.is_provisioned(await settings_store.get_row(tenant.app_id))


async def test_turning_on_my_schedules_creates_one_client_app_and_says_how_to_assign_it(
    client, genesys_tenant, genesys_sim, settings
):
    tenant = genesys_tenant
    await login_as(client, tenant.admin, tenant.admin_password)
    page = await client.get(f"/apps/{tenant.public_id}/genesys")
    assert "Turn on My schedules" in page.text

    answer = await setup_post(client, tenant, action="enable", groups="", widget_queue_ids="")
    assert "Genesys updated." in answer
    [created] = integrations(genesys_sim, MY_SCHEDULES)
    assert created["intendedState"] == "ENABLED"
    url = created["config"]["current"]["properties"]["url"]
    assert url.startswith(f"{settings.public_url}/genesys/my-schedules?app={tenant.public_id}&")
    assert "gcHostOrigin={{gcHostOrigin}}" in url
    words = text_of(answer)
    assert f"integration {created['id']}" in words and "Genesys reports ACTIVE" in words
    # How the admin makes the app show up for the right people in Genesys.
    assert "Group Filtering" in words and "Roles" in words
    assert "agentUserId" in words and "Architect" in words
    assert integrations(genesys_sim, WIDGET) == []  # dispatch is off: no widget

    again = await setup_post(client, tenant, action="enable", groups="", widget_queue_ids="")
    assert "Genesys updated." in again
    assert [i["id"] for i in integrations(genesys_sim, MY_SCHEDULES)] == [created["id"]]

    off = await setup_post(client, tenant, action="disable", groups="", widget_queue_ids="")
    assert "Turn on My schedules" in off
    [disabled] = integrations(genesys_sim, MY_SCHEDULES)
    assert disabled["id"] == created["id"] and disabled["intendedState"] == "DISABLED"


async def test_setup_rides_out_a_version_conflict_and_reports_one_that_persists(
    client, genesys_tenant, genesys_sim
):
    tenant = genesys_tenant
    await login_as(client, tenant.admin, tenant.admin_password)
    conflict = {"match": {"method": "PUT", "path_regex": r"/config/current$"}, "action": "version_conflict"}

    genesys_sim.add_fault(**conflict, times=1)
    answer = await setup_post(client, tenant, action="enable")
    assert "Genesys updated." in answer
    [created] = integrations(genesys_sim, MY_SCHEDULES)
    assert created["config"]["current"]["properties"]["url"].startswith("http")

    genesys_sim.add_fault(**conflict)  # until cleared: someone keeps editing it in Genesys
    persisting = await setup_post(
        client, tenant, action="enable", groups="44444444-4444-4444-8444-444444444444"
    )
    assert "My schedules:" in text_of(persisting) and "Genesys updated." not in persisting
    assert "Traceback" not in persisting
    genesys_sim.clear_faults()
    assert [i["id"] for i in integrations(genesys_sim, MY_SCHEDULES)] == [created["id"]]


async def test_with_dispatch_on_the_setup_keeps_the_interaction_widget(client, genesys_tenant, genesys_sim):
    tenant = genesys_tenant
    await Preset.update({Preset.genesys_dispatch_enabled: True}).where(Preset.app == tenant.app_id)
    await login_as(client, tenant.admin, tenant.admin_password)
    page = await client.get(f"/apps/{tenant.public_id}/genesys")
    assert "Pre-meeting dispatch is on: apply the setup to create the widget." in text_of(page.text)

    await setup_post(client, tenant, action="enable", widget_queue_ids=QUEUE_ID)
    [widget] = integrations(genesys_sim, WIDGET)
    properties = widget["config"]["current"]["properties"]
    assert widget["intendedState"] == "ENABLED"
    assert properties["communicationTypeFilter"] == "open"
    assert properties["queueIdFilterList"] == [QUEUE_ID]
    assert "conversationId={{gcConversationId}}" in properties["url"]

    # Dispatch turned off: the widget is switched off with the next update, not deleted.
    await Preset.update({Preset.genesys_dispatch_enabled: False}).where(Preset.app == tenant.app_id)
    await setup_post(client, tenant, action="enable")
    [kept] = integrations(genesys_sim, WIDGET)
    assert kept["id"] == widget["id"] and kept["intendedState"] == "DISABLED"
    assert integrations(genesys_sim, MY_SCHEDULES)[0]["intendedState"] == "ENABLED"


async def test_setup_ids_are_checked_next_to_their_fields(client, genesys_tenant, genesys_sim):
    tenant = genesys_tenant
    await login_as(client, tenant.admin, tenant.admin_password)
    answer = await setup_post(client, tenant, action="enable", groups="video agents", widget_queue_ids="")
    assert 'aria-describedby="groups-error"' in answer
    assert "Give ids of 8-4-4-4-12 hexadecimal digits" in answer
    assert "video agents" in answer  # what was typed stays
    assert genesys_sim.state()["integrations"] == []


async def test_settings_from_the_seed_file_show_on_the_tab_and_pass_the_test(
    client, tenant, genesys_sim, settings
):
    document = {
        "apps": [
            {
                "id": tenant.public_id,
                "name": "Acme Video",
                "timezone": tenant.timezone,
                "genesys": {k: v for k, v in settings_form(genesys_sim).items() if k != "browser_client_id"},
            }
        ]
    }
    plan, problems = seeding.validate_seed(document)
    assert problems == []
    assert await seeding.apply_seed(plan, settings.secret_key) == ["app 'Acme Video': Genesys settings saved"]
    assert await seeding.apply_seed(plan, settings.secret_key) == ["nothing to change"]

    await login_as(client, tenant.admin, tenant.admin_password)
    page = await client.get(f"/apps/{tenant.public_id}/genesys")
    assert f'value="{ORG_ID}"' in page.text and "A secret is set" in page.text
    assert CLIENT_SECRET not in page.text
    tested = await client.post(f"/apps/{tenant.public_id}/genesys/test", headers=htmx(client))
    assert checks(tested.text) == {"token": "true", "organization": "true", "integration": "true"}
