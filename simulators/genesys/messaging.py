"""Open Messaging: integrations, inbound messages, threading, the routing rule, conversations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from simulators.asgi import Request, Response, json_response
from simulators.common import iso_millis
from simulators.genesys import errors, models
from simulators.genesys.state import Conversation, Token

if TYPE_CHECKING:
    from simulators.genesys.app import GenesysSimulator

# Accepted although absent from OpenInboundNormalizedMessage: the place participant data travels in
# practice, and the fields carried over from the legacy endpoint that Genesys ignores.
INBOUND_EXTRA_FIELDS = frozenset(
    {
        "channel.metadata.customAttributes",
        "channel.platform",
        "channel.type",
        "channel.to",
        "direction",
        "type",
    }
)
LEGACY_EXTRA_FIELDS = frozenset({"channel.metadata.customAttributes"})


def page_of(request: Request, entities: list[dict[str, Any]], path: str) -> dict[str, Any]:
    """An EntityListing page (pageSize default 25, pageNumber from 1)."""
    try:
        size = max(1, min(500, int(request.query_value("pageSize", "25") or 25)))
        number = max(1, int(request.query_value("pageNumber", "1") or 1))
    except ValueError:
        size, number = 25, 1
    total = len(entities)
    page_count = max(1, -(-total // size))
    listing: dict[str, Any] = {
        "entities": entities[(number - 1) * size : number * size],
        "pageSize": size,
        "pageNumber": number,
        "total": total,
        "pageCount": page_count,
        "firstUri": f"{path}?pageSize={size}&pageNumber=1",
        "lastUri": f"{path}?pageSize={size}&pageNumber={page_count}",
        "selfUri": f"{path}?pageSize={size}&pageNumber={number}",
    }
    if number < page_count:
        listing["nextUri"] = f"{path}?pageSize={size}&pageNumber={number + 1}"
    if number > 1:
        listing["previousUri"] = f"{path}?pageSize={size}&pageNumber={number - 1}"
    return listing


# -- open messaging integrations ------------------------------------------------------------------

OPEN_INTEGRATIONS_PATH = "/api/v2/conversations/messaging/integrations/open"


def open_integration_json(sim: GenesysSimulator, integration: dict[str, Any]) -> dict[str, Any]:
    created = iso_millis(integration["created_at"])
    return {
        "id": integration["id"],
        "name": integration["name"],
        "supportedContent": {
            "id": "default",
            "name": "Default",
            "selfUri": "/api/v2/conversations/messaging/supportedcontent/default",
        },
        "outboundNotificationWebhookUrl": integration["outbound_webhook_url"],
        "outboundNotificationWebhookSignatureSecretToken": integration["outbound_webhook_secret"],
        "webhookHeaders": integration["webhook_headers"],
        "status": "active",
        "recipient": {
            "id": integration["id"],
            "name": integration["name"],
            "selfUri": f"/api/v2/routing/message/recipients/{integration['id']}",
        },
        "dateCreated": created,
        "dateModified": created,
        "createStatus": "Completed",
        "selfUri": f"{OPEN_INTEGRATIONS_PATH}/{integration['id']}",
    }


async def list_open_integrations(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    denied = sim.require(token, "messaging:integration:view")
    if denied:
        return denied
    entities = [
        open_integration_json(sim, item)
        for item in sim.state.open_integrations.values()
        if item["org_id"] == token.org_id
    ]
    return json_response(page_of(request, entities, OPEN_INTEGRATIONS_PATH))


async def get_open_integration(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    denied = sim.require(token, "messaging:integration:view")
    if denied:
        return denied
    integration_id = request.path_params["integrationId"]
    integration = sim.state.open_integrations.get(integration_id)
    if integration is None or integration["org_id"] != token.org_id:
        return errors.not_found(integration_id)
    return json_response(open_integration_json(sim, integration))


# -- inbound messages -----------------------------------------------------------------------------


def validate_inbound(sim: GenesysSimulator, body: Any, *, legacy: bool) -> Response | None:
    if not isinstance(body, dict):
        return errors.bad_request()
    if sim.strict:
        model = "OpenNormalizedMessage" if legacy else "OpenInboundNormalizedMessage"
        extra = LEGACY_EXTRA_FIELDS if legacy else INBOUND_EXTRA_FIELDS
        unknown = models.unknown_fields(model, body, extra)
        if unknown:
            return errors.bad_request(
                f"Unrecognized field '{unknown[0]}': it is not part of {model}", field=unknown[0]
            )
    channel = body.get("channel")
    if not isinstance(channel, dict):
        return errors.bad_request("channel is required", field="channel")
    sender = channel.get("from")
    if not isinstance(sender, dict):
        return errors.bad_request("channel.from is required", field="channel.from")
    if not isinstance(sender.get("id"), str) or not sender["id"]:
        return errors.bad_request("channel.from.id is required", field="channel.from.id")
    id_type = sender.get("idType")
    allowed_types = models.enum("OpenMessagingFromRecipient", "idType")
    if sim.options["id_type_case_insensitive"] and isinstance(id_type, str):
        id_type = next((t for t in allowed_types if t.lower() == id_type.lower()), id_type)
    if id_type not in allowed_types:
        return errors.bad_request(
            f"Value [{id_type}] is not valid for field type [idType]. Allowable values are: "
            + ", ".join(allowed_types),
            field="channel.from.idType",
            code="invalid.value",
        )
    if not _is_iso_datetime(channel.get("time")):
        return errors.bad_request(
            "Dates must be specified as ISO-8601 strings. For example: yyyy-MM-ddTHH:mm:ss.SSSZ",
            field="channel.time",
            code="invalid.date",
        )
    if "messageId" in channel and not isinstance(channel["messageId"], str):
        return errors.bad_request("channel.messageId must be a string", field="channel.messageId")
    problem = _check_text_and_content(sim, body) or _check_metadata(sim, channel, body)
    if problem:
        return problem
    if legacy:
        return _check_legacy(body, channel)
    return None


def _is_iso_datetime(value: Any) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_text_and_content(sim: GenesysSimulator, body: dict[str, Any]) -> Response | None:
    text, content = body.get("text"), body.get("content")
    has_text = isinstance(text, str) and text != ""
    has_content = isinstance(content, list) and len(content) > 0
    if not has_text and not has_content:
        return errors.bad_request(errors.ANY_OF_MESSAGE, field="text")
    if text is not None and not isinstance(text, str):
        return errors.bad_request("text must be a string", field="text")
    if has_text and len(text) > int(sim.options["max_text_length"]):
        return errors.bad_request(
            f"text is longer than {sim.options['max_text_length']} characters", field="text"
        )
    media_types = models.enum("OpenContentAttachment", "mediaType")
    for item in content or []:
        attachment = item.get("attachment") if isinstance(item, dict) else None
        if not isinstance(attachment, dict) or attachment.get("mediaType") not in media_types:
            return errors.bad_request(
                "content[].attachment.mediaType must be one of " + ", ".join(media_types),
                field="content.attachment.mediaType",
            )
    return None


def _check_metadata(sim: GenesysSimulator, channel: dict[str, Any], body: dict[str, Any]) -> Response | None:
    metadata = body.get("metadata")
    if metadata is not None and not _is_string_map(metadata):
        return errors.bad_request(field="metadata")
    channel_metadata = channel.get("metadata")
    if channel_metadata is None:
        return None
    if not isinstance(channel_metadata, dict):
        return errors.bad_request(field="channel.metadata")
    sub_type = channel_metadata.get("subType")
    if sub_type is not None and sub_type not in models.enum("ConversationChannelMetadata", "subType"):
        return errors.bad_request(field="channel.metadata.subType", code="invalid.value")
    attributes = channel_metadata.get("customAttributes")
    if attributes is None:
        return None
    if not _is_string_map(attributes):
        return errors.bad_request(
            "customAttributes values must be strings", field="channel.metadata.customAttributes"
        )
    options = sim.options
    if len(attributes) > int(options["max_custom_attributes"]) or any(
        len(k) > int(options["max_attribute_key_length"])
        or len(v) > int(options["max_attribute_value_length"])
        for k, v in attributes.items()
    ):
        return errors.bad_request(
            "customAttributes exceed the allowed count or size", field="channel.metadata.customAttributes"
        )
    return None


def _check_legacy(body: dict[str, Any], channel: dict[str, Any]) -> Response | None:
    if channel.get("platform") != "Open":
        return errors.bad_request("channel.platform must be Open", field="channel.platform")
    if channel.get("type") != "Private":
        return errors.bad_request("channel.type must be Private", field="channel.type")
    to = channel.get("to")
    if not isinstance(to, dict) or not isinstance(to.get("id"), str):
        return errors.bad_request("channel.to.id is required", field="channel.to.id")
    if body.get("type") != "Text":
        return errors.bad_request(
            "type must be Text for inbound messages", field="type", code="invalid.value"
        )
    return None


def _is_string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


async def inbound_message(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    return await _inbound(sim, request, token, request.path_params["integrationId"], legacy=False)


async def legacy_inbound_message(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    return await _inbound(sim, request, token, None, legacy=True)


async def _inbound(
    sim: GenesysSimulator, request: Request, token: Token, integration_id: str | None, *, legacy: bool
) -> Response:
    denied = sim.require(token, "conversation:message:receive")
    if denied:
        return denied
    try:
        body = request.json()
    except ValueError:
        return errors.bad_request()
    invalid = validate_inbound(sim, body, legacy=legacy)
    if invalid:
        return invalid
    channel = body["channel"]
    if legacy:
        integration_id = channel["to"]["id"]
    integration = sim.state.open_integrations.get(integration_id or "")
    if integration is None:
        return errors.not_found(integration_id)
    if integration["org_id"] != token.org_id:
        if int(sim.options["foreign_integration_status"]) == 403:
            return errors.missing_permissions("conversation:message:receive")
        return errors.not_found(integration_id)

    message_id = channel.get("messageId")
    dedupe = sim.options["dedupe"]
    if message_id and dedupe != "off":
        original = sim.state.sent_messages.get((integration["id"], message_id))
        if original is not None:
            if dedupe == "409":
                return errors.error_body(
                    409, "general.conflict", f"Message id {message_id} was already received"
                )
            return _inbound_answer(sim, request, original, legacy)

    conversation = thread_message(sim, integration, body)
    answer = {
        "id": uuid.uuid4().hex,
        "conversationId": conversation.id,
        "channel": channel,
        "text": body.get("text"),
        "content": body.get("content"),
        "metadata": body.get("metadata"),
        "integrationId": integration["id"],
    }
    conversation.messages.append(
        {
            "id": answer["id"],
            "direction": "inbound",
            "messageId": message_id,
            "text": body.get("text"),
            "content": body.get("content"),
            "time": channel["time"],
            "received_at": iso_millis(sim.clock.now()),
        }
    )
    if message_id:
        sim.state.sent_messages.setdefault((integration["id"], message_id), answer)
    return _inbound_answer(sim, request, answer, legacy)


def _inbound_answer(
    sim: GenesysSimulator, request: Request, answer: dict[str, Any], legacy: bool
) -> Response:
    """OpenMessageNormalizedMessage (current endpoint) or OpenNormalizedMessage (legacy)."""
    channel = answer["channel"]
    echoed_channel = {
        "id": answer["integrationId"],
        "platform": "Open",
        "type": "Private",
        "to": {"id": answer["integrationId"]},
        "from": channel["from"],
        "time": channel["time"],
    }
    if channel.get("messageId"):
        echoed_channel["messageId"] = channel["messageId"]
    sub_type = (channel.get("metadata") or {}).get("subType")
    if sub_type:
        echoed_channel["metadata"] = {"subType": sub_type}
    body: dict[str, Any] = {"id": answer["id"], "channel": echoed_channel, "type": "Text"}
    if answer["text"] is not None:
        body["text"] = answer["text"]
    if answer["content"]:
        body["content"] = [
            {"contentType": "Attachment", "attachment": item["attachment"]} for item in answer["content"]
        ]
    if answer["metadata"]:
        body["metadata"] = answer["metadata"]
    if legacy:
        body["direction"] = "Inbound"
    elif request.query_bool("prefetchConversationId"):
        body["conversationId"] = answer["conversationId"]
    return json_response(body, int(sim.options["inbound_success_status"]))


# -- threading and routing ------------------------------------------------------------------------


def thread_message(sim: GenesysSimulator, integration: dict[str, Any], body: dict[str, Any]) -> Conversation:
    """Join the sender's open conversation, re-open one inside the threading window, or start one."""
    channel = body["channel"]
    sender = channel["from"]
    attributes = dict((channel.get("metadata") or {}).get("customAttributes") or {})
    now = sim.clock.now()
    mine = [
        c
        for c in sim.state.conversations.values()
        if c.integration_id == integration["id"] and c.from_id == sender["id"]
    ]
    mine.sort(key=lambda c: c.start_time)
    open_ones = [c for c in mine if c.state != "disconnected"]
    if open_ones:
        conversation = open_ones[-1]
        conversation.customer()["attributes"].update(attributes)
        return conversation
    window = float(sim.options["threading_window_seconds"])
    recent = [c for c in mine if c.disconnected_at is not None and now - c.disconnected_at < window]
    if recent:
        conversation = recent[-1]
        customer = conversation.customer()
        customer["attributes"].update(attributes)
        customer.update(state="connected", endTime=None)
        conversation.state = "alerting"
        conversation.disconnected_at = None
        route(sim, conversation, integration, customer["attributes"])
        return conversation
    conversation = Conversation(
        id=str(uuid.uuid4()),
        org_id=integration["org_id"],
        integration_id=integration["id"],
        from_id=sender["id"],
        start_time=now,
    )
    name = " ".join(filter(None, [sender.get("firstName"), sender.get("lastName")])) or sender.get("nickname")
    conversation.participants.append(
        {
            "id": str(uuid.uuid4()),
            "purpose": "customer",
            "participantType": "External",
            "name": name or sender["id"],
            "address": sender["id"],
            "attributes": attributes,
            "state": "connected",
            "startTime": now,
            "connectedTime": now,
            "endTime": None,
        }
    )
    sim.state.conversations[conversation.id] = conversation
    route(sim, conversation, integration, attributes)
    return conversation


