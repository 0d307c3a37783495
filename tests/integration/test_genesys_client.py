"""The Genesys client against the Genesys Cloud simulator (strict mode), over HTTP.

Retry delays are recorded by an injected `sleep` instead of being slept; the jitter source is
pinned so the expected delays are exact.
"""

import asyncio
import base64
import hashlib
import hmac
import logging
import socket
import uuid
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from simulators.genesys.app import create_app
from simulators.serve import ServerThread
from tests.fixtures.genesys_sim import in_process_simulator
from web.genesys.client import GenesysClient, GenesysCredentials
from web.genesys.errors import (
    BadRequest,
    CredentialsInvalid,
    Forbidden,
    NotFound,
    RateLimited,
    Transient,
    VersionConflict,
)
from web.genesys.messages import open_message_body
from web.genesys.pkce import new_pkce_pair, pkce_challenge
from web.genesys.webhook import sign, verify_signature

SIM = "http://sim"
ORG_ID = str(uuid.uuid4())
OTHER_ORG_ID = str(uuid.uuid4())
CLIENT_ID = "punctual-dispatch"
CLIENT_SECRET = "s3cret-dispatch-value"
OTHER_CLIENT_ID = "other-org-client"
QUEUE_ID = str(uuid.uuid4())
AGENT_ID = str(uuid.uuid4())
INTEGRATION_ID = str(uuid.uuid4())
TOKEN_TTL = 600

FIXTURE = {
    "orgs": [
        {"id": ORG_ID, "name": "Clinic Org", "domain": "mypurecloud.com"},
        {"id": OTHER_ORG_ID, "name": "Other Org", "domain": "mypurecloud.com"},
    ],
    "oauth_clients": [
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "org_id": ORG_ID,
            "grant": "client_credentials",
            "token_ttl_seconds": TOKEN_TTL,
            "permissions": [
                "conversation:message:receive",
                "integrations:integration:*",
                "messaging:integration:view",
            ],
        },
        {
            "client_id": OTHER_CLIENT_ID,
            "client_secret": "other-org-secret-value",
            "org_id": OTHER_ORG_ID,
            "grant": "client_credentials",
            "permissions": ["conversation:message:receive", "messaging:integration:view"],
        },
    ],
    "users": [
        {
            "id": AGENT_ID,
            "org_id": ORG_ID,
            "name": "Ana Agent",
            "email": "ana@example.com",
            "state": "active",
            "groups": [],
            "queues": [QUEUE_ID],
        }
    ],
    "queues": [{"id": QUEUE_ID, "org_id": ORG_ID, "name": "Video meetings"}],
    "groups": [],
    "open_integrations": [
        {
            "id": INTEGRATION_ID,
            "org_id": ORG_ID,
            "name": "Punctual",
            "default_queue_id": QUEUE_ID,
            "outbound_webhook_url": "http://127.0.0.1:9/genesys/webhook",
            "outbound_webhook_secret": "a-secret-of-16-chars",
        }
    ]
    + [
        {
            "id": str(uuid.uuid4()),
            "org_id": ORG_ID,
            "name": f"Spare {n}",
            "default_queue_id": QUEUE_ID,
            "outbound_webhook_url": "http://127.0.0.1:9/genesys/webhook",
            "outbound_webhook_secret": "a-secret-of-16-chars",
        }
        for n in range(4)
    ],
}


class Recorder:
    """Stands in for asyncio.sleep and for the clock: records delays, moves time by hand."""

    def __init__(self):
        self.delays = []
        self.now = 1000.0

    async def sleep(self, seconds):
        self.delays.append(seconds)

    def clock(self):
        return self.now


@pytest.fixture
async def sim_app():
    return await in_process_simulator(FIXTURE)


@pytest.fixture
async def control(sim_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url=SIM) as http:
        yield http


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
async def client(sim_app, recorder):
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app))
    genesys = GenesysClient(http, sleep=recorder.sleep, clock=recorder.clock, jitter=lambda: 1.0)
    yield genesys
    await genesys.aclose()
    await http.aclose()


@pytest.fixture
def creds():
    return GenesysCredentials.for_region(
        "mypurecloud.com", CLIENT_ID, CLIENT_SECRET, login_base_url=SIM, api_base_url=SIM
    )


