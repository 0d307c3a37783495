"""Fault injection, rate limiting and the control API of the Genesys simulator."""

import time

import httpx
import pytest

from simulators.genesys import fixture as gf
from simulators.genesys.app import create_app
from simulators.genesys.fixture import load_fixture
from simulators.serve import ServerThread
from tests.simulators.sim_helpers import assert_error, client_token

INBOUND = (
    f"/api/v2/conversations/messages/{gf.OPEN_INTEGRATION_ID}/inbound/open/message"
    "?prefetchConversationId=true"
)
MESSAGE = {
    "channel": {
        "messageId": "m-1",
        "time": "2026-05-04T13:50:00Z",
        "from": {"id": "booking-1", "idType": "Opaque"},
    },
    "text": "hello",
}
TOKEN_FORM = {"grant_type": "client_credentials"}
CREDENTIALS = (gf.CLIENT_ID, gf.CLIENT_SECRET)


async def add_fault(client, **rule):
    reply = await client.post("/__sim/faults", json=rule)
    assert reply.status_code == 201, reply.text
    return reply.json()


@pytest.mark.parametrize(
    ("action", "status", "code"),
    [
        ("forbidden", 403, "missing.permissions"),
        ("not_found", 404, "not.found"),
        ("server_error", 500, "internal.server.error"),
        ("unavailable", 503, "service.unavailable"),
        ("gateway_timeout", 504, "request.timeout"),
        ("validation_error", 400, "bad.request"),
        ("version_conflict", 409, "general.conflict"),
        ("bad_credentials", 401, "bad.credentials"),
    ],
)
async def test_error_faults_answer_error_bodies_once(client, api, action, status, code):
    await add_fault(
        client, match={"method": "GET", "path_regex": "^/api/v2/organizations/me$"}, action=action, times=1
    )
    assert_error(await client.get("/api/v2/organizations/me", headers=api), status, code)
    assert (await client.get("/api/v2/organizations/me", headers=api)).status_code == 200


async def test_rate_limit_fault_sends_retry_after(client, api):
    await add_fault(
        client, match={"path_regex": "organizations"}, action="rate_limit", retry_after=7, times=1
    )
    reply = await client.get("/api/v2/organizations/me", headers=api)
    body = assert_error(reply, 429, "too.many.requests.retry.after")
    assert reply.headers["Retry-After"] == "7"
    assert "[7] seconds" in body["message"]


async def test_bad_credentials_on_the_login_host(client):
    await add_fault(client, match={"path_regex": "^/oauth/token$"}, action="bad_credentials", times=1)
    reply = await client.post("/oauth/token", data=TOKEN_FORM, auth=CREDENTIALS)
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_client"
    assert (await client.post("/oauth/token", data=TOKEN_FORM, auth=CREDENTIALS)).status_code == 200


async def test_disable_client_refuses_new_tokens_and_existing_ones(client, api):
    await add_fault(client, match={"path_regex": "organizations"}, action="disable_client", times=1)
    assert_error(await client.get("/api/v2/organizations/me", headers=api), 401, "bad.credentials")
    reply = await client.post("/oauth/token", data=TOKEN_FORM, auth=CREDENTIALS)
    assert reply.json()["error"] == "invalid_client"


async def test_expire_token_forces_a_new_token(client, api):
    await add_fault(client, match={"host": "api"}, action="expire_token", times=1)
    assert_error(await client.get("/api/v2/tokens/me", headers=api), 401, "bad.credentials")
    fresh = {"Authorization": f"Bearer {await client_token(client)}"}
    assert (await client.get("/api/v2/tokens/me", headers=fresh)).status_code == 200


async def test_fault_rules_match_on_client_id(client, api):
    await add_fault(client, match={"client_id": gf.OTHER_CLIENT_ID}, action="server_error")
    assert (await client.get("/api/v2/tokens/me", headers=api)).status_code == 200
    other = await client.post(
        "/oauth/token", data=TOKEN_FORM, auth=(gf.OTHER_CLIENT_ID, gf.OTHER_CLIENT_SECRET)
    )
    assert other.status_code == 500


async def test_fault_header_applies_to_one_request(client, api):
    reply = await client.get(
        "/api/v2/tokens/me", headers={**api, "X-Sim-Fault": "unavailable; retry_after=3"}
    )
    assert_error(reply, 503, "service.unavailable")
    assert reply.headers["Retry-After"] == "3"
    assert (await client.get("/api/v2/tokens/me", headers=api)).status_code == 200


async def test_probability_rules_are_reproducible(client, api):
    await add_fault(client, match={"path_regex": "tokens"}, action="server_error", probability=0.5)
    statuses = [(await client.get("/api/v2/tokens/me", headers=api)).status_code for _ in range(40)]
    assert 5 < statuses.count(500) < 35 and statuses.count(200) == 40 - statuses.count(500)
    await client.delete("/__sim/faults")
    assert (await client.get("/__sim/faults")).json() == []


