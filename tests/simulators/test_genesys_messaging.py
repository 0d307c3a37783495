"""Open Messaging in the Genesys simulator: validation, threading, routing, conversations."""

import copy

import pytest

from simulators.genesys import fixture as gf
from tests.simulators.sim_helpers import assert_error, assert_model, client_token, user_token

INBOUND = f"/api/v2/conversations/messages/{gf.OPEN_INTEGRATION_ID}/inbound/open/message"
PREFETCH = INBOUND + "?prefetchConversationId=true"


def message(from_id="booking-1", message_id="m-1", **attributes):
    body = {
        "channel": {
            "messageId": message_id,
            "time": "2026-05-04T13:50:00.000Z",
            "from": {
                "id": from_id,
                "idType": "Opaque",
                "nickname": "Jane Doe",
                "firstName": "Jane",
                "lastName": "Doe",
            },
            "metadata": {"customAttributes": {"bookingId": "b-1", **attributes}},
        },
        "text": "Video meeting with Jane Doe starts at 14:00 UTC.",
    }
    return body


async def send(client, api, body, url=PREFETCH):
    return await client.post(url, json=body, headers=api)


async def state(client):
    return (await client.get("/__sim/state")).json()


async def test_inbound_message_answers_the_normalized_message(client, api):
    reply = await send(client, api, message())
    assert reply.status_code == 200
    body = reply.json()
    assert_model("OpenMessageNormalizedMessage", body)
    assert body["type"] == "Text" and body["text"].startswith("Video meeting")
    channel = body["channel"]
    assert (channel["id"], channel["platform"], channel["type"]) == (
        gf.OPEN_INTEGRATION_ID,
        "Open",
        "Private",
    )
    assert channel["to"]["id"] == gf.OPEN_INTEGRATION_ID
    assert channel["messageId"] == "m-1" and channel["from"]["id"] == "booking-1"
    assert body["conversationId"] == (await state(client))["conversations"][0]["id"]


async def test_conversation_id_only_when_prefetched(client, api):
    body = (await send(client, api, message(), url=INBOUND)).json()
    assert "conversationId" not in body


async def test_success_status_is_configurable(client, api):
    await client.post("/__sim/config", json={"inbound_success_status": 202})
    assert (await send(client, api, message())).status_code == 202


@pytest.mark.parametrize(
    ("mutate", "field", "code"),
    [
        (lambda b: b.pop("channel"), "channel", "bad.request"),
        (lambda b: b["channel"].pop("from"), "channel.from", "bad.request"),
        (lambda b: b["channel"]["from"].pop("id"), "channel.from.id", "bad.request"),
        (lambda b: b["channel"]["from"].update(idType="opaque"), "channel.from.idType", "invalid.value"),
        (lambda b: b["channel"]["from"].update(idType="Handle"), "channel.from.idType", "invalid.value"),
        (lambda b: b["channel"].pop("time"), "channel.time", "invalid.date"),
        (lambda b: b["channel"].update(time="yesterday"), "channel.time", "invalid.date"),
        (lambda b: b.update(metadata={"nested": {"no": "objects"}}), "metadata", "bad.request"),
        (
            lambda b: b["channel"]["metadata"]["customAttributes"].update(count=3),
            "channel.metadata.customAttributes",
            "bad.request",
        ),
        (
            lambda b: b.update(content=[{"attachment": {"mediaType": "Hologram", "url": "https://x"}}]),
            "content.attachment.mediaType",
            "bad.request",
        ),
    ],
)
async def test_inbound_validation_errors_name_the_field(client, api, mutate, field, code):
    body = message()
    mutate(body)
    error = assert_error(await send(client, api, body), 400, code)
    assert error["details"][0]["fieldName"] == field
    assert (await state(client))["conversations"] == []


async def test_text_or_content_is_required(client, api):
    body = message()
    body.pop("text")
    error = assert_error(await send(client, api, body), 400, "bad.request")
    assert "should match some schema in anyOf" in error["message"]
    body["content"] = [{"attachment": {"mediaType": "Link", "url": "https://example.com/room"}}]
    assert (await send(client, api, body)).status_code == 200


async def test_malformed_json_is_bad_request(client, api):
    reply = await client.post(
        PREFETCH, content=b"{not json", headers={**api, "Content-Type": "application/json"}
    )
    assert_error(reply, 400, "bad.request")


async def test_lowercase_id_type_accepted_when_configured(client, api):
    await client.post("/__sim/config", json={"id_type_case_insensitive": True})
    body = message()
    body["channel"]["from"]["idType"] = "opaque"
    assert (await send(client, api, body)).status_code == 200


