"""Client-app integrations in the Genesys simulator."""

import pytest

from simulators.genesys import fixture as gf
from tests.simulators.sim_helpers import assert_error, assert_model, client_token, user_token

APP_PROPERTIES = {
    "url": "https://app.example.com/gc/schedules?gcHostOrigin={{gcHostOrigin}}",
    "displayType": "standalone",
    "featureCategory": "",
    "sandbox": "allow-scripts,allow-same-origin,allow-forms,allow-popups",
    "permissions": "camera,microphone",
    "groups": [],
}


async def create(client, api, type_id="embedded-client-app", name="My schedules"):
    reply = await client.post(
        "/api/v2/integrations", json={"name": name, "integrationType": {"id": type_id}}, headers=api
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


async def configure(client, api, integration_id, properties, version=1, name="My schedules"):
    body = {
        "name": name,
        "version": version,
        "properties": properties,
        "advanced": {},
        "notes": "",
        "credentials": {},
    }
    return await client.put(f"/api/v2/integrations/{integration_id}/config/current", json=body, headers=api)


async def test_create_configure_enable_list_delete(client, api):
    created = await create(client, api)
    assert_model("Integration", created)
    assert (created["intendedState"], created["reportedState"]["code"]) == ("DISABLED", "INACTIVE")
    assert created["config"]["current"]["version"] == 1
    integration_id = created["id"]

    config = (await client.get(f"/api/v2/integrations/{integration_id}/config/current", headers=api)).json()
    assert_model("IntegrationConfiguration", config)
    updated = await configure(client, api, integration_id, APP_PROPERTIES)
    assert updated.status_code == 200
    assert updated.json()["version"] == 2 and updated.json()["properties"] == APP_PROPERTIES

    enabled = (
        await client.patch(
            f"/api/v2/integrations/{integration_id}", json={"intendedState": "ENABLED"}, headers=api
        )
    ).json()
    assert (enabled["intendedState"], enabled["reportedState"]["code"]) == ("ENABLED", "ACTIVE")

    listing = (
        await client.get(
            "/api/v2/integrations", params={"integrationType": "embedded-client-app"}, headers=api
        )
    ).json()
    assert_model("IntegrationEntityListing", listing)
    assert [e["id"] for e in listing["entities"]] == [integration_id]
    widgets = (
        await client.get(
            "/api/v2/integrations",
            params={"integrationType": "embedded-client-app-interaction-widget"},
            headers=api,
        )
    ).json()
    assert widgets["entities"] == []

    deleted = await client.delete(f"/api/v2/integrations/{integration_id}", headers=api)
    assert deleted.status_code == 200 and deleted.json()["id"] == integration_id
    assert_error(await client.get(f"/api/v2/integrations/{integration_id}", headers=api), 404, "not.found")


async def test_stale_config_version_conflicts(client, api):
    integration_id = (await create(client, api))["id"]
    assert (await configure(client, api, integration_id, APP_PROPERTIES)).status_code == 200
    error = assert_error(
        await configure(client, api, integration_id, APP_PROPERTIES, version=1), 409, "general.conflict"
    )
    assert "does not match the current version" in error["message"]
    await client.post("/__sim/config", json={"version_conflict_status": 400})
    assert_error(await configure(client, api, integration_id, APP_PROPERTIES, version=1), 400, "bad.request")


async def test_config_put_requires_every_field(client, api):
    integration_id = (await create(client, api))["id"]
    body = {"name": "x", "version": 1, "properties": APP_PROPERTIES, "advanced": {}, "notes": ""}
    reply = await client.put(f"/api/v2/integrations/{integration_id}/config/current", json=body, headers=api)
    assert assert_error(reply, 400, "bad.request")["details"][0]["fieldName"] == "credentials"


@pytest.mark.parametrize(
    ("type_id", "change", "field"),
    [
        ("embedded-client-app", {"displayType": "fullscreen"}, "properties.displayType"),
        ("embedded-client-app", {"url": "http://app.example.com/"}, "properties.url"),
        ("embedded-client-app", {"groups": "everyone"}, "properties.groups"),
        ("embedded-client-app", {"queueIdFilterList": []}, "properties.queueIdFilterList"),
        (
            "embedded-client-app-interaction-widget",
            {"communicationTypeFilter": "open,message"},
            "properties.communicationTypeFilter",
        ),
        ("embedded-client-app-interaction-widget", {"displayType": "widget"}, "properties.displayType"),
    ],
)
async def test_property_validation(client, api, type_id, change, field):
    integration_id = (await create(client, api, type_id))["id"]
    base = {
        k: v
        for k, v in APP_PROPERTIES.items()
        if type_id == "embedded-client-app" or k not in ("displayType", "featureCategory")
    }
    error = assert_error(await configure(client, api, integration_id, {**base, **change}), 400, "bad.request")
    assert error["details"][0]["fieldName"] == field
    assert "Input validation error" in error["message"]


async def test_widget_accepts_localhost_http_and_known_media(client, api):
    integration_id = (await create(client, api, "embedded-client-app-interaction-widget"))["id"]
    properties = {
        "url": "http://localhost:8000/gc/meeting?conversationId={{gcConversationId}}",
        "sandbox": "allow-scripts",
        "permissions": "",
        "groups": [],
        "queueIdFilterList": [gf.QUEUE_ID],
        "communicationTypeFilter": "open,webmessaging",
    }
    assert (await configure(client, api, integration_id, properties)).status_code == 200


async def test_strict_mode_on_integration_bodies(client, api):
    reply = await client.post(
        "/api/v2/integrations",
        json={"name": "x", "integrationType": {"id": "embedded-client-app"}, "intendedStat": "ENABLED"},
        headers=api,
    )
    assert assert_error(reply, 400, "bad.request")["details"][0]["fieldName"] == "intendedStat"
    integration_id = (await create(client, api))["id"]
    reply = await client.patch(
        f"/api/v2/integrations/{integration_id}", json={"intendedState": "ON"}, headers=api
    )
    assert_error(reply, 400, "invalid.value")


async def test_types_and_config_schemas(client, api):
    for type_id in ("embedded-client-app", "embedded-client-app-interaction-widget"):
        kind = (await client.get(f"/api/v2/integrations/types/{type_id}", headers=api)).json()
        assert_model("IntegrationType", kind)
        schema = (await client.get(kind["configPropertiesSchemaUri"], headers=api)).json()
        assert_model("JsonSchemaDocument", schema)
        assert "url" in schema["properties"] and schema["required"] == ["url"]
    widget_schema = (
        await client.get(
            "/api/v2/integrations/types/embedded-client-app-interaction-widget/configschemas/properties",
            headers=api,
        )
    ).json()
    assert "open" in widget_schema["properties"]["communicationTypeFilter"]["description"]
    assert_error(
        await client.get("/api/v2/integrations/types/premium-app/configschemas/properties", headers=api),
        404,
        "not.found",
    )


async def test_client_apps_are_filtered_by_groups_for_the_user(client, api):
    open_app = (await create(client, api, name="For everyone"))["id"]
    group_app = (await create(client, api, name="For video agents"))["id"]
    disabled_app = (await create(client, api, name="Disabled"))["id"]
    await configure(client, api, open_app, APP_PROPERTIES, name="For everyone")
    await configure(
        client, api, group_app, {**APP_PROPERTIES, "groups": [gf.GROUP_ID]}, name="For video agents"
    )
    for integration_id in (open_app, group_app):
        await client.patch(
            f"/api/v2/integrations/{integration_id}", json={"intendedState": "ENABLED"}, headers=api
        )
    await client.post(
        "/__sim/seed",
        json={
            "users": [
                {
                    "id": "dddddddd-0000-4000-8000-000000000002",
                    "org_id": gf.ORG_ID,
                    "name": "Gus Guest",
                    "email": "gus@example.com",
                }
            ]
        },
    )
    ana = {"Authorization": f"Bearer {await user_token(client, 'ana@example.com')}"}
    gus = {"Authorization": f"Bearer {await user_token(client, 'gus@example.com')}"}
    seen_by_ana = (await client.get("/api/v2/integrations/clientapps", headers=ana)).json()
    assert_model("ClientAppEntityListing", seen_by_ana)
    assert {e["name"] for e in seen_by_ana["entities"]} == {"For everyone", "For video agents"}
    seen_by_gus = (await client.get("/api/v2/integrations/clientapps", headers=gus)).json()
    assert [e["name"] for e in seen_by_gus["entities"]] == ["For everyone"]
    assert disabled_app not in {e["id"] for e in seen_by_ana["entities"]}
    assert_error(await client.get("/api/v2/integrations/clientapps", headers=api), 400, "bad.request")


async def test_activation_delay_and_lingering_delete(client, api):
    await client.post("/__sim/config", json={"activation_delay_seconds": 30, "delete_visible_seconds": 20})
    integration_id = (await create(client, api))["id"]
    patched = (
        await client.patch(
            f"/api/v2/integrations/{integration_id}", json={"intendedState": "ENABLED"}, headers=api
        )
    ).json()
    assert patched["reportedState"]["code"] == "ACTIVATING"
    await client.post("/__sim/clock", json={"advance_seconds": 30})
    assert (await client.get(f"/api/v2/integrations/{integration_id}", headers=api)).json()["reportedState"][
        "code"
    ] == "ACTIVE"
    await client.delete(f"/api/v2/integrations/{integration_id}", headers=api)
    assert (await client.get(f"/api/v2/integrations/{integration_id}", headers=api)).status_code == 200
    await client.post("/__sim/clock", json={"advance_seconds": 20})
    assert (await client.get(f"/api/v2/integrations/{integration_id}", headers=api)).status_code == 404


async def test_integrations_of_another_org_are_invisible(client, api):
    integration_id = (await create(client, api))["id"]
    other = {
        "Authorization": f"Bearer {await client_token(client, gf.OTHER_CLIENT_ID, gf.OTHER_CLIENT_SECRET)}"
    }
    assert_error(await client.get(f"/api/v2/integrations/{integration_id}", headers=other), 404, "not.found")