async def seen(control, path_regex, method=None):
    """Requests the simulator received whose path matches, oldest first."""
    response = await control.get("/__sim/requests", params={"path": path_regex})
    response.raise_for_status()
    data = response.json()
    entries = data["requests"] if isinstance(data, dict) else data
    return [entry for entry in entries if method is None or entry["method"] == method]


async def add_fault(control, action, path_regex, *, method=None, times=1, **args):
    match = {"path_regex": path_regex}
    if method:
        match["method"] = method
    response = await control.post(
        "/__sim/faults", json={"match": match, "action": action, "times": times, **args}
    )
    response.raise_for_status()


async def token_requests(control):
    return await seen(control, r"^/oauth/token$", "POST")


def reminder_body(message_id="reminder-b1-T-5", from_id="booking-b1"):
    return open_message_body(
        message_id=message_id,
        time=datetime(2026, 5, 4, 13, 50, tzinfo=UTC),
        from_id=from_id,
        nickname="Jane Doe",
        text="Video meeting with Jane Doe starts at 14:00 UTC.",
        custom_attributes={"bookingId": "b1", "agentUserId": AGENT_ID},
    )


# ---- tokens ---------------------------------------------------------------------------------------


async def test_token_info_and_organization_identify_the_org(client, creds, control):
    info = await client.get_token_info(creds)
    org = await client.get_organization(creds)

    assert info["organization"]["id"] == ORG_ID
    assert org["id"] == ORG_ID
    [token_request] = await token_requests(control)
    assert token_request["headers"].get("authorization", "").startswith("Basic ")
    assert token_request["body"] in ({"grant_type": "client_credentials"}, "grant_type=client_credentials")


async def test_concurrent_calls_share_one_token_request(client, creds, control):
    # A slow token endpoint keeps every caller waiting at the same time.
    await add_fault(control, "latency", r"^/oauth/token$", times=30, ms=50)
    results = await asyncio.gather(*(client.get_organization(creds) for _ in range(25)))

    assert {org["id"] for org in results} == {ORG_ID}
    assert len(await token_requests(control)) == 1
    assert len(await seen(control, r"^/api/v2/organizations/me$")) == 25


async def test_token_is_refreshed_early_but_not_before(client, creds, control, recorder):
    await client.get_organization(creds)
    # 600 s tokens are refreshed once 90 % of their life has passed (540 s).
    recorder.now += 530
    await client.get_organization(creds)
    assert len(await token_requests(control)) == 1

    recorder.now += 20
    await client.get_organization(creds)
    assert len(await token_requests(control)) == 2


async def test_failed_early_refresh_keeps_using_the_unexpired_token(client, creds, control, recorder):
    await client.get_organization(creds)
    recorder.now += 560  # due for refresh, 40 s before expiry
    await add_fault(control, "unavailable", r"^/oauth/token$", times=10)

    org = await client.get_organization(creds)

    assert org["id"] == ORG_ID
    assert len(await token_requests(control)) == 1 + 4
    assert recorder.delays == [1.0, 2.0, 4.0]

    recorder.now += 60  # now expired: no fallback any more
    with pytest.raises(Transient):
        await client.get_organization(creds)


async def test_invalidate_token_forces_a_new_one(client, creds, control):
    await client.get_organization(creds)
    client.invalidate_token(creds)
    await client.get_organization(creds)
    assert len(await token_requests(control)) == 2


async def test_changed_secret_is_not_served_from_the_cache(client, creds, control):
    await client.get_organization(creds)
    wrong = GenesysCredentials(CLIENT_ID, "not-the-secret", SIM, SIM)
    with pytest.raises(CredentialsInvalid):
        await client.get_organization(wrong)
    assert len(await token_requests(control)) == 2


async def test_expired_token_is_replaced_once_without_sleeping(client, creds, control, recorder):
    await client.get_organization(creds)
    await add_fault(control, "expire_token", r"^/api/v2/organizations/me$")

    org = await client.get_organization(creds)

    assert org["id"] == ORG_ID
    assert len(await token_requests(control)) == 2
    assert recorder.delays == []


async def test_second_401_is_a_credentials_problem(client, creds, control):
    await add_fault(control, "expire_token", r"^/api/v2/organizations/me$", times=5)

    with pytest.raises(CredentialsInvalid) as caught:
        await client.get_organization(creds)

    assert caught.value.status == 401
    assert len(await seen(control, r"^/api/v2/organizations/me$")) == 2


