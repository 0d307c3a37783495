"""The default Genesys simulator fixture and the fixed ids it uses (also listed in README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEFAULT_FIXTURE_PATH = Path(__file__).with_name("default_fixture.json")

ORG_ID = "11111111-1111-4111-8111-111111111111"
ORG_NAME = "Demo Org"
ORG_DOMAIN = "mypurecloud.com"
OTHER_ORG_ID = "22222222-2222-4222-8222-222222222222"

# Client-credentials client of the demo org (server side: open messaging, integrations).
CLIENT_ID = "c1c1c1c1-0000-4000-8000-000000000001"
CLIENT_SECRET = "sim-client-credentials-secret"
# Browser client of the demo org: implicit and PKCE; any port on 127.0.0.1/localhost.
IMPLICIT_CLIENT_ID = "c1c1c1c1-0000-4000-8000-000000000002"
PKCE_CLIENT_ID = IMPLICIT_CLIENT_ID
# Client-credentials client of the other org.
OTHER_CLIENT_ID = "c2c2c2c2-0000-4000-8000-000000000001"
OTHER_CLIENT_SECRET = "sim-other-org-secret"

QUEUE_ID = "33333333-3333-4333-8333-333333333333"
GROUP_ID = "44444444-4444-4444-8444-444444444444"
OPEN_INTEGRATION_ID = "55555555-5555-4555-8555-555555555555"
WEBHOOK_SECRET = "sim-webhook-secret-0123456789"

ANA_ID = "aaaaaaaa-0000-4000-8000-000000000001"
BEN_ID = "aaaaaaaa-0000-4000-8000-000000000002"
CLEO_ID = "aaaaaaaa-0000-4000-8000-000000000003"
OTHER_ORG_USER_ID = "bbbbbbbb-0000-4000-8000-000000000001"

# Agents of the demo org, by first name: id, name, email.
USERS: dict[str, dict[str, str]] = {
    "ana": {"id": ANA_ID, "name": "Ana Agent", "email": "ana@example.com"},
    "ben": {"id": BEN_ID, "name": "Ben Agent", "email": "ben@example.com"},
    "cleo": {"id": CLEO_ID, "name": "Cleo Agent", "email": "cleo@example.com"},
}
OTHER_ORG_USER = {"id": OTHER_ORG_USER_ID, "name": "Olga Outsider", "email": "olga@other.example.com"}


def load_fixture(path: str | Path | None = None) -> dict[str, Any]:
    """The fixture at `path`, or the shipped default one."""
    with open(path or DEFAULT_FIXTURE_PATH, encoding="utf-8") as handle:
        fixture = json.load(handle)
    if not isinstance(fixture, dict):
        raise ValueError(f"{path}: a fixture is a JSON object")
    return fixture
