"""Live updates for open pages: events published on Redis pub/sub, read by the SSE endpoint
through Litestar's channels plugin (same channel names, so the worker can publish too)."""

from __future__ import annotations

import json
import logging

from redis.asyncio import Redis

log = logging.getLogger("punctual.live")

_redis: Redis | None = None
_instance = "punctual"


def configure(redis: Redis | None, instance: str = "punctual") -> None:
    global _redis, _instance
    _redis, _instance = redis, instance


def user_channel(user_id: int) -> str:
    return f"{_instance}:user:{user_id}"


async def publish_to_user(user_id: int, event: str, data: dict | str) -> None:
    """Tell the user's open pages that `event` happened. Best effort: pages also show it on reload."""
    if _redis is None:
        return
    message = json.dumps({"event": event, "data": data})
    try:
        await _redis.publish(user_channel(user_id), message)
    except Exception:
        log.warning("could not publish %s to user %s", event, user_id, exc_info=True)