async def test_wrong_secret_is_reported_for_the_region_and_not_retried(client, control, recorder, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = GenesysCredentials.for_region(
        "mypurecloud.com", CLIENT_ID, "wrong-secret-9f8e7d", login_base_url=SIM, api_base_url=SIM
    )

    with pytest.raises(CredentialsInvalid) as caught:
        await client.get_token_info(wrong)

    error = caught.value
    assert error.permanent
    assert error.code == "invalid_client"
    assert error.plain_words() == (
        "Genesys rejected the client id/secret for region sim (check the region and the OAuth client)"
    )
    assert len(await token_requests(control)) == 1
    assert recorder.delays == []
    assert "wrong-secret-9f8e7d" not in caplog.text + str(error) + repr(error)


async def test_disabled_oauth_client_fails_as_credentials_invalid(client, creds, control):
    await client.get_organization(creds)
    await add_fault(control, "disable_client", r".*")

    with pytest.raises(CredentialsInvalid) as caught:
        await client.get_organization(creds)
    assert caught.value.code == "invalid_client"


async def test_logs_name_calls_but_never_secrets_or_tokens(client, creds, control, caplog):
    caplog.set_level(logging.DEBUG, logger="web.genesys")
    await client.get_organization(creds)
    [api_call] = await seen(control, r"^/api/v2/organizations/me$")
    token = api_call["headers"]["authorization"].removeprefix("Bearer ")

    assert "GET /api/v2/organizations/me -> 200" in caplog.text
    assert token not in caplog.text
    assert CLIENT_SECRET not in caplog.text


# ---- retry policy ---------------------------------------------------------------------------------


async def test_rate_limit_waits_retry_after_then_succeeds(client, creds, control, recorder):
    await client.get_organization(creds)
    await add_fault(control, "rate_limit", r"^/api/v2/organizations/me$", times=2, retry_after=7)

    org = await client.get_organization(creds)

    assert org["id"] == ORG_ID
    # Retry-After plus at most half a second of jitter (pinned to the maximum here).
    assert recorder.delays == [7.5, 7.5]


async def test_rate_limit_with_a_single_attempt_raises_at_once(client, creds, control, recorder):
    await add_fault(control, "rate_limit", r"/inbound/open/message$", retry_after=30)

    with pytest.raises(RateLimited) as caught:
        await client.send_inbound_open_message(creds, INTEGRATION_ID, reminder_body(), attempts=1)

    assert caught.value.retry_after == 30
    assert not caught.value.permanent
    assert caught.value.correlation_id
    assert caught.value.plain_words() == "Genesys is rate limiting us; retry after 30 s"
    assert recorder.delays == []


async def test_rate_limit_longer_than_a_minute_is_left_to_the_caller(client, creds, control, recorder):
    await add_fault(control, "rate_limit", r"^/api/v2/organizations/me$", retry_after=120)

    with pytest.raises(RateLimited) as caught:
        await client.get_organization(creds)
    assert caught.value.retry_after == 120
    assert recorder.delays == []


async def test_unavailable_backs_off_exponentially(client, creds, control, recorder):
    await add_fault(control, "unavailable", r"^/api/v2/organizations/me$", times=3)

    assert (await client.get_organization(creds))["id"] == ORG_ID
    assert recorder.delays == [1.0, 2.0, 4.0]


async def test_gateway_timeouts_give_up_after_max_attempts(client, creds, control, recorder):
    await add_fault(control, "gateway_timeout", r"^/api/v2/organizations/me$", times=10)

    with pytest.raises(Transient) as caught:
        await client.get_organization(creds)

    assert caught.value.status == 504
    assert len(await seen(control, r"^/api/v2/organizations/me$")) == 4
    assert recorder.delays == [1.0, 2.0, 4.0]


async def test_backoff_uses_full_jitter(sim_app, creds, control):
    recorder = Recorder()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app))
    client = GenesysClient(http, sleep=recorder.sleep, jitter=lambda: 0.25)
    await add_fault(control, "unavailable", r"^/api/v2/organizations/me$", times=2)

    await client.get_organization(creds)

    assert recorder.delays == [0.25, 0.5]
    await http.aclose()


async def test_server_error_is_transient_and_left_to_the_caller(client, creds, control, recorder):
    await add_fault(control, "server_error", r"^/api/v2/organizations/me$")

    with pytest.raises(Transient) as caught:
        await client.get_organization(creds)
    assert caught.value.status == 500
    assert not caught.value.permanent
    assert recorder.delays == []


