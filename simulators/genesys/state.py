"""In-memory state of the Genesys simulator and loading it from a fixture (contracts §3)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

GRANTS = {"client_credentials", "implicit", "pkce", "code"}


@dataclass
class Token:
    value: str
    client_id: str
    org_id: str
    expires_at: float
    user_id: str | None = None
    grant: str = "client_credentials"


@dataclass
class AuthCode:
    code: str
    client_id: str
    user_id: str
    redirect_uri: str
    challenge: str | None
    expires_at: float
    used: bool = False


@dataclass
class Conversation:
    id: str
    org_id: str
    integration_id: str
    from_id: str
    start_time: float
    participants: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    state: str = "alerting"
    disconnected_at: float | None = None

    def agent(self) -> dict[str, Any] | None:
        agents = [p for p in self.participants if p["purpose"] == "agent"]
        return agents[-1] if agents else None

    def customer(self) -> dict[str, Any]:
        return next(p for p in self.participants if p["purpose"] == "customer")


class GenesysState:
    def __init__(self) -> None:
        self.orgs: dict[str, dict[str, Any]] = {}
        self.clients: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.open_integrations: dict[str, dict[str, Any]] = {}
        self.integrations: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, AuthCode] = {}
        self.conversations: dict[str, Conversation] = {}
        # (integration id, channel.messageId) -> the first answer, for duplicate handling.
        self.sent_messages: dict[tuple[str, str], dict[str, Any]] = {}
        # token -> times of its recent requests (sliding rate-limit window).
        self.request_times: dict[str, deque[float]] = {}
        self.webhook_deliveries: list[dict[str, Any]] = []

    def seed(self, fixture: dict[str, Any], now: float) -> None:
        """Add (or replace by id) everything the fixture describes."""
        for org in fixture.get("orgs", []):
            self.orgs[_required(org, "id", "orgs")] = {
                "name": org.get("name", "Org"),
                "domain": org.get("domain", "mypurecloud.com"),
                "thirdPartyOrgName": org.get("thirdPartyOrgName", org.get("name", "org").lower()),
                **org,
            }
        for client in fixture.get("oauth_clients", []):
            client_id = _required(client, "client_id", "oauth_clients")
            self._require_org(client, "oauth_clients")
            grants = client.get("grant", "client_credentials")
            grants = [grants] if isinstance(grants, str) else list(grants)
            if not grants or set(grants) - GRANTS:
                raise ValueError(f"oauth_clients.{client_id}.grant must be among {sorted(GRANTS)}")
            self.clients[client_id] = {
                "name": client.get("name", client_id),
                "token_ttl_seconds": 86400,
                "permissions": [],
                "redirect_uris": [],
                "state": "active",
                **client,
                "grants": grants,
            }
        for kind, target in (("queues", self.queues), ("groups", self.groups)):
            for item in fixture.get(kind, []):
                self._require_org(item, kind)
                target[_required(item, "id", kind)] = {"name": item.get("id"), **item}
        for user in fixture.get("users", []):
            user_id = _required(user, "id", "users")
            self._require_org(user, "users")
            email = _required(user, "email", "users")
            self.users[user_id] = {
                "name": email,
                "username": email,
                "state": "active",
                "groups": [],
                "queues": [],
                **user,
            }
        for integration in fixture.get("open_integrations", []):
            integration_id = _required(integration, "id", "open_integrations")
            self._require_org(integration, "open_integrations")
            self.open_integrations[integration_id] = {
                "name": integration.get("name", "Open Messaging"),
                "default_queue_id": None,
                "outbound_webhook_url": "",
                "outbound_webhook_secret": "",
                "webhook_headers": {},
                "created_at": now,
                **integration,
            }

    def _require_org(self, item: dict[str, Any], kind: str) -> None:
        org_id = item.get("org_id")
        if org_id not in self.orgs:
            raise ValueError(f"{kind}: org_id {org_id!r} is not one of the fixture's orgs")

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        return next((u for u in self.users.values() if u["email"].lower() == email.lower()), None)

    def queue_members(self, queue_id: str) -> list[dict[str, Any]]:
        return [u for u in self.users.values() if queue_id in u["queues"] and u["state"] == "active"]


def _required(item: dict[str, Any], key: str, kind: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{kind}: every entry needs a string {key!r}")
    return value
