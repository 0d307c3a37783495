"""POST /oauth/token and what a bearer token allows: every error of the token endpoint, expiry,
revocation, scopes, and tenancy (another app's id or call id is simply not found)."""

from __future__ import annotations

import hashlib

from tests.fixtures.api import SECRET, api, fetch_token, make_api, tenant  # noqa: F401
from tests.fixtures.scheduling import create_tenant, workday_slot
from web.db.tables import ApiClient, ApiToken
from web.scheduling import api_clients


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"type", "message", "timestamp", "details"} <= set(body["error"])
    return body["error"]


async def test_token_by_json_and_by_form_is_stored_only_as_a_digest(client, tenant):
    created, secret = await api_clients.create_client(
        tenant.app_id, "CRM", ["scheduling:read"], secret=SECRET
    )
    response = await client.post(
        "/oauth/token",
        json={"grant_type": "client_credentials", "client_id": created.client_id, "client_secret": secret},
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["data"]["token_type"] == "Bearer"
    assert body["data"]["expires_in"] == 3600
    assert body["data"]["scope"] == "scheduling:read"
    assert body["meta"]["timestamp"].endswith("Z")
    token = body["data"]["access_token"]
    stored = await ApiToken.select(ApiToken.token_hash).where(ApiToken.client == created.id)
    assert [row["token_hash"] for row in stored] == [hashlib.sha256(token.encode()).hexdigest()]

    form = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": created.client_id, "client_secret": secret},
    )
    assert form.status_code == 200
    assert form.json()["data"]["access_token"] != token
    client_row = await ApiClient.objects().get(ApiClient.id == created.id)
    assert SECRET not in client_row.secret_hash


async def test_token_endpoint_errors(client, tenant):
    created, secret = await api_clients.create_client(
        tenant.app_id, "CRM", ["scheduling:read"], secret=SECRET
    )
    cases = [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "invalid_request"),
        ({"json": ["a list"]}, 400, "invalid_request"),
        ({"json": {"client_id": created.client_id, "client_secret": secret}}, 400, "invalid_request"),
        (
            {"json": {"grant_type": "password", "client_id": created.client_id, "client_secret": secret}},
            400,
            "unsupported_grant_type",
        ),
        (
            {"json": {"grant_type": "client_credentials", "client_id": created.client_id}},
            400,
            "invalid_client",
        ),
        ({"json": {"grant_type": "client_credentials", "client_secret": secret}}, 400, "invalid_client"),
        (
            {
                "json": {
                    "grant_type": "client_credentials",
                    "client_id": created.client_id,
                    "client_secret": "no",
                }
            },
            401,
            "invalid_client",
        ),
        (
            {"json": {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": secret}},
            401,
            "invalid_client",
        ),
        (
            {"json": {"grant_type": "client_credentials", "client_id": 12, "client_secret": secret}},
            400,
            "invalid_client",
        ),
    ]
    for kwargs, status, error_type in cases:
        response = await client.post("/oauth/token", **kwargs)
        assert response.status_code == status, (kwargs, response.text)
        assert error_of(response)["type"] == error_type, (kwargs, response.text)


async def test_missing_unknown_and_expired_tokens_are_401_without_quota_headers(api, clock):
    assert (await api.get("/scheduled-calls")).status_code == 200
    for token in ("", "not-a-token"):
        response = await api.get("/scheduled-calls", token=token)
        assert response.status_code == 401
        assert error_of(response)["type"] == "unauthorized"
        assert "x-ratelimit-limit" not in response.headers
    bare = await api.http.get(f"{api.base}/scheduled-calls")
    assert bare.status_code == 401
    assert bare.headers["www-authenticate"].startswith("Bearer")

    clock.advance(seconds=3601)
    expired = await api.get("/scheduled-calls")
    assert expired.status_code == 401


async def test_revoking_a_client_ends_its_tokens_and_its_grant(api):
    row = await ApiClient.objects().get(ApiClient.client_id == api.client_id)
    assert await api_clients.revoke_client(api.tenant.app_id, row.id)
    assert (await api.get("/scheduled-calls")).status_code == 401
    response = await api.http.post(
        "/oauth/token",
        json={"grant_type": "client_credentials", "client_id": api.client_id, "client_secret": SECRET},
    )
    assert response.status_code == 401


async def test_scopes(client, tenant, clock):
    reader = await make_api(client, tenant, scopes=["scheduling:read"])
    body = {
        "guestName": "Gina",
        "guestPhone": "+573001234567",
        "scheduledAtUtc": workday_slot(clock.now()).isoformat(),
        "appTimezone": tenant.timezone,
    }
    refused = await reader.post("/scheduled-calls", json=body)
    assert refused.status_code == 403
    assert error_of(refused)["type"] == "forbidden"
    assert "x-ratelimit-limit" not in refused.headers
    assert (await reader.get("/scheduled-calls")).status_code == 200

    writer = await make_api(client, tenant, scopes=["scheduling:write"])
    assert (await writer.post("/scheduled-calls", json=body)).status_code == 201
    assert (await writer.get("/scheduled-calls")).status_code == 403
    assert (await writer.get("/availability")).status_code == 403


async def test_other_apps_do_not_exist_for_a_client(api, clock):
    other = await create_tenant("Other clinic")
    other_api = await make_api(api.http, other, client_id="other-client")
    created = await other_api.post(
        "/scheduled-calls",
        json={
            "guestName": "Olga",
            "guestEmail": "olga@example.com",
            "scheduledAtUtc": workday_slot(clock.now()).isoformat(),
            "appTimezone": other.timezone,
        },
    )
    assert created.status_code == 201
    foreign_call = created.json()["data"]["call"]["id"]

    for path in (
        f"/api/v1/video/{other.public_id}/scheduled-calls",
        f"/api/v1/video/{other.public_id}/scheduled-calls/{foreign_call}",
        "/api/v1/video/not-a-uuid/scheduled-calls",
        "/api/v1/video/00000000-0000-4000-8000-000000000000/availability",
    ):
        response = await api.get(path)
        assert response.status_code == 404, path
        assert error_of(response)["type"] == "app_not_found"
        assert "x-ratelimit-remaining" in response.headers

    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"guestName": "Mallory"}} if method == "PATCH" else {}
        response = await api.request(method, f"/scheduled-calls/{foreign_call}", **kwargs)
        assert response.status_code == 404, method
        assert error_of(response)["type"] == "not_found"
    reminder = await api.post(f"/scheduled-calls/{foreign_call}/reminders", json={})
    assert reminder.status_code == 404
    assert (await api.get("/scheduled-calls/not-a-uuid")).status_code == 404

    untouched = await other_api.get(f"/scheduled-calls/{foreign_call}")
    assert untouched.json()["data"]["call"]["guest_name"] == "Olga"
    assert untouched.json()["data"]["call"]["status"] == "scheduled"
