"""Agent sign-in: the PKCE code exchange and the server-side token check, against the simulator."""

import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.fixtures.genesys_sim import in_process_simulator
from web.genesys.client import GenesysClient, GenesysCredentials
from web.genesys.errors import CredentialsInvalid, NotFound
from web.genesys.login import GenesysUser, LoginRefused, verify_agent_token
from web.genesys.messages import open_message_body
from web.genesys.pkce import authorize_url, new_pkce_pair

SIM = "http://sim"
ORG_ID = str(uuid.uuid4())
OTHER_ORG_ID = str(uuid.uuid4())
PKCE_CLIENT_ID = "punctual-embedded"
OTHER_PKCE_CLIENT_ID = "other-org-embedded"
REDIRECT_URI = "http://127.0.0.1:8000/genesys/auth/callback"
CC_CLIENT_ID = "punctual-dispatch"
CC_SECRET = "s3cret-dispatch-value"
QUEUE_ID = str(uuid.uuid4())
INTEGRATION_ID = str(uuid.uuid4())
ANA = {"id": str(uuid.uuid4()), "name": "Ana Agent", "email": "ana@example.com", "state": "active"}
IVO = {"id": str(uuid.uuid4()), "name": "Ivo Inactive", "email": "ivo@example.com", "state": "inactive"}
OLA = {"id": str(uuid.uuid4()), "name": "Ola Other", "email": "ola@other.example", "state": "active"}

FIXTURE = {
    "orgs": [
        {"id": ORG_ID, "name": "Clinic Org", "domain": "mypurecloud.com"},
        {"id": OTHER_ORG_ID, "name": "Other Org", "domain": "mypurecloud.com"},
    ],
    "oauth_clients": [
        {"client_id": PKCE_CLIENT_ID, "org_id": ORG_ID, "grant": "pkce", "redirect_uris": [REDIRECT_URI]},
        {
            "client_id": OTHER_PKCE_CLIENT_ID,
            "org_id": OTHER_ORG_ID,
            "grant": "pkce",
            "redirect_uris": [REDIRECT_URI],
        },
        {
            "client_id": CC_CLIENT_ID,
            "client_secret": CC_SECRET,
            "org_id": ORG_ID,
            "grant": "client_credentials",
            "permissions": ["conversation:message:receive", "messaging:integration:view"],
        },
    ],
    "users": [
        {**ANA, "org_id": ORG_ID, "groups": [], "queues": [QUEUE_ID]},
        {**IVO, "state": "active", "org_id": ORG_ID, "groups": [], "queues": []},
        {**OLA, "org_id": OTHER_ORG_ID, "groups": [], "queues": []},
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
    ],
}


@pytest.fixture
async def sim_app():
    return await in_process_simulator(FIXTURE)


