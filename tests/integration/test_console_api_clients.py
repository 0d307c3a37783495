"""API clients in the admin console: the secret is shown exactly once, and revoking works."""

from __future__ import annotations

import re

from tests.conftest import form_post
from tests.fixtures.console import login_as, text_of
from tests.fixtures.scheduling import tenant  # noqa: F401
from web.db.tables import ApiClient


async def test_create_shows_the_secret_once_then_revoke(client, tenant, clock):
    await login_as(client, tenant.admin, tenant.admin_password)
    assert (await client.get(f"/apps/{tenant.public_id}/api-clients")).status_code == 200

    created = await form_post(
        client, f"/apps/{tenant.public_id}/api-clients", {"name": "CRM sync", "scopes": ["scheduling:read"]}
    )
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    secret = re.search(r'Client secret</dt>\s*<dd class="secret">([^<]+)</dd>', created.text).group(1)
    row = await ApiClient.objects().get(ApiClient.name == "CRM sync")
    assert secret not in row.secret_hash and len(secret) >= 20

    again = await client.get(f"/apps/{tenant.public_id}/api-clients")
    assert secret not in again.text and row.client_id in again.text and "CRM sync" in text_of(again.text)

    revoked = await form_post(client, f"/apps/{tenant.public_id}/api-clients/{row.id}/revoke")
    assert revoked.status_code == 200 and "Client revoked." in revoked.text
    assert (await ApiClient.objects().get(ApiClient.id == row.id)).revoked_at is not None


async def test_create_validates_and_agents_are_refused(client, tenant):
    await login_as(client, tenant.admin, tenant.admin_password)
    bad = await form_post(client, f"/apps/{tenant.public_id}/api-clients", {"name": ""})
    assert (
        bad.status_code == 400 and 'id="name-error"' in bad.text and "Choose at least one scope." in bad.text
    )
    assert await ApiClient.count() == 0
    await login_as(client, tenant.agent, tenant.agent_password)
    refused = await form_post(
        client, f"/apps/{tenant.public_id}/api-clients", {"name": "x", "scopes": ["scheduling:read"]}
    )
    assert refused.status_code == 403 and await ApiClient.count() == 0
