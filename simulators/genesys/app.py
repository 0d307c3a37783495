"""The Genesys Cloud simulator: login host and API host in one ASGI app, plus the `/__sim/` controls.

app = create_app()                      # shipped default fixture, strict mode on
app = create_app(fixture, rate_limit_per_minute=0, dedupe="409")
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from simulators.asgi import Request, Response
from simulators.common import TRANSPORT_ACTIONS, Fault, SimulatorApp, iso_millis
from simulators.genesys import auth, desktop, errors, identity, integrations, messaging
from simulators.genesys.fixture import load_fixture
from simulators.genesys.state import Conversation, GenesysState, Token

ApiHandler = Callable[["GenesysSimulator", Request, Token], Awaitable[Response]]

GENESYS_ACTIONS = {
    "bad_credentials",
    "disable_client",
    "expire_token",
    "forbidden",
    "not_found",
    "rate_limit",
    "server_error",
    "unavailable",
    "gateway_timeout",
    "validation_error",
    "version_conflict",
}

DEFAULT_OPTIONS: dict[str, Any] = {
    "rate_limit_per_minute": 300,  # per token, sliding 60 s window; 0 = off
    "threading_window_seconds": 72 * 3600,  # 0 = a disconnected conversation is never re-opened
    "dedupe": "off",  # duplicate channel.messageId: "off" | "return-original" | "409"
    "invalid_client_status": 400,  # status of invalid_client from /oauth/token (400 or 401)
    "inbound_success_status": 200,  # 200 or 202
    "foreign_integration_status": 404,  # inbound to another org's integration: 404 or 403
    "id_type_case_insensitive": False,  # accept "opaque" for "Opaque"
    "version_conflict_status": 409,  # config PUT with a stale version: 409 or 400
    "accept_message_media_type": False,  # allow "message" in communicationTypeFilter
    "activation_delay_seconds": 0,  # ENABLED integrations report ACTIVATING this long first
    "delete_visible_seconds": 0,  # deleted integrations stay readable this long
    "max_text_length": 10_000,
    "max_custom_attributes": 50,
    "max_attribute_key_length": 256,
    "max_attribute_value_length": 2_048,
    "webhook_timeout_seconds": 10,
    "webhook_retries": 5,
    "webhook_retry_delay_seconds": 5,
    "fault_seed": 0,  # seed of the random choices behind fault probabilities and latency ranges
}


class GenesysSimulator(SimulatorApp):
    fault_actions = TRANSPORT_ACTIONS | GENESYS_ACTIONS
    default_options = DEFAULT_OPTIONS

    def __init__(self, fixture: dict | None, *, strict: bool = True, **options: Any) -> None:
        self._tasks: set[asyncio.Task] = set()
        super().__init__(fixture, strict=strict, **options)
        self._add_routes()

    # -- state ----------------------------------------------------------------------------------

    def reset_state(self) -> None:
        self.state = GenesysState()

    def seed(self, fixture: dict) -> None:
        self.state.seed(fixture, self.clock.now())

    def dump_state(self) -> dict[str, Any]:
        s = self.state
        return {
            "now": iso_millis(self.clock.now()),
            "orgs": list(s.orgs.values()),
            "oauth_clients": list(s.clients.values()),
            "users": list(s.users.values()),
            "queues": list(s.queues.values()),
            "groups": list(s.groups.values()),
            "open_integrations": list(s.open_integrations.values()),
            "integrations": [
                {
                    **integrations.integration_json(i),
                    "org_id": i["org_id"],
                    "deleted": i["deleted_at"] is not None,
                }
                for i in s.integrations.values()
            ],
            "conversations": [self.conversation_state(c) for c in s.conversations.values()],
            "tokens": [
                {
                    "client_id": t.client_id,
                    "org_id": t.org_id,
                    "user_id": t.user_id,
                    "grant": t.grant,
                    "expires_at": iso_millis(t.expires_at),
                }
                for t in s.tokens.values()
            ],
            "webhook_deliveries": s.webhook_deliveries,
        }

    def conversation_state(self, conversation: Conversation) -> dict[str, Any]:
        participants = []
        for participant in conversation.participants:
            entry = dict(participant)
            for key in ("startTime", "connectedTime", "endTime"):
                if entry.get(key) is not None:
                    entry[key] = iso_millis(entry[key])
            participants.append(entry)
        return {
            "id": conversation.id,
            "org_id": conversation.org_id,
            "integration_id": conversation.integration_id,
            "from_id": conversation.from_id,
            "state": conversation.state,
            "start_time": iso_millis(conversation.start_time),
            "disconnected_at": iso_millis(conversation.disconnected_at)
            if conversation.disconnected_at
            else None,
            "participants": participants,
            "attributes": conversation.customer()["attributes"],
            "messages": conversation.messages,
        }

    def require(self, token: Token, permission: str) -> Response | None:
        return auth.require(self, token, permission)

    def background(self, coroutine: Coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- responses and faults -----------------------------------------------------------------------

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return errors.error_body(status, code, message, **extra)

    def decorate(self, request: Request, response: Response) -> Response:
        if response.header(errors.CORRELATION_HEADER) is None:
            response.set_header(errors.CORRELATION_HEADER, errors.new_context_id())
        return response

    def fault_context(self, request: Request) -> dict[str, Any]:
        client_id = auth.client_of_request(self, request)
        client = self.state.clients.get(client_id or "")
        return {
            "host": "login" if request.path.startswith("/oauth/") else "api",
            "client_id": client_id,
            "org_id": client["org_id"] if client else None,
        }

    async def fault_response(self, request: Request, fault: Fault) -> Response | None:
        action = fault.action
        on_login = request.path.startswith("/oauth/")
        if action == "bad_credentials":
            if on_login:
                status = int(fault.args.get("status", self.options["invalid_client_status"]))
                return errors.oauth_error(status, "invalid_client", "authentication failed")
            return errors.error_body(401, "bad.credentials")
        if action == "disable_client":
            client = self.state.clients.get(
                fault.args.get("client_id") or auth.client_of_request(self, request) or ""
            )
            if client is not None:
                client["state"] = "disabled"
            return None
        if action == "expire_token":
            token = self.state.tokens.get(auth.bearer_value(request) or "")
            if token is not None:
                token.expires_at = self.clock.now()
            return None
        if action == "forbidden":
            return errors.missing_permissions(
                str(fault.args.get("permission", _permission_for(request.path)))
            )
        if action == "not_found":
            return errors.not_found()
        if action == "rate_limit":
            return errors.rate_limited(int(fault.number("retry_after", 1)))
        if action == "server_error":
            return errors.error_body(500, "internal.server.error")
        if action == "unavailable":
            headers = (
                {"Retry-After": str(int(fault.number("retry_after", 0)))}
                if "retry_after" in fault.args
                else {}
            )
            return errors.error_body(503, "service.unavailable", headers=headers)
        if action == "gateway_timeout":
            return errors.error_body(504, "request.timeout")
        if action == "validation_error":
            details = [
                {"errorCode": "bad.request", "fieldName": "text"},
                {"errorCode": "bad.request", "fieldName": "content"},
            ]
            return errors.error_body(400, "bad.request", errors.ANY_OF_MESSAGE, details=details)
        if action == "version_conflict":
            status = int(fault.args.get("status", self.options["version_conflict_status"]))
            code = "general.conflict" if status == 409 else "bad.request"
            return errors.error_body(status, code, "The supplied version does not match the current version.")
        return await super().fault_response(request, fault)

    # -- routes -----------------------------------------------------------------------------------

    def _api(self, method: str, pattern: str, handler: ApiHandler) -> None:
        async def authenticated(request: Request) -> Response:
            token = auth.authenticate(self, request)
            if isinstance(token, Response):
                return token
            return await handler(self, request, token)

        self.router.add(method, pattern, authenticated)

    def _plain(self, router_add: Callable, method: str, pattern: str, handler: Callable) -> None:
        async def call(request: Request) -> Response:
            return await handler(self, request)

        router_add(method, pattern, call)

    def _add_routes(self) -> None:
        self._plain(self.router.add, "POST", "/oauth/token", auth.token_endpoint)
        self._plain(self.router.add, "GET", "/oauth/authorize", auth.authorize)

        self._api("GET", "/api/v2/tokens/me", identity.tokens_me)
        self._api("GET", "/api/v2/users/me", identity.users_me)
        self._api("GET", "/api/v2/organizations/me", identity.organizations_me)

        open_path = "/api/v2/conversations/messaging/integrations/open"
        self._api("GET", open_path, messaging.list_open_integrations)
        self._api("GET", open_path + "/{integrationId}", messaging.get_open_integration)
        self._api(
            "POST",
            "/api/v2/conversations/messages/{integrationId}/inbound/open/message",
            messaging.inbound_message,
        )
        self._api("POST", "/api/v2/conversations/messages/inbound/open", messaging.legacy_inbound_message)
        self._api(
            "GET", "/api/v2/conversations/messages/{conversationId}", messaging.get_message_conversation
        )
        self._api("GET", "/api/v2/conversations/{conversationId}", messaging.get_conversation)

        self._api("GET", "/api/v2/integrations/clientapps", integrations.list_client_apps)
        self._api("GET", "/api/v2/integrations/types/{typeId}", integrations.get_type)
        self._api(
            "GET",
            "/api/v2/integrations/types/{typeId}/configschemas/{configType}",
            integrations.get_config_schema,
        )
        self._api("POST", "/api/v2/integrations", integrations.create_integration)
        self._api("GET", "/api/v2/integrations", integrations.list_integrations)
        self._api("GET", "/api/v2/integrations/{integrationId}", integrations.get_integration)
        self._api("PATCH", "/api/v2/integrations/{integrationId}", integrations.patch_integration)
        self._api("DELETE", "/api/v2/integrations/{integrationId}", integrations.delete_integration)
        self._api("GET", "/api/v2/integrations/{integrationId}/config/current", integrations.get_config)
        self._api("PUT", "/api/v2/integrations/{integrationId}/config/current", integrations.put_config)

        control = self.control.add
        self._plain(control, "GET", "/__sim/desktop", desktop.desktop_page)
        self._plain(control, "GET", "/__sim/desktop/data", desktop.desktop_state)
        self._plain(control, "POST", "/__sim/conversations/{conversationId}/accept", desktop.accept)
        self._plain(control, "POST", "/__sim/conversations/{conversationId}/disconnect", desktop.disconnect)
        self._plain(control, "POST", "/__sim/conversations/{conversationId}/reply", desktop.reply)


def _permission_for(path: str) -> str:
    if "/inbound/" in path:
        return "conversation:message:receive"
    if "/integrations/open" in path:
        return "messaging:integration:view"
    if "/integrations" in path:
        return "integrations:integration:view"
    return "conversation:communication:view"


def create_app(fixture: dict | None = None, *, strict: bool = True, **options: Any) -> GenesysSimulator:
    """The simulator seeded with `fixture` (the shipped default fixture when None)."""
    return GenesysSimulator(load_fixture() if fixture is None else fixture, strict=strict, **options)


__all__ = ["DEFAULT_OPTIONS", "GenesysSimulator", "create_app"]
