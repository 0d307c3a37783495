"""Spreading a tenant's pre-meeting sends so Genesys never sees more than its budget per minute.

Trade-off: we could throttle at send time (a Redis token bucket), but then a crowded minute makes
sends late, and lateness is what the agent notices. Instead each send gets a time *slot* when it
is planned: slots are a little over `60 / budget` seconds apart, one send per slot per tenant, so
any 60-second window holds at most `budget` sends, even with some jitter in when each one lands.
A dispatch takes the latest free slot at or before its due time, so a crowded minute starts
earlier rather than finishing late. The cost is that a planning
transaction reads the tenant's taken slots near the due time (one indexed range query) and, on
PostgreSQL, serializes per tenant. Retries after an error are not slotted: they are rare, and a
429 is honoured through `Retry-After` anyway.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

DEFAULT_BUDGET_PER_MINUTE = 240
# Slots are spread over a minute plus this much, so sends that reach Genesys up to this much later
# than their slot (while earlier ones were on time) still never put budget + 1 in a 60 s window.
JITTER_ALLOWANCE_SECONDS = 1.0
# How far around the due time we look for taken slots: a full hour of sends at the default budget.
SEARCH_WINDOW = timedelta(hours=1)


def slot_seconds(budget_per_minute: int) -> float:
    return (60.0 + JITTER_ALLOWANCE_SECONDS) / max(1, budget_per_minute)


def slot_of(moment: datetime, budget_per_minute: int) -> int:
    """The slot a stored send time occupies (nearest, so rounding in storage cannot shift it)."""
    return round(moment.timestamp() / slot_seconds(budget_per_minute))


def slot_time(slot: int, budget_per_minute: int) -> datetime:
    return datetime.fromtimestamp(slot * slot_seconds(budget_per_minute), UTC)


def pick_send_time(
    due_at: datetime, now: datetime, taken: Iterable[datetime], budget_per_minute: int
) -> datetime:
    """The latest free slot in [now, due_at]; when every one is taken (or the due time has passed)
    the first free slot after that, so nothing is ever dropped."""
    step = slot_seconds(budget_per_minute)
    used = {slot_of(moment, budget_per_minute) for moment in taken}
    first = math.ceil(now.timestamp() / step)
    due = math.floor(due_at.timestamp() / step)
    for slot in range(due, first - 1, -1):
        if slot not in used:
            return slot_time(slot, budget_per_minute)
    slot = max(first, due + 1)
    while slot in used:
        slot += 1
    return slot_time(slot, budget_per_minute)
