"""The one place where scheduled work attaches to the booking lifecycle.

Every lifecycle change calls `plan(change)` inside its transaction. Each registered planner
(reminders, pre-meeting dispatch) writes or clears its own rows there, in the same transaction,
and may return callbacks to run after the commit (enqueueing saq jobs: triggers only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

AfterCommit = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Actor:
    type: str  # admin | agent | customer | api | system
    id: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system", None)


@dataclass
class Change:
    """What just happened to a booking. `booking` is the row after the change (a Booking object)."""

    # created | rescheduled | reassigned | updated | confirmed | cancelled | started | completed | no_show
    kind: str
    booking: Any
    actor: Actor
    now: datetime
    before: dict[str, Any] = field(default_factory=dict)  # changed fields' previous values
    preset: Any = None  # the app's Preset row, loaded once by the lifecycle


Planner = Callable[[Change], Awaitable[list[AfterCommit] | None]]

_planners: list[Planner] = []


def register_planner(planner: Planner) -> Planner:
    """Decorator: attach a planner. Idempotent (registering twice keeps one)."""
    if planner not in _planners:
        _planners.append(planner)
    return planner


async def plan(change: Change) -> list[AfterCommit]:
    """Run every planner for `change`; call inside the lifecycle transaction."""
    callbacks: list[AfterCommit] = []
    for planner in list(_planners):
        callbacks.extend(await planner(change) or [])
    return callbacks


async def run_after_commit(callbacks: list[AfterCommit]) -> None:
    for callback in callbacks:
        await callback()