@pytest.mark.parametrize(
    ("action", "error_type", "status"),
    [("forbidden", Forbidden, 403), ("not_found", NotFound, 404), ("validation_error", BadRequest, 400)],
)
async def test_permanent_errors_are_not_retried(client, creds, control, recorder, action, error_type, status):
    await add_fault(control, action, r"/inbound/open/message$", times=5)

    with pytest.raises(error_type) as caught:
        await client.send_inbound_open_message(creds, INTEGRATION_ID, reminder_body())

    assert caught.value.status == status
    assert caught.value.permanent
    assert caught.value.correlation_id
    assert len(await seen(control, r"/inbound/open/message$")) == 1
    assert recorder.delays == []


async def test_malformed_json_is_retried_for_reads(client, creds, control, recorder):
    await add_fault(control, "malformed_json", r"^/api/v2/organizations/me$")

    assert (await client.get_organization(creds))["id"] == ORG_ID
    assert recorder.delays == [1.0]


async def test_malformed_json_with_a_single_attempt_is_transient(client, creds, control):
    await add_fault(control, "malformed_json", r"/inbound/open/message$")

    with pytest.raises(Transient, match="not valid JSON"):
        await client.send_inbound_open_message(creds, INTEGRATION_ID, reminder_body(), attempts=1)


async def test_unreachable_host_is_transient_after_backoff(creds):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    recorder = Recorder()
    nowhere = GenesysCredentials(CLIENT_ID, CLIENT_SECRET, f"http://127.0.0.1:{closed_port}", SIM)
    async with GenesysClient(sleep=recorder.sleep, jitter=lambda: 1.0) as client:
        with pytest.raises(Transient) as caught:
            await client.get_organization(nowhere)

    assert caught.value.status is None
    assert "could not be reached" in caught.value.plain_words()
    assert recorder.delays == [1.0, 2.0, 4.0]


# ---- over a real socket ------------------------------------------------------------------------------


def serve_sim(**options):
    app = create_app(strict=True, **options)
    server = ServerThread(app).start()
    base = server.url.rstrip("/")
    httpx.post(f"{base}/__sim/reset").raise_for_status()
    httpx.post(f"{base}/__sim/seed", json=FIXTURE).raise_for_status()
    return server, base


@pytest.fixture
def served_sim():
    server, base = serve_sim()
    yield base
    server.stop()


@pytest.mark.parametrize("dedupe", ["off", "return-original"])
async def test_read_timeout_resend_keeps_the_message_id(dedupe):
    server, base = serve_sim(dedupe=dedupe)
    recorder = Recorder()
    creds = GenesysCredentials(CLIENT_ID, CLIENT_SECRET, base, base)
    http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=0.4))
    client = GenesysClient(http, sleep=recorder.sleep, jitter=lambda: 0.0)
    try:
        async with httpx.AsyncClient(base_url=base) as control:
            await add_fault(control, "timeout_then_success", r"/inbound/open/message$", ms=1200)

            sent = await client.send_inbound_open_message(
                creds, INTEGRATION_ID, reminder_body("reminder-b7-T-5")
            )

            posts = await seen(control, r"/inbound/open/message$", "POST")
            state = (await control.get("/__sim/state")).json()
    finally:
        await http.aclose()
        server.stop()

    assert len(posts) == 2
    assert {post["body"]["channel"]["messageId"] for post in posts} == {"reminder-b7-T-5"}
    assert recorder.delays == [0.0]
    # The resend lands in the interaction the first attempt created: the agent gets one interaction.
    [conversation] = _conversations(state)
    assert conversation["id"] == sent.conversation_id
    if dedupe == "return-original":
        # A stable messageId is what lets Genesys drop the repeat.
        assert len(conversation["messages"]) == 1


async def test_real_socket_round_trip_with_the_default_http_client(served_sim):
    creds = GenesysCredentials(CLIENT_ID, CLIENT_SECRET, served_sim, served_sim)
    async with GenesysClient() as client:
        sent = await client.send_inbound_open_message(creds, INTEGRATION_ID, reminder_body())
        assert (await client.get_organization(creds))["id"] == ORG_ID
    assert sent.conversation_id
    assert sent.correlation_id