async def test_malformed_json(client, api):
    await add_fault(client, match={"path_regex": "tokens"}, action="malformed_json", times=1)
    reply = await client.get("/api/v2/tokens/me", headers=api)
    assert reply.status_code == 200
    with pytest.raises(ValueError):
        reply.json()


async def test_drop_connection_in_process_raises_what_a_socket_would(client, api):
    await add_fault(client, match={"path_regex": "tokens"}, action="drop_connection", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/api/v2/tokens/me", headers=api)
    log = (await client.get("/__sim/requests", params={"path": "tokens"})).json()
    assert log[-1]["status"] is None


async def test_unknown_fault_actions_are_refused(client):
    reply = await client.post("/__sim/faults", json={"action": "explode"})
    assert reply.status_code == 400


async def test_sliding_window_rate_limit_per_token(client):
    await client.post("/__sim/config", json={"rate_limit_per_minute": 3})
    first = {"Authorization": f"Bearer {await client_token(client)}"}
    second = {"Authorization": f"Bearer {await client_token(client)}"}
    for _ in range(3):
        assert (await client.get("/api/v2/tokens/me", headers=first)).status_code == 200
    limited = await client.get("/api/v2/tokens/me", headers=first)
    assert_error(limited, 429, "too.many.requests.retry.after")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert (await client.get("/api/v2/tokens/me", headers=second)).status_code == 200
    await client.post("/__sim/clock", json={"advance_seconds": 61})
    assert (await client.get("/api/v2/tokens/me", headers=first)).status_code == 200


async def test_rate_limit_off(client, api):
    await client.post("/__sim/config", json={"rate_limit_per_minute": 0})
    for _ in range(5):
        assert (await client.get("/api/v2/tokens/me", headers=api)).status_code == 200


async def test_request_log_records_everything_but_control_calls(client, api):
    await client.post(INBOUND, json=MESSAGE, headers=api)
    log = (await client.get("/__sim/requests")).json()
    assert [entry["path"] for entry in log] == ["/oauth/token", INBOUND.split("?")[0]]
    entry = log[-1]
    assert entry["method"] == "POST" and entry["status"] == 200
    assert entry["query"] == {"prefetchConversationId": "true"}
    assert entry["body"] == MESSAGE
    assert entry["headers"]["authorization"].startswith("Bearer ")
    assert entry["received_at"].endswith("Z") and len(entry["received_at"].split(".")[1]) == 7
    only_token = (await client.get("/__sim/requests", params={"path": "^/oauth"})).json()
    assert [e["path"] for e in only_token] == ["/oauth/token"]


async def test_reset_and_seed(client, api):
    await client.post("/__sim/reset")
    state = (await client.get("/__sim/state")).json()
    assert state["orgs"] == [] and state["conversations"] == []
    assert (await client.get("/__sim/requests")).json() == []
    reply = await client.post("/oauth/token", data=TOKEN_FORM, auth=CREDENTIALS)
    assert reply.json()["error"] == "invalid_client"
    assert (await client.post("/__sim/seed", json=load_fixture())).status_code == 200
    assert (await client.post("/oauth/token", data=TOKEN_FORM, auth=CREDENTIALS)).status_code == 200
    bad = await client.post(
        "/__sim/seed", json={"users": [{"id": "x", "org_id": "nope", "email": "x@example.com"}]}
    )
    assert bad.status_code == 400


async def test_config_rejects_unknown_options(client):
    assert (await client.post("/__sim/config", json={"no_such_option": 1})).status_code == 400
    with pytest.raises(TypeError):
        create_app(no_such_option=1)


def test_latency_timeout_and_drop_over_a_real_socket():
    app = create_app()
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as http:
        token = http.post("/oauth/token", data=TOKEN_FORM, auth=CREDENTIALS).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        started = time.monotonic()
        assert (
            http.get("/api/v2/tokens/me", headers={**headers, "X-Sim-Fault": "latency; ms=300"}).status_code
            == 200
        )
        assert time.monotonic() - started >= 0.3

        with pytest.raises(httpx.ReadTimeout):
            http.post(
                INBOUND,
                json=MESSAGE,
                timeout=0.3,
                headers={**headers, "X-Sim-Fault": "timeout_then_success; ms=1500"},
            )
        # The side effect happened although the caller never heard back.
        assert len(http.get("/__sim/state").json()["conversations"]) == 1

        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/api/v2/tokens/me", headers={**headers, "X-Sim-Fault": "drop_connection"})
        assert http.get("/api/v2/tokens/me", headers=headers).status_code == 200