async def test_size_caps_are_configurable(client, api):
    await client.post("/__sim/config", json={"max_text_length": 10, "max_custom_attributes": 1})
    assert_error(await send(client, api, message()), 400, "bad.request")


async def test_strict_mode_rejects_fields_outside_the_model(client, api):
    body = message()
    body["channel"]["from"]["nickName"] = "typo"
    error = assert_error(await send(client, api, body), 400, "bad.request")
    assert error["details"][0]["fieldName"] == "channel.from.nickName"
    assert "channel.from.nickName" in error["message"]
    await client.post("/__sim/config", json={"strict": False})
    assert (await send(client, api, body)).status_code == 200


async def test_strict_mode_allows_custom_attributes_and_legacy_extras(client, api):
    body = message()
    body["channel"].update(platform="Open", type="Private", to={"id": gf.OPEN_INTEGRATION_ID})
    body.update(direction="Inbound", type="Text")
    assert (await send(client, api, body)).status_code == 200


async def test_unknown_and_foreign_integrations_are_not_found(client, api):
    url = "/api/v2/conversations/messages/00000000-0000-4000-8000-000000000000/inbound/open/message"
    assert_error(await send(client, api, message(), url=url), 404, "not.found")
    other = {
        "Authorization": f"Bearer {await client_token(client, gf.OTHER_CLIENT_ID, gf.OTHER_CLIENT_SECRET)}"
    }
    assert_error(await send(client, other, message()), 404, "not.found")
    await client.post("/__sim/config", json={"foreign_integration_status": 403})
    assert_error(await send(client, other, message()), 403, "missing.permissions")


async def test_missing_permission_is_forbidden(client):
    await client.post(
        "/__sim/seed",
        json={
            "oauth_clients": [
                {
                    "client_id": "weak",
                    "client_secret": "weak-secret",
                    "org_id": gf.ORG_ID,
                    "grant": "client_credentials",
                    "permissions": ["integrations:integration:view"],
                }
            ]
        },
    )
    weak = {"Authorization": f"Bearer {await client_token(client, 'weak', 'weak-secret')}"}
    error = assert_error(await send(client, weak, message()), 403, "missing.permissions")
    assert "conversation:message:receive" in error["message"]


async def test_same_sender_threads_into_one_conversation(client, api):
    first = (await send(client, api, message("booking-1", "m-1"))).json()
    second = (await send(client, api, message("booking-1", "m-2"))).json()
    other = (await send(client, api, message("booking-2", "m-3"))).json()
    assert first["conversationId"] == second["conversationId"] != other["conversationId"]
    conversations = {c["id"]: c for c in (await state(client))["conversations"]}
    assert len(conversations[first["conversationId"]]["messages"]) == 2


async def test_threading_window_after_disconnect(client, api):
    first = (await send(client, api, message(message_id="m-1"))).json()["conversationId"]
    await client.post(f"/__sim/conversations/{first}/disconnect")
    reopened = (await send(client, api, message(message_id="m-2"))).json()["conversationId"]
    assert reopened == first
    await client.post(f"/__sim/conversations/{first}/disconnect")
    await client.post("/__sim/clock", json={"advance_seconds": 72 * 3600 + 1})
    api = {"Authorization": f"Bearer {await client_token(client)}"}  # the old token expired meanwhile
    fresh = (await send(client, api, message(message_id="m-3"))).json()["conversationId"]
    assert fresh != first


async def test_threading_window_zero_always_starts_a_new_conversation(client, api):
    await client.post("/__sim/config", json={"threading_window_seconds": 0})
    first = (await send(client, api, message(message_id="m-1"))).json()["conversationId"]
    await client.post(f"/__sim/conversations/{first}/disconnect")
    assert (await send(client, api, message(message_id="m-2"))).json()["conversationId"] != first


def _agent(conversation):
    return [p for p in conversation["participants"] if p["purpose"] == "agent"][-1]


async def test_routing_alerts_the_agent_named_in_custom_attributes(client, api):
    await send(client, api, message(agentUserId=gf.CLEO_ID))
    conversation = (await state(client))["conversations"][0]
    agent = _agent(conversation)
    assert (agent["userId"], agent["state"], agent["queueId"]) == (gf.CLEO_ID, "alerting", gf.QUEUE_ID)
    assert conversation["attributes"] == {"bookingId": "b-1", "agentUserId": gf.CLEO_ID}


