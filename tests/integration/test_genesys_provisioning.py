"""Client-app provisioning against the Genesys Cloud simulator (strict mode)."""

import uuid

import httpx
import pytest

from tests.fixtures.genesys_sim import in_process_simulator
from web.genesys.client import GenesysClient, GenesysCredentials
from web.genesys.errors import VersionConflict
from web.genesys.provisioning import (
    INTERACTION_WIDGET_TYPE,
    MY_SCHEDULES_TYPE,
    disable_client_app,
    ensure_client_app,
    interaction_widget_properties,
    my_schedules_properties,
)

SIM = "http://sim"
PUBLIC_URL = "https://punctual.example.com"
APP_PUBLIC_ID = "clinic-video"
ORG_ID = str(uuid.uuid4())
QUEUE_ID = str(uuid.uuid4())
GROUP_ID = str(uuid.uuid4())
CLIENT_ID = "punctual-admin"
CLIENT_SECRET = "s3cret-admin-value"

FIXTURE = {
    "orgs": [{"id": ORG_ID, "name": "Clinic Org", "domain": "mypurecloud.com"}],
    "oauth_clients": [
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "org_id": ORG_ID,
            "grant": "client_credentials",
            "token_ttl_seconds": 86400,
            "permissions": ["integrations:integration:*", "messaging:integration:view"],
        }
    ],
    "users": [],
    "queues": [{"id": QUEUE_ID, "org_id": ORG_ID, "name": "Video meetings"}],
    "groups": [{"id": GROUP_ID, "org_id": ORG_ID, "name": "Video agents"}],
    "open_integrations": [],
}


class Recorder:
    def __init__(self):
        self.delays = []

    async def sleep(self, seconds):
        self.delays.append(seconds)


@pytest.fixture
async def sim_app():
    return await in_process_simulator(FIXTURE)


@pytest.fixture
async def control(sim_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url=SIM) as http:
        yield http


@pytest.fixture
async def client(sim_app):
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app))
    genesys = GenesysClient(http, sleep=Recorder().sleep)
    yield genesys
    await http.aclose()


@pytest.fixture
def creds():
    return GenesysCredentials.for_region(
        "mypurecloud.com", CLIENT_ID, CLIENT_SECRET, login_base_url=SIM, api_base_url=SIM
    )


async def seen(control, path_regex, method):
    response = await control.get("/__sim/requests", params={"path": path_regex})
    response.raise_for_status()
    data = response.json()
    entries = data["requests"] if isinstance(data, dict) else data
    return [entry for entry in entries if entry["method"] == method]


async def ensure_my_schedules(client, creds, integration_id=None, enabled=True, groups=None):
    return await ensure_client_app(
        client,
        creds,
        integration_id=integration_id,
        name="My schedules",
        type_id=MY_SCHEDULES_TYPE,
        properties=my_schedules_properties(PUBLIC_URL, APP_PUBLIC_ID, groups=groups),
        enabled=enabled,
    )


def test_my_schedules_properties_follow_the_documented_keys():
    properties = my_schedules_properties(PUBLIC_URL + "/", APP_PUBLIC_ID, groups=[GROUP_ID])
    assert properties == {
        "url": (
            "https://punctual.example.com/genesys/my-schedules?app=clinic-video"
            "&gcHostOrigin={{gcHostOrigin}}&gcTargetEnv={{gcTargetEnv}}"
            "&gcLangTag={{gcLangTag}}&gcUsePopupAuth={{gcUsePopupAuth}}"
        ),
        "displayType": "widget",
        "featureCategory": "",
        "sandbox": (
            "allow-forms,allow-modals,allow-popups,allow-presentation,allow-same-origin,allow-scripts,allow-downloads"
        ),
        "permissions": "camera,microphone,display-capture,fullscreen,clipboard-write",
        "groups": [GROUP_ID],
    }
    assert "groups" not in my_schedules_properties(PUBLIC_URL, APP_PUBLIC_ID)


def test_interaction_widget_properties_filter_open_messaging_on_the_queues():
    properties = interaction_widget_properties(PUBLIC_URL, APP_PUBLIC_ID, queue_ids=[QUEUE_ID])
    assert properties["url"] == (
        "https://punctual.example.com/genesys/widget?conversationId={{gcConversationId}}&app=clinic-video"
        "&gcHostOrigin={{gcHostOrigin}}&gcTargetEnv={{gcTargetEnv}}"
        "&gcLangTag={{gcLangTag}}&gcUsePopupAuth={{gcUsePopupAuth}}"
    )
    assert properties["communicationTypeFilter"] == "open"
    assert properties["queueIdFilterList"] == [QUEUE_ID]
    assert "displayType" not in properties


async def test_ensure_creates_configures_and_enables(client, creds):
    state = await ensure_my_schedules(client, creds, groups=[GROUP_ID])

    assert state.created
    assert state.intended_state == "ENABLED"
    assert state.reported_state in ("ACTIVE", "ACTIVATING")
    assert state.config_version == 2
    integration = await client.get_integration(creds, state.integration_id)
    assert integration["name"] == "My schedules"
    assert integration["integrationType"]["id"] == MY_SCHEDULES_TYPE
    config = await client.get_integration_config(creds, state.integration_id)
    assert config["properties"] == my_schedules_properties(PUBLIC_URL, APP_PUBLIC_ID, groups=[GROUP_ID])


