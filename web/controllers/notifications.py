"""Notifications: the list page, the bell's badge, mark read, and the live stream (SSE) that
tells open pages about new notifications and other per-user events (such as dispatch changes)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from litestar import Request, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage, Template

from web import clock, live
from web.auth import requires_login
from web.permissions import current_user
from web.scheduling import notifications

log = logging.getLogger("punctual.notifications")

# Keep-alive comments stop proxies from closing an idle stream; a bounded lifetime lets the
# server shut down promptly (the browser reconnects on its own after `retry` ms).
PING_SECONDS = 15.0
STREAM_LIFETIME_SECONDS = 300.0
RECONNECT_MS = 1000


async def chrome_context(request: Request) -> dict:
    """What the chrome needs on every console page: the bell's unread count."""
    user = current_user(request)
    return {"unread_count": await notifications.unread_count(user.id)}


@get("/notifications", name="notifications", guards=[requires_login])
async def notifications_page(
    request: Request, page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1
) -> Template:
    user = current_user(request)
    offset = (page - 1) * notifications.PAGE_SIZE
    items = await notifications.page_of(user.id, offset=offset)
    count = await notifications.total(user.id)
    context = {
        "items": items,
        "page": page,
        "has_next": offset + len(items) < count,
        "tz": await notifications.viewer_timezone(user.id),
        "toasts": False,  # new items arrive in the list itself
        **await chrome_context(request),
    }
    return Template("notifications/list.html", context=context)


@get("/notifications/badge", guards=[requires_login])
async def notifications_badge(request: Request) -> Template:
    user = current_user(request)
    count = await notifications.unread_count(user.id)
    return Template("partials/notification_badge.html", context={"unread_count": count})


@post("/notifications/{notification_id:int}/read", guards=[requires_login], status_code=200)
async def mark_notification_read(request: Request, notification_id: FromPath[int]) -> Template | Redirect:
    user = current_user(request)
    if not await notifications.mark_read(user.id, notification_id, now=clock.now()):
        from litestar.exceptions import NotFoundException

        raise NotFoundException("That notification does not exist.")
    if not request.htmx:
        return Redirect("/notifications", status_code=303)
    item = await notifications.one_of(user.id, notification_id)
    return Template(
        "partials/notification_item.html",
        context={"n": item, "tz": await notifications.viewer_timezone(user.id)},
        headers={"HX-Trigger": "notifications-changed"},
    )


@post("/notifications/read-all", guards=[requires_login], status_code=200)
async def mark_all_notifications_read(request: Request) -> Template | Redirect:
    user = current_user(request)
    await notifications.mark_all_read(user.id, now=clock.now())
    if not request.htmx:
        return Redirect("/notifications", status_code=303)
    items = await notifications.page_of(user.id)
    return Template(
        "notifications/_items.html",
        context={"items": items, "tz": await notifications.viewer_timezone(user.id)},
        headers={"HX-Trigger": "notifications-changed"},
    )


def _as_message(raw: bytes | str) -> ServerSentEventMessage | None:
    """A published `{"event", "data"}` as an SSE message; data that is not text is sent as its
    `html` member when it has one (what htmx swaps), else as JSON."""
    try:
        message = json.loads(raw)
        event, data = message["event"], message.get("data", "")
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring a malformed live message")
        return None
    if isinstance(data, dict) and isinstance(data.get("html"), str):
        data = data["html"]
    elif not isinstance(data, str):
        data = json.dumps(data)
    return ServerSentEventMessage(event=str(event), data=data)


async def _user_events(request: Request, user_id: int) -> AsyncIterator[ServerSentEventMessage]:
    channels = request.app.state.channels
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STREAM_LIFETIME_SECONDS
    async with channels.start_subscription([live.user_channel(user_id)]) as subscriber:
        yield ServerSentEventMessage(comment="connected", retry=RECONNECT_MS)
        events = subscriber.iter_events()
        pending: asyncio.Task | None = None
        try:
            while loop.time() < deadline:
                if pending is None:
                    pending = asyncio.ensure_future(anext(events))
                done, _ = await asyncio.wait({pending}, timeout=min(PING_SECONDS, deadline - loop.time()))
                if not done:
                    yield ServerSentEventMessage(comment="ping")
                    continue
                try:
                    raw = pending.result()
                except StopAsyncIteration:
                    return  # the channels plugin stopped (server shutting down)
                finally:
                    pending = None
                message = _as_message(raw)
                if message is not None:
                    yield message
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            with contextlib.suppress(Exception):
                await events.aclose()


@get("/notifications/stream", guards=[requires_login])
async def notifications_stream(request: Request) -> ServerSentEvent:
    user = current_user(request)
    return ServerSentEvent(_user_events(request, user.id), headers={"Cache-Control": "no-store"})


ROUTES = [
    notifications_page,
    notifications_badge,
    mark_notification_read,
    mark_all_notifications_read,
    notifications_stream,
]