async def test_dropped_connection_on_send_is_retried(served_sim):
    recorder = Recorder()
    creds = GenesysCredentials(CLIENT_ID, CLIENT_SECRET, served_sim, served_sim)
    async with (
        GenesysClient(sleep=recorder.sleep, jitter=lambda: 1.0) as client,
        httpx.AsyncClient(base_url=served_sim) as control,
    ):
        await add_fault(control, "drop_connection", r"/inbound/open/message$")
        sent = await client.send_inbound_open_message(creds, INTEGRATION_ID, reminder_body())
    assert sent.conversation_id
    assert recorder.delays == [1.0]


def _conversations(state):
    conversations = state.get("conversations", [])
    return list(conversations.values()) if isinstance(conversations, dict) else conversations


# ---- open messaging -----------------------------------------------------------------------------------


async def test_inbound_message_creates_a_conversation_carrying_the_attributes(client, creds, control):
    sent = await client.send_inbound_open_message(creds, INTEGRATION_ID, reminder_body())

    assert sent.message_id
    assert sent.conversation_id
    assert sent.correlation_id
    assert sent.raw["channel"]["id"] == INTEGRATION_ID
    assert sent.raw["text"].startswith("Video meeting with Jane Doe")
    [post] = await seen(control, r"/inbound/open/message$", "POST")
    assert post["query"] in ({"prefetchConversationId": "true"}, "prefetchConversationId=true")
    assert post["body"] == reminder_body()
    state = (await control.get("/__sim/state")).json()
    [conversation] = [c for c in _conversations(state) if c["id"] == sent.conversation_id]
    attributes = {}
    for participant in conversation["participants"]:
        attributes.update(participant.get("attributes") or {})
    assert attributes["bookingId"] == "b1"
    assert attributes["agentUserId"] == AGENT_ID


async def test_without_prefetch_no_conversation_id_comes_back(client, creds):
    sent = await client.send_inbound_open_message(
        creds, INTEGRATION_ID, reminder_body(from_id="booking-b2"), prefetch_conversation_id=False
    )
    assert sent.message_id
    assert sent.conversation_id is None


async def test_unknown_integration_is_not_found_in_plain_words(client, creds):
    with pytest.raises(NotFound) as caught:
        await client.send_inbound_open_message(creds, str(uuid.uuid4()), reminder_body())
    assert caught.value.plain_words() == "The Open Messaging integration was not found in Genesys"

    with pytest.raises(NotFound):
        await client.get_open_integration(creds, str(uuid.uuid4()))


async def test_integration_of_another_org_is_not_reachable(client):
    other = GenesysCredentials(OTHER_CLIENT_ID, "other-org-secret-value", SIM, SIM)
    with pytest.raises((NotFound, Forbidden)):
        await client.send_inbound_open_message(other, INTEGRATION_ID, reminder_body())


async def test_open_integrations_are_listed_across_pages(client, creds, control):
    client.page_size = 2

    integrations = await client.list_open_integrations(creds)

    assert len(integrations) == 5
    assert INTEGRATION_ID in {integration["id"] for integration in integrations}
    assert len(await seen(control, r"^/api/v2/conversations/messaging/integrations/open$")) == 3
    one = await client.get_open_integration(creds, INTEGRATION_ID)
    assert one["name"] == "Punctual"


# ---- client-app integrations ------------------------------------------------------------------------


async def test_integration_lifecycle(client, creds):
    created = await client.create_integration(creds, "My schedules", "embedded-client-app")
    integration_id = created["id"]
    assert created["intendedState"] == "DISABLED"
    assert (await client.get_integration(creds, integration_id))["name"] == "My schedules"

    config = await client.get_integration_config(creds, integration_id)
    assert config["version"] == 1
    properties = {
        "url": "https://app.example.com/my-schedules?gcHostOrigin={{gcHostOrigin}}",
        "displayType": "widget",
        "sandbox": "allow-scripts,allow-same-origin",
    }
    updated = await client.put_integration_config(
        creds, integration_id, {**config, "name": "My schedules", "properties": properties}
    )
    assert updated["version"] == 2
    assert (await client.get_integration_config(creds, integration_id))["properties"] == properties

    with pytest.raises(VersionConflict) as caught:
        await client.put_integration_config(creds, integration_id, {**config, "properties": properties})
    assert "changed the integration" in caught.value.plain_words()

    enabled = await client.patch_integration(creds, integration_id, "ENABLED")
    assert enabled["intendedState"] == "ENABLED"
    assert enabled["reportedState"]["code"] in ("ACTIVE", "ACTIVATING")

    await client.delete_integration(creds, integration_id)
    with pytest.raises(NotFound) as missing:
        await client.get_integration(creds, integration_id)
    assert missing.value.plain_words() == "The client app integration was not found in Genesys"


