"""The simulated agent desktop (standing for `https://apps.{domain}`) and its conversation controls."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from simulators.asgi import Request, Response, html_response, json_response
from simulators.common import iso_millis
from simulators.genesys.integrations import CLIENT_APP, INTERACTION_WIDGET, visible_client_apps
from simulators.genesys.state import Conversation

if TYPE_CHECKING:
    from simulators.genesys.app import GenesysSimulator

PAGE_PATH = Path(__file__).with_name("desktop.html")
# What the Genesys admin UI pre-fills when an app sets no sandbox of its own.
DEFAULT_SANDBOX = (
    "allow-forms,allow-modals,allow-popups,allow-presentation,allow-same-origin,allow-scripts,allow-downloads"
)
TARGET_ENVS = {
    "mypurecloud.com": "prod",
    "usw2.pure.cloud": "prod-usw2",
    "cac1.pure.cloud": "prod-cac1",
    "sae1.pure.cloud": "prod-sae1",
    "mxc1.pure.cloud": "prod-mxc1",
    "mypurecloud.ie": "prod-euw1",
    "euw2.pure.cloud": "prod-euw2",
    "mypurecloud.de": "prod-euc1",
    "euc2.pure.cloud": "prod-euc2",
    "mec1.pure.cloud": "prod-mec1",
    "aps1.pure.cloud": "prod-aps1",
    "apse1.pure.cloud": "prod-apse1",
    "mypurecloud.com.au": "prod-apse2",
    "mypurecloud.jp": "prod-apne1",
    "apne2.pure.cloud": "prod-apne2",
    "apne3.pure.cloud": "prod-apne3",
    "use2.us-gov-pure.cloud": "fedramp-use2-core",
}
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def interpolate(url: str, values: dict[str, str]) -> str:
    """Replace the `{{name}}` placeholders Genesys knows; unknown ones stay as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), url)


