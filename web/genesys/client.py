"""The Genesys Cloud client: one instance per process, shared by every tenant.

The endpoints we use, on top of `GenesysTransport` (tokens, retries, typed errors). Each method
takes the tenant's `GenesysCredentials`; the agent-token calls take the agent's own token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from web.genesys.messages import open_message_body
from web.genesys.pkce import PkcePair, authorize_url, new_pkce_pair, pkce_challenge
from web.genesys.transport import GenesysCredentials, GenesysTransport, read_token_response

__all__ = [
    "GenesysClient",
    "GenesysCredentials",
    "PkcePair",
    "SentMessage",
    "authorize_url",
    "new_pkce_pair",
    "open_message_body",
    "pkce_challenge",
]

PAGE_SIZE = 100
MAX_PAGES = 100
INTENDED_STATES = ("ENABLED", "DISABLED", "DELETED", "RESTORED")
# IntegrationConfiguration fields we may send (the model's writable ones).
CONFIG_FIELDS = ("name", "version", "properties", "advanced", "notes", "credentials")


@dataclass(frozen=True)
class SentMessage:
    message_id: str  # the id Genesys gave the message
    conversation_id: str | None  # present when the conversation id was prefetched
    correlation_id: str | None
    raw: dict[str, Any] = field(repr=False)


class GenesysClient(GenesysTransport):
    """`GenesysClient(http=None, *, sleep=asyncio.sleep, clock=time.monotonic, max_attempts=4)`;
    see `GenesysTransport` for the retry policy and the token cache."""

    page_size = PAGE_SIZE  # entities per page when listing; an instance may lower it

    async def _api(
        self,
        creds: GenesysCredentials,
        method: str,
        path: str,
        *,
        attempts: int | None = None,
        **kwargs: Any,
    ) -> Any:
        reply = await self._request(
            method, creds.api_base_url, path, creds=creds, attempts=attempts, **kwargs
        )
        return reply.body

    async def _pages(self, creds: GenesysCredentials, path: str, params: dict[str, Any]) -> list[dict]:
        entities: list[dict] = []
        for page_number in range(1, MAX_PAGES + 1):
            page = await self._api(
                creds, "GET", path, params={**params, "pageSize": self.page_size, "pageNumber": page_number}
            )
            page = page or {}
            batch = page.get("entities") or []
            entities.extend(batch)
            page_count = page.get("pageCount")
            last = page_number >= page_count if isinstance(page_count, int) else not page.get("nextUri")
            if last or not batch:
                break
        return entities

    # ---- organisation and open messaging ---------------------------------------------------------

    async def get_token_info(self, creds: GenesysCredentials) -> dict[str, Any]:
        return await self._api(creds, "GET", "/api/v2/tokens/me")

    async def get_organization(self, creds: GenesysCredentials) -> dict[str, Any]:
        return await self._api(creds, "GET", "/api/v2/organizations/me")

    async def list_open_integrations(self, creds: GenesysCredentials) -> list[dict[str, Any]]:
        return await self._pages(creds, "/api/v2/conversations/messaging/integrations/open", {})

    async def get_open_integration(self, creds: GenesysCredentials, integration_id: str) -> dict[str, Any]:
        return await self._api(
            creds, "GET", f"/api/v2/conversations/messaging/integrations/open/{_segment(integration_id)}"
        )

    async def send_inbound_open_message(
        self,
        creds: GenesysCredentials,
        integration_id: str,
        body: dict[str, Any],
        *,
        prefetch_conversation_id: bool = True,
        attempts: int | None = None,
    ) -> SentMessage:
        """Create or continue the open-messaging conversation. Replaying after an unclear outcome
        is allowed because the body's `channel.messageId` stays the same across attempts."""
        params = {"prefetchConversationId": "true"} if prefetch_conversation_id else None
        reply = await self._request(
            "POST",
            creds.api_base_url,
            f"/api/v2/conversations/messages/{_segment(integration_id)}/inbound/open/message",
            creds=creds,
            params=params,
            json_body=body,
            attempts=attempts,
            replay_safe=True,
        )
        raw = reply.body if isinstance(reply.body, dict) else {}
        return SentMessage(
            message_id=str(raw.get("id") or ""),
            conversation_id=raw.get("conversationId"),
            correlation_id=reply.correlation_id,
            raw=raw,
        )

    # ---- client-app integrations --------------------------------------------------------------

    async def create_integration(self, creds: GenesysCredentials, name: str, type_id: str) -> dict[str, Any]:
        # Not replayed after an unclear outcome: that could leave two integrations behind.
        return await self._api(
            creds,
            "POST",
            "/api/v2/integrations",
            json_body={"name": name, "integrationType": {"id": type_id}},
        )

    async def get_integration(self, creds: GenesysCredentials, integration_id: str) -> dict[str, Any]:
        return await self._api(creds, "GET", f"/api/v2/integrations/{_segment(integration_id)}")

    async def list_integrations(self, creds: GenesysCredentials, type_id: str) -> list[dict[str, Any]]:
        return await self._pages(creds, "/api/v2/integrations", {"integrationType": type_id})

    async def get_integration_config(self, creds: GenesysCredentials, integration_id: str) -> dict[str, Any]:
        return await self._api(
            creds, "GET", f"/api/v2/integrations/{_segment(integration_id)}/config/current"
        )

    async def put_integration_config(
        self, creds: GenesysCredentials, integration_id: str, config: dict[str, Any]
    ) -> dict[str, Any]:
        """`config` must carry the `version` read last; a stale one raises VersionConflict."""
        if "version" not in config or "name" not in config:
            raise ValueError("an integration config needs its name and the current version")
        body = {"properties": {}, "advanced": {}, "notes": "", "credentials": {}}
        body.update({key: config[key] for key in CONFIG_FIELDS if key in config and config[key] is not None})
        return await self._api(
            creds, "PUT", f"/api/v2/integrations/{_segment(integration_id)}/config/current", json_body=body
        )

    async def patch_integration(
        self, creds: GenesysCredentials, integration_id: str, intended_state: str
    ) -> dict[str, Any]:
        if intended_state not in INTENDED_STATES:
            raise ValueError(f"intended state must be one of {', '.join(INTENDED_STATES)}")
        return await self._api(
            creds,
            "PATCH",
            f"/api/v2/integrations/{_segment(integration_id)}",
            json_body={"intendedState": intended_state},
        )

    async def delete_integration(
        self, creds: GenesysCredentials, integration_id: str
    ) -> dict[str, Any] | None:
        return await self._api(creds, "DELETE", f"/api/v2/integrations/{_segment(integration_id)}")

    async def get_config_schema(
        self, creds: GenesysCredentials, type_id: str, config_type: str = "properties"
    ) -> dict[str, Any]:
        if config_type not in ("properties", "advanced"):
            raise ValueError("config_type is 'properties' or 'advanced'")
        return await self._api(
            creds, "GET", f"/api/v2/integrations/types/{_segment(type_id)}/configschemas/{config_type}"
        )

    # ---- calls made with an agent's own token -------------------------------------------------------

    async def get_user_me(
        self, api_base_url: str, user_token: str, expand: Iterable[str] = ("organization",)
    ) -> dict[str, Any]:
        params = [("expand", value) for value in expand]
        reply = await self._request("GET", api_base_url, "/api/v2/users/me", bearer=user_token, params=params)
        return reply.body

    async def get_conversation(
        self, api_base_url: str, user_token: str, conversation_id: str
    ) -> dict[str, Any]:
        reply = await self._request(
            "GET", api_base_url, f"/api/v2/conversations/{_segment(conversation_id)}", bearer=user_token
        )
        return reply.body

    async def exchange_pkce_code(
        self, login_base_url: str, client_id: str, code: str, verifier: str, redirect_uri: str
    ) -> dict[str, Any]:
        """Trade the authorization code for the agent's token (no client secret with PKCE)."""
        reply = await self._request(
            "POST",
            login_base_url,
            "/oauth/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "client_id": client_id,
                "redirect_uri": redirect_uri,
            },
            oauth=True,
            attempts=1,  # a code is single-use: never replay it
        )
        read_token_response(reply, login_base_url)
        return reply.body


def _segment(value: str) -> str:
    """An id as one URL path segment, so an odd id can never reach another path."""
    if not value:
        raise ValueError("an id is required")
    return quote(str(value), safe="")