async def test_integrations_are_listed_by_type_across_pages(client, creds, control):
    ids = {
        (await client.create_integration(creds, f"App {n}", "embedded-client-app"))["id"] for n in range(5)
    }
    await client.create_integration(creds, "Widget", "embedded-client-app-interaction-widget")
    client.page_size = 2

    listed = await client.list_integrations(creds, "embedded-client-app")

    assert {integration["id"] for integration in listed} == ids
    assert len(await seen(control, r"^/api/v2/integrations$", "GET")) == 3


async def test_config_schema_names_the_client_app_properties(client, creds):
    schema = await client.get_config_schema(creds, "embedded-client-app", "properties")
    assert {"url", "displayType", "sandbox"} <= set(schema["properties"])


async def test_invalid_intended_state_is_refused_before_sending(client, creds, control):
    with pytest.raises(ValueError):
        await client.patch_integration(creds, "some-id", "ON")
    assert await seen(control, r"^/api/v2/integrations") == []


# ---- payload and signature helpers -----------------------------------------------------------------------


def test_open_message_body_has_exactly_the_documented_shape():
    body = open_message_body(
        message_id="m-1",
        time=datetime(2026, 5, 4, 8, 50, 0, 123456, tzinfo=timezone(timedelta(hours=-5))),
        from_id="booking-1",
        nickname="Jane",
        text="hello",
        custom_attributes={"bookingId": "1"},
    )
    assert body == {
        "channel": {
            "messageId": "m-1",
            "time": "2026-05-04T13:50:00.123Z",
            "from": {"id": "booking-1", "idType": "Opaque", "nickname": "Jane"},
            "metadata": {"customAttributes": {"bookingId": "1"}},
        },
        "text": "hello",
    }
    with pytest.raises(ValueError):
        open_message_body(
            message_id="m",
            time=datetime(2026, 1, 1),
            from_id="f",
            nickname=None,
            text="t",
            custom_attributes={},
        )
    with pytest.raises(ValueError):
        open_message_body(
            message_id="m",
            time=datetime.now(UTC),
            from_id="f",
            nickname=None,
            text="t",
            custom_attributes={"n": 1},
        )


def test_webhook_signature_is_base64_hmac_of_the_raw_body():
    body = b'{"id":"abc"}'
    # Computed independently: openssl dgst -sha256 -hmac <secret> -binary | base64
    expected = "sha256=rwZJH+m9hR9S/w5AudaSMdbR8RuzKfDS7ZEgb/0GFQU="
    assert sign(body, "a-secret-of-16-chars") == expected
    assert verify_signature(body, expected, "a-secret-of-16-chars")
    assert not verify_signature(body + b" ", expected, "a-secret-of-16-chars")
    assert not verify_signature(body, expected, "another-secret-value")
    hex_form = "sha256=" + hmac.new(b"a-secret-of-16-chars", body, hashlib.sha256).hexdigest()
    assert not verify_signature(body, hex_form, "a-secret-of-16-chars")
    assert not verify_signature(body, "", "a-secret-of-16-chars")


def test_pkce_challenge_matches_the_rfc_example_and_pairs_are_fresh():
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    first, second = new_pkce_pair(), new_pkce_pair()
    assert first.verifier != second.verifier
    assert 43 <= len(first.verifier) <= 128
    assert first.challenge == pkce_challenge(first.verifier)
    assert first.verifier not in repr(first)
    assert base64.urlsafe_b64decode(first.challenge + "=")


def test_every_error_speaks_plainly():
    assert "rate limiting" in RateLimited("slow down", status=429, retry_after=None).plain_words()
    assert "temporary problem (503" in Transient("down", status=503).plain_words()
    assert "fields: text" in BadRequest("bad", status=400, details=[{"fieldName": "text"}]).plain_words()
    assert "permissions" in Forbidden("missing conversation:message:receive", status=403).plain_words()
    assert "sign-in code" in CredentialsInvalid("x", status=400, code="invalid_grant").plain_words()
