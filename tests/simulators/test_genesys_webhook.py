"""Agent replies reach the open messaging webhook, signed like Genesys signs them."""

import base64
import hashlib
import hmac
import json

import httpx

from simulators.genesys import fixture as gf
from simulators.genesys.app import create_app
from simulators.serve import ServerThread


class Receiver:
    """A webhook endpoint that fails its first `failures` deliveries with 503."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[dict, bytes]] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.received.append(({k.decode(): v.decode() for k, v in scope["headers"]}, body))
        status = 503 if len(self.received) <= self.failures else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def test_reply_is_posted_signed_and_retried(api):
    receiver = Receiver(failures=1)
    with ServerThread(receiver) as hook:
        fixture_override = {
            "open_integrations": [
                {
                    "id": gf.OPEN_INTEGRATION_ID,
                    "org_id": gf.ORG_ID,
                    "name": "Punctual",
                    "default_queue_id": gf.QUEUE_ID,
                    "outbound_webhook_url": f"{hook.url}/genesys/webhook",
                    "outbound_webhook_secret": gf.WEBHOOK_SECRET,
                }
            ]
        }
        sim = create_app(webhook_retry_delay_seconds=0)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url="http://sim") as client:
            await client.post("/__sim/seed", json=fixture_override)
            token = (
                await client.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(gf.CLIENT_ID, gf.CLIENT_SECRET),
                )
            ).json()["access_token"]
            body = {
                "channel": {"time": "2026-05-04T13:55:00Z", "from": {"id": "booking-9", "idType": "Opaque"}},
                "text": "hi",
            }
            sent = await client.post(
                f"/api/v2/conversations/messages/{gf.OPEN_INTEGRATION_ID}/inbound/open/message?prefetchConversationId=true",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
            conversation_id = sent.json()["conversationId"]
            reply = await client.post(
                f"/__sim/conversations/{conversation_id}/reply?wait=true", json={"text": "Running late"}
            )
    assert reply.status_code == 202
    delivery = reply.json()["delivery"]
    assert [a["status"] for a in delivery["attempts"]] == [503, 200] and delivery["delivered"] is True
    headers, raw = receiver.received[-1]
    expected = base64.b64encode(hmac.new(gf.WEBHOOK_SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    assert headers["x-hub-signature-256"] == f"sha256={expected}"
    payload = json.loads(raw)
    assert (payload["direction"], payload["text"], payload["conversationId"]) == (
        "Outbound",
        "Running late",
        conversation_id,
    )
    assert payload["channel"]["to"]["id"] == "booking-9"
