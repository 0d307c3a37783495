"""The WhatsApp Cloud API client: approved template messages, the only kind Punctual sends.

`POST {base_url}/{api_version}/{phone_number_id}/messages` with a bearer token and
`{"messaging_product": "whatsapp", "to": ..., "type": "template", "template": {...}}`.

One `WhatsAppClient` per process serves every sender (the sender travels with each call). Every
request has explicit timeouts. The client can retry transient failures itself (`attempts`), but
reminder sending asks for one attempt per run and keeps its retry state in the database row, so a
crash or a long `Retry-After` loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from web.whatsapp.errors import WhatsAppError, error_from_response

log = logging.getLogger("punctual.whatsapp")

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=50)
BACKOFF_BASE_SECONDS = 1.0
# A longer Retry-After is not waited for here: the error goes back to the caller to plan later.
MAX_RETRY_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class TemplateSpec:
    """One approved template: its name, language code and the variables of its body, in order."""

    name: str
    language: str = "en"
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class SenderConfig:
    """A linked WhatsApp sender, ready to send (token decrypted)."""

    phone_number_id: str
    access_token: str = field(repr=False)
    base_url: str = "https://graph.facebook.com"
    api_version: str = "v21.0"
    templates: dict[str, TemplateSpec] = field(default_factory=dict)  # by reminder kind
    name: str = ""

    @property
    def messages_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{self.api_version}/{self.phone_number_id}/messages"


@dataclass(frozen=True)
class SentTemplate:
    message_id: str
    wa_id: str = ""


def template_body(to: str, template_name: str, language: str, parameters: list[str]) -> dict[str, Any]:
    template: dict[str, Any] = {"name": template_name, "language": {"code": language}}
    if parameters:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": text} for text in parameters]}
        ]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": template,
    }


class WhatsAppClient:
    def __init__(
        self,
        http: httpx.AsyncClient | None = None,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        max_attempts: int = 3,
    ) -> None:
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, limits=DEFAULT_LIMITS)
        self.sleep = sleep
        self.max_attempts = max_attempts

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def send_template(
        self,
        sender: SenderConfig,
        to: str,
        template_name: str,
        language: str,
        parameters: list[str],
        *,
        attempts: int | None = None,
    ) -> SentTemplate:
        """Send one template message; raises `WhatsAppError` once the attempts are used up or
        at the first permanent error."""
        body = template_body(to, template_name, language, parameters)
        budget = max(1, attempts or self.max_attempts)
        for attempt in range(1, budget + 1):
            try:
                return await self._send_once(sender, body)
            except WhatsAppError as exc:
                wait = _retry_wait(exc, attempt)
                if exc.permanent or attempt >= budget or wait > MAX_RETRY_WAIT_SECONDS:
                    raise
                log.info("whatsapp send attempt %d failed (%s); retrying in %.1f s", attempt, exc, wait)
                await self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(self, sender: SenderConfig, body: dict[str, Any]) -> SentTemplate:
        headers = {"Authorization": f"Bearer {sender.access_token}"}
        try:
            response = await self.http.post(sender.messages_url, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise WhatsAppError(f"no answer in time ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise WhatsAppError(f"connection failed ({type(exc).__name__})") from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 300:
            raise error_from_response(response.status_code, payload, response.headers.get("retry-after"))
        messages = payload.get("messages") if isinstance(payload, dict) else None
        if not messages or not isinstance(messages[0], dict) or not messages[0].get("id"):
            # Accepted or not, we cannot tell: treat it like no answer.
            raise WhatsAppError(f"unreadable answer (HTTP {response.status_code})", status=None)
        contacts = payload.get("contacts") or [{}]
        wa_id = contacts[0].get("wa_id", "") if isinstance(contacts[0], dict) else ""
        return SentTemplate(message_id=str(messages[0]["id"]), wa_id=str(wa_id or ""))


def _retry_wait(error: WhatsAppError, attempt: int) -> float:
    backoff = BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)
    return max(backoff, error.retry_after or 0.0)
