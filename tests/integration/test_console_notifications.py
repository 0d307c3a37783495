"""In-app notifications: list, badge, mark read, and the live stream over a real socket."""

from __future__ import annotations

import json

from tests.conftest import form_post
from tests.fixtures.console import AsgiStream, login_as, text_of
from tests.fixtures.scheduling import tenant  # noqa: F401
from web import live
from web.db.tables import Notification
from web.scheduling import notifications


async def test_list_badge_and_mark_read(client, tenant, clock):
    agent = tenant.agent
    first = await notifications.notify(
        agent.id,
        kind="pre_meeting_failed",
        text="Dispatch failed for Grace",
        link="/bookings/x",
        now=clock.now(),
    )
    clock.advance(seconds=60)
    await notifications.notify(agent.id, kind="info", text="Second notice", now=clock.now())
    await notifications.notify(tenant.other_agent.id, kind="info", text="Ben's notice", now=clock.now())
    await login_as(client, agent, tenant.agent_password)

    page = await client.get("/notifications")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Dispatch failed for Grace" in words and "Second notice" in words
    assert "Ben's notice" not in words
    assert words.index("Second notice") < words.index("Dispatch failed for Grace")  # newest first
    assert '<span class="count-badge">2</span>' in page.text

    badge = await client.get("/notifications/badge")
    assert text_of(badge.text) == "2 unread"

    # without JavaScript: a plain form post and a redirect back to the list
    done = await form_post(client, f"/notifications/{first.id}/read")
    assert done.status_code == 303 and done.headers["location"] == "/notifications"
    assert text_of((await client.get("/notifications/badge")).text) == "1 unread"

    # with htmx: the item comes back marked read
    csrf = {"x-csrftoken": client.cookies["punctual_csrf"], "HX-Request": "true"}
    all_read = await client.post("/notifications/read-all", headers=csrf)
    assert all_read.status_code == 200 and "Unread:" not in all_read.text
    assert (await client.get("/notifications/badge")).text.strip() == ""


async def test_someone_elses_notification_cannot_be_marked(client, tenant, clock):
    theirs = await notifications.notify(tenant.other_agent.id, kind="info", text="Ben only", now=clock.now())
    await login_as(client, tenant.agent, tenant.agent_password)
    response = await form_post(client, f"/notifications/{theirs.id}/read")
    assert response.status_code == 404
    row = await Notification.objects().get(Notification.id == theirs.id)
    assert row.read_at is None


async def test_notifications_need_sign_in(client, tenant):
    response = await client.get("/notifications")
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith("/login?next=")


def _sse_events(text: str) -> list[tuple[str, str]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = block.strip("\n").split("\n")
        event = next((line[7:] for line in lines if line.startswith("event: ")), None)
        data = "\n".join(line[6:] for line in lines if line.startswith("data: "))
        if event:
            events.append((event, data))
    return events


async def test_stream_forwards_published_events_and_ends_on_disconnect(app, client, tenant, clock):
    await login_as(client, tenant.agent, tenant.agent_password)
    async with AsgiStream(app, "/notifications/stream", client.cookies) as stream:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert (await stream.next_text()).startswith(": connected")  # subscribed: safe to publish now
        note = await notifications.notify(tenant.agent.id, kind="info", text="Live hello", now=clock.now())
        await notifications.announce(note)
        await live.publish_to_user(tenant.other_agent.id, "notification", "<li>not for Ana</li>")
        await live.publish_to_user(
            tenant.agent.id, "dispatch", {"booking_id": "b1", "html": '<div id="dispatch-b1">failed</div>'}
        )
        received = ""
        while len(_sse_events(received)) < 2:
            received += await stream.next_text()
    events = _sse_events(received)
    assert events[0][0] == "notification" and "Live hello" in events[0][1]
    assert f'id="notification-{note.id}"' in events[0][1]
    assert events[1] == ("dispatch", '<div id="dispatch-b1">failed</div>')
    assert "not for Ana" not in json.dumps(events)
    assert stream.task.done() and stream.task.exception() is None


async def test_stream_needs_sign_in(app, client):
    async with AsgiStream(app, "/notifications/stream", client.cookies) as stream:
        assert stream.status in (302, 303, 307)