def route(
    sim: GenesysSimulator, conversation: Conversation, integration: dict[str, Any], attributes: dict
) -> None:
    """The stand-in for an inbound message flow: `agentUserId` -> that agent, else a queue
    (`queueId` attribute or the integration's default queue) offering it to its least busy member."""
    now = sim.clock.now()
    org_id = integration["org_id"]
    queue = sim.state.queues.get(attributes.get("queueId", ""))
    if queue is None or queue["org_id"] != org_id:
        queue = sim.state.queues.get(integration.get("default_queue_id") or "")
    preferred = sim.state.users.get(attributes.get("agentUserId", ""))
    if preferred is not None and (preferred["org_id"] != org_id or preferred["state"] != "active"):
        preferred = None
    if queue is not None:
        conversation.participants.append(
            {
                "id": str(uuid.uuid4()),
                "purpose": "acd",
                "participantType": "Internal",
                "name": queue["name"],
                "queueId": queue["id"],
                "queueName": queue["name"],
                "state": "connected",
                "startTime": now,
                "connectedTime": now,
                "endTime": None,
            }
        )
    agent = preferred or _least_busy_member(sim, queue)
    if agent is None:
        return
    conversation.participants.append(
        {
            "id": str(uuid.uuid4()),
            "purpose": "agent",
            "participantType": "Internal",
            "name": agent["name"],
            "userId": agent["id"],
            "queueId": queue["id"] if queue else None,
            "queueName": queue["name"] if queue else None,
            "state": "alerting",
            "startTime": now,
            "connectedTime": None,
            "endTime": None,
        }
    )