def _frame(integration: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    properties = integration["config"]["properties"]
    sandbox = properties.get("sandbox") or DEFAULT_SANDBOX
    permissions = properties.get("permissions") or ""
    return {
        "id": integration["id"],
        "name": integration["config"]["name"],
        "url": interpolate(properties.get("url", "about:blank"), values),
        "sandbox": " ".join(token.strip() for token in sandbox.split(",") if token.strip()),
        "allow": "; ".join(token.strip() for token in permissions.split(",") if token.strip()),
    }


def _placeholders(sim: GenesysSimulator, request: Request, user: dict[str, Any]) -> dict[str, str]:
    domain = sim.state.orgs[user["org_id"]]["domain"]
    return {
        "gcHostOrigin": request.origin,
        "gcTargetEnv": TARGET_ENVS.get(domain, "prod"),
        "gcLangTag": "en-us",
        "gcUsePopupAuth": "false",
        "pcEnvironment": domain,
        "pcLangTag": "en-us",
        "pcUsePopupAuth": "false",
    }


def _queue_of(conversation: Conversation) -> str | None:
    for participant in reversed(conversation.participants):
        if participant.get("queueId"):
            return participant["queueId"]
    return None


def _widget_matches(integration: dict[str, Any], conversation: Conversation) -> bool:
    properties = integration["config"]["properties"]
    queues = properties.get("queueIdFilterList") or []
    if queues and _queue_of(conversation) not in queues:
        return False
    media = [m.strip() for m in (properties.get("communicationTypeFilter") or "").split(",") if m.strip()]
    return not media or "open" in media


def desktop_data(sim: GenesysSimulator, request: Request, user: dict[str, Any]) -> dict[str, Any]:
    values = _placeholders(sim, request, user)
    visible = visible_client_apps(sim, user)
    apps = [_frame(i, values) for i in visible if i["type_id"] == CLIENT_APP]
    widgets = [i for i in visible if i["type_id"] == INTERACTION_WIDGET]
    conversations = []
    for conversation in sim.state.conversations.values():
        agent = conversation.agent()
        if (
            agent is None
            or agent.get("userId") != user["id"]
            or agent["state"] not in ("alerting", "connected")
        ):
            continue
        conversation_values = {
            **values,
            "gcConversationId": conversation.id,
            "pcConversationId": conversation.id,
        }
        customer = conversation.customer()
        conversations.append(
            {
                "id": conversation.id,
                "state": agent["state"],
                "customer": customer["name"],
                "queue": agent.get("queueName"),
                "widgets": [
                    _frame(w, conversation_values) for w in widgets if _widget_matches(w, conversation)
                ]
                if agent["state"] == "connected"
                else [],
            }
        )
    return {"user": {"id": user["id"], "name": user["name"]}, "apps": apps, "conversations": conversations}


async def desktop_page(sim: GenesysSimulator, request: Request) -> Response:
    user = sim.state.users.get(request.query_value("userId") or "")
    if user is None:
        return html_response("<!doctype html><p>Unknown user: pass ?userId= of a seeded user.</p>", 404)
    page = PAGE_PATH.read_text(encoding="utf-8")
    page = page.replace("__USER_ID__", html.escape(user["id"])).replace(
        "__USER_NAME__", html.escape(user["name"])
    )
    return html_response(page)


async def desktop_state(sim: GenesysSimulator, request: Request) -> Response:
    user = sim.state.users.get(request.query_value("userId") or "")
    if user is None:
        return json_response({"error": "unknown user"}, 404)
    return json_response(desktop_data(sim, request, user))


# -- conversation controls (the desktop's buttons use them too) -------------------------------------


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def accept(sim: GenesysSimulator, request: Request) -> Response:
    conversation = sim.state.conversations.get(request.path_params["conversationId"])
    if conversation is None:
        return json_response({"error": "unknown conversation"}, 404)
    user = sim.state.users.get(_body(request).get("userId", ""))
    if user is None:
        return json_response({"error": "unknown userId"}, 400)
    now = sim.clock.now()
    agent = conversation.agent()
    if agent is None or agent["state"] == "disconnected":
        queue_id = _queue_of(conversation)
        if conversation.state == "disconnected" or queue_id not in user["queues"]:
            return json_response({"error": "the conversation is not offered to this user"}, 409)
        agent = {
            "id": str(uuid.uuid4()),
            "purpose": "agent",
            "participantType": "Internal",
            "name": user["name"],
            "userId": user["id"],
            "queueId": queue_id,
            "queueName": sim.state.queues[queue_id]["name"],
            "state": "alerting",
            "startTime": now,
            "connectedTime": None,
            "endTime": None,
        }
        conversation.participants.append(agent)
    if agent["userId"] != user["id"] or agent["state"] != "alerting":
        return json_response({"error": "the conversation is not alerting for this user"}, 409)
    agent.update(state="connected", connectedTime=now)
    for participant in conversation.participants:
        if participant["purpose"] == "acd" and participant["state"] != "disconnected":
            participant.update(state="disconnected", endTime=now)
    conversation.state = "connected"
    return json_response(sim.conversation_state(conversation))


async def disconnect(sim: GenesysSimulator, request: Request) -> Response:
    conversation = sim.state.conversations.get(request.path_params["conversationId"])
    if conversation is None:
        return json_response({"error": "unknown conversation"}, 404)
    now = sim.clock.now()
    for participant in conversation.participants:
        if participant["state"] != "disconnected":
            participant.update(state="disconnected", endTime=now)
    conversation.state = "disconnected"
    conversation.disconnected_at = now
    return json_response(sim.conversation_state(conversation))


async def reply(sim: GenesysSimulator, request: Request) -> Response:
    """An agent's message: POSTed, signed, to the integration's outbound webhook (with retries)."""
    conversation = sim.state.conversations.get(request.path_params["conversationId"])
    if conversation is None:
        return json_response({"error": "unknown conversation"}, 404)
    text = _body(request).get("text")
    if not isinstance(text, str) or not text:
        return json_response({"error": 'send {"text": "..."}'}, 400)
    integration = sim.state.open_integrations[conversation.integration_id]
    message_id = uuid.uuid4().hex
    payload = {
        "id": message_id,
        "channel": {
            "id": integration["id"],
            "messageId": message_id,
            "platform": "Open",
            "type": "Private",
            "to": {"id": conversation.from_id, "idType": "Opaque"},
            "from": {"nickname": integration["name"], "id": integration["id"], "idType": "Opaque"},
            "time": iso_millis(sim.clock.now()),
        },
        "conversationId": conversation.id,
        "direction": "Outbound",
        "originatingEntity": "Human",
        "type": "Text",
        "text": text,
        "content": [],
        "reasons": [],
        "relatedMessages": [],
    }
    conversation.messages.append({"id": message_id, "direction": "outbound", "text": text})
    delivery = {"message_id": message_id, "url": integration["outbound_webhook_url"], "attempts": []}
    sim.state.webhook_deliveries.append(delivery)
    task = deliver_webhook(sim, integration, payload, delivery)
    if request.query_bool("wait"):
        await task
    else:
        sim.background(task)
    return json_response({"id": message_id, "delivery": delivery}, 202)


def sign(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


async def deliver_webhook(
    sim: GenesysSimulator, integration: dict[str, Any], payload: dict[str, Any], delivery: dict[str, Any]
) -> None:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(integration["outbound_webhook_secret"], body),
        **integration["webhook_headers"],
    }
    tries = 1 + int(sim.options["webhook_retries"])
    async with httpx.AsyncClient(timeout=float(sim.options["webhook_timeout_seconds"])) as client:
        for attempt in range(tries):
            try:
                response = await client.post(
                    integration["outbound_webhook_url"], content=body, headers=headers
                )
                delivery["attempts"].append({"status": response.status_code})
                if response.status_code != 429 and response.status_code < 500:
                    delivery["delivered"] = response.is_success
                    return
            except httpx.HTTPError as exc:
                delivery["attempts"].append({"error": type(exc).__name__})
            if attempt + 1 < tries:
                await asyncio.sleep(float(sim.options["webhook_retry_delay_seconds"]))
    delivery["delivered"] = False