async def test_running_twice_leaves_one_integration_untouched(client, creds, control):
    first = await ensure_my_schedules(client, creds)
    puts_before = len(await seen(control, r"/config/current$", "PUT"))

    again_by_id = await ensure_my_schedules(client, creds, integration_id=first.integration_id)
    again_by_name = await ensure_my_schedules(client, creds)

    for state in (again_by_id, again_by_name):
        assert state.integration_id == first.integration_id
        assert not state.created
        assert not state.config_changed
        assert state.config_version == first.config_version
        assert state.intended_state == "ENABLED"
    assert len(await client.list_integrations(creds, MY_SCHEDULES_TYPE)) == 1
    assert len(await seen(control, r"/config/current$", "PUT")) == puts_before
    assert len(await seen(control, r"^/api/v2/integrations$", "POST")) == 1


async def test_changed_properties_are_written_to_the_same_integration(client, creds):
    first = await ensure_my_schedules(client, creds)
    second = await ensure_my_schedules(client, creds, integration_id=first.integration_id, groups=[GROUP_ID])

    assert second.integration_id == first.integration_id
    assert second.config_changed
    assert second.config_version == first.config_version + 1
    config = await client.get_integration_config(creds, first.integration_id)
    assert config["properties"]["groups"] == [GROUP_ID]


async def test_a_deleted_integration_is_replaced(client, creds):
    first = await ensure_my_schedules(client, creds)
    await client.delete_integration(creds, first.integration_id)

    second = await ensure_my_schedules(client, creds, integration_id=first.integration_id)

    assert second.created
    assert second.integration_id != first.integration_id
    assert second.intended_state == "ENABLED"


async def test_an_existing_integration_with_the_name_is_adopted(client, creds):
    existing = await client.create_integration(creds, "My schedules", MY_SCHEDULES_TYPE)

    state = await ensure_my_schedules(client, creds)

    assert state.integration_id == existing["id"]
    assert not state.created


async def test_version_conflict_is_recovered_by_reading_again(client, creds, control):
    created = await client.create_integration(creds, "My schedules", MY_SCHEDULES_TYPE)
    await control.post(
        "/__sim/faults",
        json={
            "match": {"method": "PUT", "path_regex": r"/config/current$"},
            "action": "version_conflict",
            "times": 2,
        },
    )

    state = await ensure_my_schedules(client, creds, integration_id=created["id"])

    assert state.config_changed
    assert len(await seen(control, r"/config/current$", "PUT")) == 3
    assert len(await seen(control, r"/config/current$", "GET")) == 3
    config = await client.get_integration_config(creds, created["id"])
    assert config["properties"] == my_schedules_properties(PUBLIC_URL, APP_PUBLIC_ID)


async def test_version_conflict_that_never_clears_is_raised(client, creds, control):
    await control.post(
        "/__sim/faults",
        json={
            "match": {"method": "PUT", "path_regex": r"/config/current$"},
            "action": "version_conflict",
            "times": 10,
        },
    )

    with pytest.raises(VersionConflict):
        await ensure_my_schedules(client, creds)
    assert len(await seen(control, r"/config/current$", "PUT")) == 4


async def test_disable_keeps_the_integration(client, creds):
    state = await ensure_my_schedules(client, creds)

    disabled = await disable_client_app(client, creds, state.integration_id)

    assert disabled.integration_id == state.integration_id
    assert disabled.intended_state == "DISABLED"
    assert disabled.reported_state in ("INACTIVE", "DEACTIVATING")
    assert (await client.get_integration(creds, state.integration_id))["intendedState"] == "DISABLED"
    assert await disable_client_app(client, creds, str(uuid.uuid4())) is None

    enabled_again = await ensure_my_schedules(client, creds, integration_id=state.integration_id)
    assert enabled_again.integration_id == state.integration_id
    assert enabled_again.intended_state == "ENABLED"


async def test_ensure_disabled_creates_without_enabling(client, creds, control):
    state = await ensure_my_schedules(client, creds, enabled=False)

    assert state.intended_state == "DISABLED"
    assert await seen(control, r"^/api/v2/integrations/[^/]+$", "PATCH") == []


async def test_interaction_widget_is_provisioned_separately(client, creds):
    schedules = await ensure_my_schedules(client, creds)
    widget = await ensure_client_app(
        client,
        creds,
        integration_id=None,
        name="Meeting",
        type_id=INTERACTION_WIDGET_TYPE,
        properties=interaction_widget_properties(PUBLIC_URL, APP_PUBLIC_ID, queue_ids=[QUEUE_ID]),
        enabled=True,
    )

    assert widget.integration_id != schedules.integration_id
    assert widget.intended_state == "ENABLED"
    config = await client.get_integration_config(creds, widget.integration_id)
    assert config["properties"]["communicationTypeFilter"] == "open"
    assert config["properties"]["queueIdFilterList"] == [QUEUE_ID]
    assert [i["id"] for i in await client.list_integrations(creds, INTERACTION_WIDGET_TYPE)] == [
        widget.integration_id
    ]