def _least_busy_member(sim: GenesysSimulator, queue: dict[str, Any] | None) -> dict[str, Any] | None:
    if queue is None:
        return None
    members = sim.state.queue_members(queue["id"])
    if not members:
        return None

    def load(user: dict[str, Any]) -> int:
        return sum(
            1
            for c in sim.state.conversations.values()
            if c.state != "disconnected" and (c.agent() or {}).get("userId") == user["id"]
        )

    return min(members, key=load)


# -- conversations --------------------------------------------------------------------------------


def _time(value: float | None) -> str | None:
    return iso_millis(value) if value is not None else None


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def conversation_json(conversation: Conversation) -> dict[str, Any]:
    """The Conversation model: participant states live in their `messages` media entries."""
    participants = []
    for p in conversation.participants:
        participants.append(
            _without_none(
                {
                    "id": p["id"],
                    "name": p.get("name"),
                    "purpose": p["purpose"],
                    "participantType": p.get("participantType"),
                    "userId": p.get("userId"),
                    "queueId": p.get("queueId"),
                    "queueName": p.get("queueName"),
                    "address": p.get("address"),
                    "attributes": p.get("attributes", {}),
                    "startTime": _time(p.get("startTime")),
                    "connectedTime": _time(p.get("connectedTime")),
                    "endTime": _time(p.get("endTime")),
                    "messages": [{"id": p["id"], "state": p["state"], "type": "open"}],
                }
            )
        )
    return _without_none(
        {
            "id": conversation.id,
            "startTime": _time(conversation.start_time),
            "endTime": _time(conversation.disconnected_at),
            "participants": participants,
            "selfUri": f"/api/v2/conversations/{conversation.id}",
        }
    )


