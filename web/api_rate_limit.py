"""Per-client request quota of the public API: a fixed one-minute window counted in Redis.

The window follows our clock (`web.clock`), so tests move time instead of sleeping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WINDOW_SECONDS = 60
WINDOW_NAME = "minute"


@dataclass(frozen=True)
class Quota:
    limit: int
    used: int
    reset_at: int  # epoch seconds when the window ends

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def retry_after(self, now: datetime) -> int:
        return max(self.reset_at - int(now.timestamp()), 1)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
            "X-RateLimit-Window": WINDOW_NAME,
        }


async def count_request(redis, instance: str, client_pk: int, limit: int, now: datetime) -> Quota:
    """Count one request of this client in the current window and return the quota after it."""
    window = int(now.timestamp()) // WINDOW_SECONDS
    key = f"{instance}:api-rate:{client_pk}:{window}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS * 2)
        used, _ = await pipe.execute()
    return Quota(limit=limit, used=int(used), reset_at=(window + 1) * WINDOW_SECONDS)