@pytest.fixture
async def login_page(sim_app):
    """Plays the agent's browser at the simulated login page (redirects are read, not followed)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url=SIM) as http:
        yield http


@pytest.fixture
async def client(sim_app):
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app))
    yield GenesysClient(http)
    await http.aclose()


async def authorization_code(login_page, user, pkce, client_id=PKCE_CLIENT_ID):
    url = authorize_url(
        SIM, client_id=client_id, redirect_uri=REDIRECT_URI, challenge=pkce.challenge, state="st-1"
    )
    response = await login_page.get(f"{url}&{urlencode({'login_hint': user['email']})}")
    assert response.status_code in (302, 303), response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["st-1"]
    return query["code"][0]


async def user_token(client, login_page, user, client_id=PKCE_CLIENT_ID):
    pkce = new_pkce_pair()
    code = await authorization_code(login_page, user, pkce, client_id)
    token = await client.exchange_pkce_code(SIM, client_id, code, pkce.verifier, REDIRECT_URI)
    assert token["token_type"].lower() == "bearer"
    assert token["expires_in"] > 0
    return token["access_token"]


async def test_active_agent_of_the_org_is_accepted(client, login_page):
    token = await user_token(client, login_page, ANA)

    user = await verify_agent_token(client, SIM, token, ORG_ID)

    assert user == GenesysUser(id=ANA["id"], name="Ana Agent", email="ana@example.com", org_id=ORG_ID)


async def test_agent_of_another_org_is_refused(client, login_page):
    token = await user_token(client, login_page, OLA, OTHER_PKCE_CLIENT_ID)

    with pytest.raises(LoginRefused) as refused:
        await verify_agent_token(client, SIM, token, ORG_ID)
    assert refused.value.reason == "This Genesys user belongs to another organization"


async def test_inactive_user_is_refused(client, login_page):
    # Ivo signs in while active, then an administrator deactivates him in Genesys.
    token = await user_token(client, login_page, {**IVO, "state": "active"})
    (await login_page.post("/__sim/seed", json={"users": [{**IVO, "org_id": ORG_ID}]})).raise_for_status()

    # Genesys (and the simulator) revokes a deactivated user's tokens, so the refusal comes as a
    # rejected token; a still-valid token of an inactive user would be refused as "not active".
    with pytest.raises(LoginRefused, match=r"did not accept the sign-in token|not active"):
        await verify_agent_token(client, SIM, token, ORG_ID)


@pytest.mark.parametrize("token", ["not-a-real-token", ""])
async def test_unknown_token_is_refused(client, token):
    with pytest.raises(LoginRefused, match=r"did not accept the sign-in token|No Genesys sign-in token"):
        await verify_agent_token(client, SIM, token, ORG_ID)


async def test_client_credentials_token_is_not_an_agent(client, sim_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url=SIM) as http:
        minted = await http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(CC_CLIENT_ID, CC_SECRET)
        )
    minted.raise_for_status()

    with pytest.raises(LoginRefused, match="does not belong to a user"):
        await verify_agent_token(client, SIM, minted.json()["access_token"], ORG_ID)


async def test_code_is_single_use_and_bound_to_its_verifier(client, login_page):
    pkce = new_pkce_pair()
    code = await authorization_code(login_page, ANA, pkce)

    with pytest.raises(CredentialsInvalid) as wrong_verifier:
        await client.exchange_pkce_code(SIM, PKCE_CLIENT_ID, code, new_pkce_pair().verifier, REDIRECT_URI)
    assert wrong_verifier.value.code == "invalid_grant"
    assert "sign-in code" in wrong_verifier.value.plain_words()

    fresh = await authorization_code(login_page, ANA, pkce)
    await client.exchange_pkce_code(SIM, PKCE_CLIENT_ID, fresh, pkce.verifier, REDIRECT_URI)
    with pytest.raises(CredentialsInvalid):
        await client.exchange_pkce_code(SIM, PKCE_CLIENT_ID, fresh, pkce.verifier, REDIRECT_URI)


async def test_agent_reads_the_routed_conversation_with_their_own_token(client, login_page):
    creds = GenesysCredentials(CC_CLIENT_ID, CC_SECRET, SIM, SIM)
    body = open_message_body(
        message_id="reminder-b1-T-5",
        time=datetime(2026, 5, 4, 13, 50, tzinfo=UTC),
        from_id="booking-b1",
        nickname="Jane Doe",
        text="Video meeting with Jane Doe starts at 14:00 UTC.",
        custom_attributes={"bookingId": "b1", "agentUserId": ANA["id"]},
    )
    sent = await client.send_inbound_open_message(creds, INTEGRATION_ID, body)
    token = await user_token(client, login_page, ANA)

    conversation = await client.get_conversation(SIM, token, sent.conversation_id)

    assert conversation["id"] == sent.conversation_id
    agents = [p for p in conversation["participants"] if p.get("purpose") == "agent"]
    assert [agent["userId"] for agent in agents] == [ANA["id"]]
    attributes = {}
    for participant in conversation["participants"]:
        attributes.update(participant.get("attributes") or {})
    assert attributes["bookingId"] == "b1"
    with pytest.raises(NotFound) as missing:
        await client.get_conversation(SIM, token, str(uuid.uuid4()))
    assert missing.value.plain_words() == "The conversation was not found in Genesys"