def message_conversation_json(conversation: Conversation) -> dict[str, Any]:
    """The MessageConversation model (message media participants)."""
    participants = []
    for p in conversation.participants:
        user = {"id": p["userId"], "name": p["name"]} if p.get("userId") else None
        queue = {"id": p["queueId"], "name": p.get("queueName")} if p.get("queueId") else None
        participants.append(
            _without_none(
                {
                    "id": p["id"],
                    "name": p.get("name"),
                    "purpose": p["purpose"],
                    "state": p["state"],
                    "type": "open",
                    "direction": "inbound",
                    "user": user,
                    "queue": queue,
                    "attributes": p.get("attributes", {}),
                    "startTime": _time(p.get("startTime")),
                    "connectedTime": _time(p.get("connectedTime")),
                    "endTime": _time(p.get("endTime")),
                }
            )
        )
    return {
        "id": conversation.id,
        "participants": participants,
        "selfUri": f"/api/v2/conversations/messages/{conversation.id}",
    }


def _visible_conversation(sim: GenesysSimulator, request: Request, token: Token) -> Conversation | Response:
    conversation_id = request.path_params["conversationId"]
    conversation = sim.state.conversations.get(conversation_id)
    if conversation is None or conversation.org_id != token.org_id:
        return errors.not_found(conversation_id)
    if token.user_id is None:
        denied = sim.require(token, "conversation:communication:view")
        if denied:
            return denied
    return conversation


async def get_conversation(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    found = _visible_conversation(sim, request, token)
    return found if isinstance(found, Response) else json_response(conversation_json(found))


async def get_message_conversation(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    found = _visible_conversation(sim, request, token)
    return found if isinstance(found, Response) else json_response(message_conversation_json(found))
