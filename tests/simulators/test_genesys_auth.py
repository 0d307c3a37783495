"""Login host and identity endpoints of the Genesys simulator."""

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

from simulators.genesys import fixture as gf
from tests.simulators.sim_helpers import assert_error, assert_model, client_token, user_token

CALLBACK = "http://localhost:43210/genesys/auth/callback"


async def test_client_credentials_with_basic_auth_gives_a_bearer_token(client):
    reply = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(gf.CLIENT_ID, gf.CLIENT_SECRET)
    )
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86400


async def test_client_credentials_also_accepted_as_form_fields(client):
    form = {"grant_type": "client_credentials", "client_id": gf.CLIENT_ID, "client_secret": gf.CLIENT_SECRET}
    assert (await client.post("/oauth/token", data=form)).status_code == 200


async def test_wrong_secret_is_invalid_client_in_the_oauth_shape(client):
    reply = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(gf.CLIENT_ID, "nope")
    )
    assert reply.status_code == 400
    assert reply.json() == {
        "error": "invalid_client",
        "description": "authentication failed",
        "error_description": "authentication failed",
    }
    assert reply.headers["ININ-Correlation-Id"]


async def test_invalid_client_status_is_configurable_at_runtime(client):
    await client.post("/__sim/config", json={"invalid_client_status": 401})
    reply = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("unknown", "x")
    )
    assert reply.status_code == 401
    assert reply.json()["error"] == "invalid_client"


async def test_unsupported_grant(client):
    reply = await client.post(
        "/oauth/token", data={"grant_type": "password"}, auth=(gf.CLIENT_ID, gf.CLIENT_SECRET)
    )
    assert reply.status_code == 400
    assert reply.json()["error"] == "unsupported_grant_type"


async def test_token_expires_after_the_clients_ttl_on_the_sim_clock(client):
    await client.post(
        "/__sim/seed",
        json={
            "oauth_clients": [
                {
                    "client_id": "short",
                    "client_secret": "short-secret",
                    "org_id": gf.ORG_ID,
                    "grant": "client_credentials",
                    "token_ttl_seconds": 300,
                    "permissions": [],
                }
            ]
        },
    )
    token = await client_token(client, "short", "short-secret")
    reply = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("short", "short-secret")
    )
    assert reply.json()["expires_in"] == 300
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v2/tokens/me", headers=headers)).status_code == 200
    await client.post("/__sim/clock", json={"advance_seconds": 299})
    assert (await client.get("/api/v2/tokens/me", headers=headers)).status_code == 200
    await client.post("/__sim/clock", json={"advance_seconds": 2})
    assert_error(await client.get("/api/v2/tokens/me", headers=headers), 401, "bad.credentials")


async def test_api_without_token_requires_authentication(client):
    assert_error(await client.get("/api/v2/organizations/me"), 401, "authentication.required")
    bogus = {"Authorization": "Bearer not-a-token"}
    assert_error(await client.get("/api/v2/organizations/me", headers=bogus), 401, "bad.credentials")


async def test_tokens_me_and_organizations_me_for_a_client_token(client, api):
    info = (await client.get("/api/v2/tokens/me", headers=api)).json()
    assert_model("TokenInfo", info)
    assert info["organization"]["id"] == gf.ORG_ID
    assert info["OAuthClient"]["id"] == gf.CLIENT_ID
    assert info["OAuthClient"]["authorizedGrantType"] == "CLIENT-CREDENTIALS"
    org = (await client.get("/api/v2/organizations/me", headers=api)).json()
    assert_model("Organization", org)
    assert (org["id"], org["name"], org["domain"]) == (gf.ORG_ID, gf.ORG_NAME, gf.ORG_DOMAIN)


async def test_users_me_refuses_client_credentials_tokens(client, api):
    body = assert_error(await client.get("/api/v2/users/me", headers=api), 400, "bad.request")
    assert "Client Credentials" in body["message"]


