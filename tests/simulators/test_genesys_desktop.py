"""The simulated agent desktop in real Chromium: apps, conversations, widgets, SDK messages."""

import html
import re
from urllib.parse import parse_qs

import httpx
import pytest
from playwright.sync_api import expect

from simulators.genesys import fixture as gf
from simulators.genesys.app import create_app
from simulators.serve import ServerThread

INBOUND = f"/api/v2/conversations/messages/{gf.OPEN_INTEGRATION_ID}/inbound/open/message"


async def framed_app(scope, receive, send):
    """A stand-in client app: shows its query and talks to the host like the Client App SDK."""
    if scope["type"] != "http":
        return
    query = scope["query_string"].decode()
    conversation = parse_qs(query).get("conversationId", [""])[0]
    page = f"""<!doctype html><html lang="en"><body>
<p id="query">{html.escape(query)}</p><p id="conversation">{html.escape(conversation)}</p>
<button id="join">Join meeting</button><button id="notify">Notify</button>
<script>
const send = (payload) =>
  window.parent.postMessage({{protocol: "purecloud-client-apps", ...payload}}, "*");
document.getElementById("join").onclick = () =>
  send({{action: "openWindow", url: location.origin + "/room"}});
document.getElementById("notify").onclick = () =>
  send({{action: "showToastPopup", title: "Meeting", message: "Starts soon"}});
</script></body></html>"""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": page.encode()})


def _install(http: httpx.Client, headers: dict, type_id: str, name: str, properties: dict) -> None:
    created = http.post(
        "/api/v2/integrations", json={"name": name, "integrationType": {"id": type_id}}, headers=headers
    )
    integration_id = created.json()["id"]
    config = {
        "name": name,
        "version": 1,
        "properties": properties,
        "advanced": {},
        "notes": "",
        "credentials": {},
    }
    assert (
        http.put(
            f"/api/v2/integrations/{integration_id}/config/current", json=config, headers=headers
        ).status_code
        == 200
    )
    assert (
        http.patch(
            f"/api/v2/integrations/{integration_id}", json={"intendedState": "ENABLED"}, headers=headers
        ).status_code
        == 200
    )


def _dispatch(http: httpx.Client, headers: dict, booking: str) -> str:
    body = {
        "channel": {
            "messageId": f"{booking}-T-5",
            "time": "2026-05-04T13:55:00.000Z",
            "from": {"id": booking, "idType": "Opaque", "firstName": "Jane", "lastName": "Doe"},
            "metadata": {"customAttributes": {"agentUserId": gf.ANA_ID}},
        },
        "text": "Video meeting with Jane Doe starts in 5 minutes.",
    }
    reply = http.post(INBOUND, params={"prefetchConversationId": "true"}, json=body, headers=headers)
    assert reply.status_code == 200, reply.text
    return reply.json()["conversationId"]


@pytest.mark.e2e
def test_agent_accepts_and_the_widget_loads_with_the_conversation(page):
    with (
        ServerThread(create_app()) as sim,
        ServerThread(framed_app) as app,
        httpx.Client(base_url=sim.url) as http,
    ):
        token = http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(gf.CLIENT_ID, gf.CLIENT_SECRET)
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        app_origin = f"http://localhost:{app.port}"
        _install(
            http,
            headers,
            "embedded-client-app",
            "My schedules",
            {
                "url": f"{app_origin}/schedules?gcHostOrigin={{{{gcHostOrigin}}}}"
                "&gcTargetEnv={{gcTargetEnv}}&lang={{gcLangTag}}",
                "displayType": "standalone",
                "sandbox": "allow-scripts,allow-same-origin",
                "permissions": "",
                "groups": [gf.GROUP_ID],
            },
        )
        _install(
            http,
            headers,
            "embedded-client-app-interaction-widget",
            "Meeting widget",
            {
                "url": f"{app_origin}/meeting?conversationId={{{{gcConversationId}}}}",
                "sandbox": "allow-scripts,allow-same-origin,allow-popups",
                "permissions": "camera,microphone",
                "groups": [],
                "queueIdFilterList": [gf.QUEUE_ID],
                "communicationTypeFilter": "open",
            },
        )

        page.goto(f"{sim.url}/__sim/desktop?userId={gf.ANA_ID}")
        schedules = page.frame_locator('iframe[title="My schedules"]')
        expect(schedules.locator("#query")).to_have_text(
            f"gcHostOrigin={sim.url}&gcTargetEnv=prod&lang=en-us"
        )
        expect(page.get_by_role("button", name="Accept")).to_have_count(0)

        # A dispatch arriving while the desktop is open shows up by itself.
        conversation_id = _dispatch(http, headers, "booking-7f3c")
        page.get_by_role("button", name="Accept").click()

        widget = page.frame_locator('iframe[title="Meeting widget"]')
        expect(widget.locator("#conversation")).to_have_text(conversation_id)
        assert page.locator('iframe[title="Meeting widget"]').get_attribute("allow") == "camera; microphone"
        assert (
            http.get(f"/api/v2/conversations/messages/{conversation_id}", headers=headers).status_code == 200
        )
        state = http.get("/__sim/state").json()["conversations"][0]
        assert [p["state"] for p in state["participants"] if p["purpose"] == "agent"] == ["connected"]

        with page.expect_popup() as popup:
            widget.get_by_role("button", name="Join meeting").click()
        expect(popup.value).to_have_url(f"{app_origin}/room")
        expect(page.locator("#sim-log")).to_contain_text(f"openWindow {app_origin}/room")

        widget.get_by_role("button", name="Notify").click()
        expect(page.get_by_role("status")).to_have_text("Meeting: Starts soon")

        page.get_by_role("button", name="Disconnect").click()
        expect(page.locator('iframe[title="Meeting widget"]')).to_have_count(0)
        assert re.fullmatch(r"[0-9a-f-]{36}", conversation_id)