async def test_routing_without_agent_goes_to_the_default_queue_least_busy_member(client, api):
    await send(client, api, message("booking-1", "m-1", agentUserId=gf.ANA_ID))
    await send(client, api, message("booking-2", "m-2"))
    await send(client, api, message("booking-3", "m-3", agentUserId="not-a-user"))
    agents = [_agent(c)["userId"] for c in (await state(client))["conversations"]]
    assert agents == [gf.ANA_ID, gf.BEN_ID, gf.CLEO_ID]


async def test_duplicate_message_ids(client, api):
    first = (await send(client, api, message(message_id="dup"))).json()
    assert (await send(client, api, message(message_id="dup"))).json()["id"] != first["id"]
    await client.post("/__sim/config", json={"dedupe": "return-original"})
    again = (await send(client, api, message(message_id="dup"))).json()
    assert (again["id"], again["conversationId"]) == (first["id"], first["conversationId"])
    await client.post("/__sim/config", json={"dedupe": "409"})
    assert_error(await send(client, api, message(message_id="dup")), 409, "general.conflict")
    assert len((await state(client))["conversations"][0]["messages"]) == 2


async def test_legacy_inbound_endpoint(client, api):
    body = copy.deepcopy(message())
    body["channel"].update(platform="Open", type="Private", to={"id": gf.OPEN_INTEGRATION_ID})
    body["type"] = "Text"
    url = "/api/v2/conversations/messages/inbound/open"
    reply = await send(client, api, body, url=url)
    assert reply.status_code == 200
    assert_model("OpenNormalizedMessage", reply.json())
    assert reply.json()["direction"] == "Inbound"
    body.pop("type")
    assert_error(await send(client, api, body, url=url), 400, "invalid.value")


async def test_open_integrations_list_and_get(client, api):
    listing = (await client.get("/api/v2/conversations/messaging/integrations/open", headers=api)).json()
    assert_model("OpenIntegrationEntityListing", listing)
    assert [e["id"] for e in listing["entities"]] == [gf.OPEN_INTEGRATION_ID]
    assert (listing["total"], listing["pageNumber"], listing["pageSize"]) == (1, 1, 25)
    one = (
        await client.get(
            f"/api/v2/conversations/messaging/integrations/open/{gf.OPEN_INTEGRATION_ID}", headers=api
        )
    ).json()
    assert_model("OpenIntegration", one)
    assert one["outboundNotificationWebhookSignatureSecretToken"] == gf.WEBHOOK_SECRET
    missing = await client.get("/api/v2/conversations/messaging/integrations/open/nope", headers=api)
    assert_error(missing, 404, "not.found")


async def test_get_conversation_for_an_agent_token(client, api):
    conversation_id = (await send(client, api, message(agentUserId=gf.ANA_ID))).json()["conversationId"]
    ana = {"Authorization": f"Bearer {await user_token(client, 'ana@example.com')}"}
    conversation = (await client.get(f"/api/v2/conversations/{conversation_id}", headers=ana)).json()
    assert_model("Conversation", conversation)
    by_purpose = {p["purpose"]: p for p in conversation["participants"]}
    assert by_purpose["agent"]["userId"] == gf.ANA_ID
    assert by_purpose["customer"]["attributes"]["agentUserId"] == gf.ANA_ID
    media = (await client.get(f"/api/v2/conversations/messages/{conversation_id}", headers=ana)).json()
    assert_model("MessageConversation", media)
    assert {p["purpose"]: p["state"] for p in media["participants"]}["agent"] == "alerting"
    olga = {"Authorization": f"Bearer {await user_token(client, 'olga@other.example.com')}"}
    assert_error(await client.get(f"/api/v2/conversations/{conversation_id}", headers=olga), 404, "not.found")


async def test_accept_and_disconnect_change_participant_states(client, api):
    conversation_id = (await send(client, api, message(agentUserId=gf.BEN_ID))).json()["conversationId"]
    refused = await client.post(f"/__sim/conversations/{conversation_id}/accept", json={"userId": gf.ANA_ID})
    assert refused.status_code == 409
    accepted = (
        await client.post(f"/__sim/conversations/{conversation_id}/accept", json={"userId": gf.BEN_ID})
    ).json()
    assert accepted["state"] == "connected" and _agent(accepted)["state"] == "connected"
    ended = (await client.post(f"/__sim/conversations/{conversation_id}/disconnect")).json()
    assert {p["state"] for p in ended["participants"]} == {"disconnected"}