async def test_implicit_grant_with_login_hint_redirects_with_a_user_token(client):
    reply = await client.get(
        "/oauth/authorize",
        params={
            "client_id": gf.IMPLICIT_CLIENT_ID,
            "redirect_uri": CALLBACK,
            "response_type": "token",
            "state": "s-1",
            "login_hint": "ben@example.com",
        },
    )
    assert reply.status_code == 302
    location = urlsplit(reply.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    fragment = parse_qs(location.fragment)
    assert fragment["token_type"] == ["bearer"] and fragment["state"] == ["s-1"]
    assert fragment["expires_in"] == ["86400"]
    me = (
        await client.get(
            "/api/v2/users/me?expand=organization",
            headers={"Authorization": f"Bearer {fragment['access_token'][0]}"},
        )
    ).json()
    assert_model("UserMe", me)
    assert (me["id"], me["name"], me["email"], me["state"]) == (
        gf.BEN_ID,
        "Ben Agent",
        "ben@example.com",
        "active",
    )
    assert me["organization"]["id"] == gf.ORG_ID


async def test_user_of_another_org_gets_a_token_of_that_org(client):
    token = await user_token(client, "olga@other.example.com")
    me = (
        await client.get(
            "/api/v2/users/me",
            params={"expand": "organization"},
            headers={"Authorization": f"Bearer {token}"},
        )
    ).json()
    assert me["organization"]["id"] == gf.OTHER_ORG_ID


async def test_authorize_without_hint_shows_a_frameable_user_picker(client):
    params = {"client_id": gf.IMPLICIT_CLIENT_ID, "redirect_uri": CALLBACK, "response_type": "token"}
    page = await client.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    assert "x-frame-options" not in page.headers and "content-security-policy" not in page.headers
    for name in ("Ana Agent", "Ben Agent", "Cleo Agent"):
        assert f">{name}</button>" in page.text
    picked = await client.get("/oauth/authorize", params={**params, "sim_user": gf.CLEO_ID})
    assert picked.status_code == 302 and "#access_token=" in picked.headers["location"]


async def test_authorize_refuses_unregistered_redirect_uris(client):
    for uri in ("http://evil.example/genesys/auth/callback", "http://127.0.0.1:8000/other/path"):
        reply = await client.get(
            "/oauth/authorize",
            params={
                "client_id": gf.IMPLICIT_CLIENT_ID,
                "redirect_uri": uri,
                "response_type": "token",
                "login_hint": "ana@example.com",
            },
        )
        assert reply.status_code == 400
        assert "location" not in reply.headers


def _pkce_pair() -> tuple[str, str]:
    verifier = "v" * 43 + "erifier-of-the-sim-tests"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def _authorize_code(client, challenge: str) -> str:
    reply = await client.get(
        "/oauth/authorize",
        params={
            "client_id": gf.PKCE_CLIENT_ID,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "xyz",
            "login_hint": "ana@example.com",
        },
    )
    assert reply.status_code == 302
    query = parse_qs(urlsplit(reply.headers["location"]).query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


async def test_pkce_code_exchange_gives_a_user_token_once(client):
    verifier, challenge = _pkce_pair()
    code = await _authorize_code(client, challenge)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "client_id": gf.PKCE_CLIENT_ID,
        "redirect_uri": CALLBACK,
    }
    reply = await client.post("/oauth/token", data=form)
    assert reply.status_code == 200
    token = reply.json()["access_token"]
    me = (await client.get("/api/v2/users/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert me["id"] == gf.ANA_ID
    again = await client.post("/oauth/token", data=form)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_pkce_with_a_wrong_verifier_is_invalid_grant(client):
    _, challenge = _pkce_pair()
    code = await _authorize_code(client, challenge)
    reply = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": "x" * 50,
            "client_id": gf.PKCE_CLIENT_ID,
            "redirect_uri": CALLBACK,
        },
    )
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"


async def test_pkce_without_challenge_redirects_with_an_error(client):
    reply = await client.get(
        "/oauth/authorize",
        params={
            "client_id": gf.PKCE_CLIENT_ID,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "login_hint": "ana@example.com",
        },
    )
    assert reply.status_code == 302
    assert parse_qs(urlsplit(reply.headers["location"]).query)["error"] == ["invalid_request"]


async def test_inactive_user_is_denied(client):
    await client.post(
        "/__sim/seed",
        json={
            "users": [
                {
                    "id": "dddddddd-0000-4000-8000-000000000001",
                    "org_id": gf.ORG_ID,
                    "name": "Dora Departed",
                    "email": "dora@example.com",
                    "state": "inactive",
                }
            ]
        },
    )
    reply = await client.get(
        "/oauth/authorize",
        params={
            "client_id": gf.IMPLICIT_CLIENT_ID,
            "redirect_uri": CALLBACK,
            "response_type": "token",
            "login_hint": "dora@example.com",
        },
    )
    assert parse_qs(urlsplit(reply.headers["location"]).fragment)["error"] == ["access_denied"]
